#include "kernel/proc/task_list.hpp"

#include "lightvm/abi.h"

namespace lightvm::guest {

namespace {

constexpr int kMaxTasks = abi::kMaxPids + 8;  // processes' tasks and the kernel threads
Task* g_tasks[kMaxTasks];
int g_ntasks;

}  // namespace

bool tasks_add(Task* t) {
    for (int i = 0; i < g_ntasks; ++i)
        if (g_tasks[i] == t)
            return true;
    if (g_ntasks >= kMaxTasks)
        return false;
    g_tasks[g_ntasks++] = t;
    return true;
}

void tasks_remove(Task* t) {
    for (int i = 0; i < g_ntasks; ++i) {
        if (g_tasks[i] == t) {
            g_tasks[i] = g_tasks[--g_ntasks];
            return;
        }
    }
}

int tasks_count() { return g_ntasks; }

Task* tasks_at(int i) { return g_tasks[i]; }

void task_for_each(void (*fn)(Task*, void*), void* arg) {
    for (int i = 0; i < g_ntasks; ++i)
        fn(g_tasks[i], arg);
}

}  // namespace lightvm::guest

#include "kernel/proc/rusage.hpp"

#include "kernel/mm/address_space.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/proc/task_list.hpp"

namespace lightvm::guest {

namespace {

constexpr uint64_t kPageKib = kPage / 1024;

void add(TaskUsage& to, const TaskUsage& u) {
    to.minflt += u.minflt;
    to.nvcsw += u.nvcsw;
    to.nivcsw += u.nivcsw;
}

uint64_t larger(uint64_t a, uint64_t b) { return a > b ? a : b; }

struct Sum {
    const Process* p;
    TaskUsage u;
};

void add_task(Task* t, void* arg) {
    auto* s = static_cast<Sum*>(arg);
    if (t->process == s->p && !t->sig.kernel_only && t->state != TaskState::Dead)
        add(s->u, t->usage);
}

// The process's tasks, the ones that left included.
TaskUsage process_sum(const Process* p) {
    Sum s{p, p->usage.exited};
    task_for_each(add_task, &s);
    return s.u;
}

uint64_t peak_kib(const Process* p) {
    return larger(p->usage.maxrss_kib, p->mm ? p->mm->hiwater * kPageKib : 0);
}

void fill(rusage* r, const TaskUsage& u, uint64_t maxrss_kib) {
    r->ru_maxrss = static_cast<long>(maxrss_kib);
    r->ru_minflt = static_cast<long>(u.minflt);
    r->ru_nvcsw = static_cast<long>(u.nvcsw);
    r->ru_nivcsw = static_cast<long>(u.nivcsw);
}

}  // namespace

void rusage_switch(Task* prev, bool still_runnable) {
    if (still_runnable)
        prev->usage.nivcsw++;
    else
        prev->usage.nvcsw++;
}

void rusage_task_exit(Task* t) {
    add(t->process->usage.exited, t->usage);
    t->usage = {};  // counted once, whatever sees the task before it is gone
}

void rusage_note_mm(Process* p, const AddressSpace& mm) {
    p->usage.maxrss_kib = larger(p->usage.maxrss_kib, mm.hiwater * kPageKib);
}

void rusage_exit(Process* p) {
    if (p->mm)
        rusage_note_mm(p, *p->mm);
    TaskUsage all = process_sum(p);
    task_for_each([](Task* t, void* arg) {
        if (t->process == arg)
            t->usage = {};
    }, p);
    p->usage.exited = all;
}

void rusage_reap(Process* parent, const Process* child) {
    add(parent->usage.children, child->usage.exited);
    add(parent->usage.children, child->usage.children);
    parent->usage.children_maxrss_kib = larger(parent->usage.children_maxrss_kib,
                                               larger(child->usage.maxrss_kib, child->usage.children_maxrss_kib));
}

void rusage_self(const Process* p, rusage* r) { fill(r, process_sum(p), peak_kib(p)); }
void rusage_thread(const Task* t, rusage* r) { fill(r, t->usage, peak_kib(t->process)); }
void rusage_children(const Process* p, rusage* r) { fill(r, p->usage.children, p->usage.children_maxrss_kib); }

void rusage_zombie(const Process* child, rusage* r) {
    TaskUsage u = child->usage.exited;
    add(u, child->usage.children);
    fill(r, u, larger(child->usage.maxrss_kib, child->usage.children_maxrss_kib));
}

}  // namespace lightvm::guest

#include "kernel/proc/wait.hpp"

namespace lightvm::guest {

void wait_add(WaitQueue& q, WaitEntry& e, Task* t) {
    e.task = t;
    e.queue = &q;
    e.next = q.head;
    e.wake = nullptr;
    q.head = &e;
}

void wait_add_fn(WaitQueue& q, WaitEntry& e, WakeFn fn) {
    wait_add(q, e, nullptr);
    e.wake = fn;
}

void wait_remove(WaitEntry& e) {
    if (!e.queue)
        return;
    for (WaitEntry** p = &e.queue->head; *p; p = &(*p)->next) {
        if (*p == &e) {
            *p = e.next;
            break;
        }
    }
    e.queue = nullptr;
}

void wake_up(WaitQueue& q) {
    for (WaitEntry* e = q.head; e; e = e->next) {
        if (e->wake)
            e->wake(e);
        else
            sched_wake(e->task);
    }
}

bool wait_queue_empty(const WaitQueue& q) { return q.head == nullptr; }

}  // namespace lightvm::guest

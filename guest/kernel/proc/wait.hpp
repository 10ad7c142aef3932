// Wait queues: how a task sleeps until something happens (data in a pipe,
// a child exiting, a futex word changing, a timer) and how whoever makes
// it happen wakes it. An entry lives on the sleeping task's kernel stack;
// a task can sit on several queues at once (poll) with one entry each.
// An entry may instead carry a wake function (Linux's wait_queue_entry
// func): epoll keeps one such entry on every file it watches for as long
// as the file is in its interest list, and a wake-up marks the item ready
// instead of waking a task (kernel/event/epoll.cpp). With SMP each queue
// gets a spinlock; wake functions then run under it and must not sleep.
#pragma once

#include <stdint.h>

#include "kernel/proc/wait_queue.hpp"

namespace lightvm::guest {

void wait_add(WaitQueue& q, WaitEntry& e, Task* t);
// Adds an entry whose wake-up calls fn(&e) instead of waking a task. fn
// must not add or remove entries of q (it may wake other queues).
void wait_add_fn(WaitQueue& q, WaitEntry& e, WakeFn fn);
void wait_remove(WaitEntry& e);
// Makes every task waiting on q runnable (they re-check their condition)
// and calls the wake functions of function entries.
void wake_up(WaitQueue& q);
bool wait_queue_empty(const WaitQueue& q);

// The result of a wait: the condition held, the deadline passed, or (only
// interruptible waits) a signal arrived for the task.
enum class WaitResult { Ready, TimedOut, Interrupted };

// Sleeps on q until cond() is true or the monotonic deadline passes
// (deadline_ns == 0: no deadline). Checks cond() first: never sleeps when
// it already holds.
template <typename Cond>
WaitResult wait_event(WaitQueue& q, Cond cond, uint64_t deadline_ns = 0);
// The same, but an unblocked pending signal ends the wait (Interrupted):
// the caller returns what it has done so far, or -ERESTARTSYS (which the
// syscall exit turns into EINTR or a restart, proc/signal.cpp).
template <typename Cond>
WaitResult wait_event_interruptible(WaitQueue& q, Cond cond, uint64_t deadline_ns = 0);

// proc/signal.hpp (declared here too: this header is used without it in tests).
bool signal_pending(const Task* t);

}  // namespace lightvm::guest

#include "kernel/proc/sched.hpp"

namespace lightvm::guest {

template <typename Cond>
WaitResult wait_event(WaitQueue& q, Cond cond, uint64_t deadline_ns) {
    for (;;) {
        if (cond())
            return WaitResult::Ready;
        if (deadline_passed(deadline_ns))
            return WaitResult::TimedOut;
        WaitEntry e;
        wait_add(q, e, current());
        sched_block(deadline_ns);
        wait_remove(e);
    }
}

template <typename Cond>
WaitResult wait_event_interruptible(WaitQueue& q, Cond cond, uint64_t deadline_ns) {
    for (;;) {
        if (cond())
            return WaitResult::Ready;
        if (deadline_passed(deadline_ns))
            return WaitResult::TimedOut;
        if (signal_pending(current()))
            return WaitResult::Interrupted;
        WaitEntry e;
        wait_add(q, e, current());
        sched_block(deadline_ns);
        wait_remove(e);
    }
}

}  // namespace lightvm::guest

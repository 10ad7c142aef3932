// Kernel timers: run a function when a monotonic deadline passes (Linux's
// hrtimer). timerfd arms them (kernel/event/timerfd.cpp); POSIX timers and
// alarm() will. The scheduler folds the earliest armed deadline into its
// idle (the CPU sleeps in the monitor until then, one exit) and runs the
// expired timers each time it schedules; readers of a timer's state (poll,
// epoll_wait) run them first too, so a program that never blocks still sees
// its timers fire. There is no preemption: a timer fires at the next
// schedule or check, never in the middle of user code. The timer lives in
// the object that owns it (no allocation). With SMP the list gets a lock.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct KTimer;
using KTimerFn = void (*)(KTimer* t);

struct KTimer {
    uint64_t deadline_ns;  // monotonic; 0: not armed
    KTimerFn fn;
    KTimer* next;          // the armed list
};

// Arms (or re-arms) t for deadline_ns (> 0); fn runs once it has passed.
void ktimer_arm(KTimer* t, uint64_t deadline_ns, KTimerFn fn);
// Disarms t (nothing if it is not armed).
void ktimer_cancel(KTimer* t);
// Runs every timer whose deadline is <= now, each disarmed before its fn
// (which may re-arm it, for a later deadline).
void ktimer_run_expired(uint64_t now);
// Runs the expired timers as of the monotonic clock now.
void ktimer_poll();
// The earliest armed deadline, 0 when none is armed.
uint64_t ktimer_earliest();

// Deferred wake-ups: code that may run in an interrupt handler (sending a
// signal) must not touch wait queues (the interrupted code may be in the
// middle of one), so it calls ktimer_kick (a flag), and the functions
// registered here run at the next ktimer_poll: every schedule, every
// epoll_wait. Up to 4 functions; registering one twice keeps one.
void ktimer_add_deferred(void (*fn)());
void ktimer_kick();

}  // namespace lightvm::guest

// Each vCPU's guest timer interrupt (irq::arm_timer: one-shot, one exit to
// arm) shared by its users: each slot has its own deadline and handler, and the
// hardware timer is armed at the earliest. Arming costs an exit only when
// the earliest deadline changes, so a user that re-arms later than another
// is free.
#pragma once

#include <stdint.h>

#include "kernel/irq/irq.hpp"

namespace lightvm::guest::irq {

enum class TimerSlot : uint8_t {
    Timers,   // alarm, setitimer, timer_create (time/timers.cpp)
    Preempt,  // the scheduler's time slice (proc/sched.cpp)
    Count,
};

// Arms slot at CLOCK_MONOTONIC deadline_ns (0: disarms); fn runs in
// interrupt context (frame as for Handler) once it has passed, the slot
// disarmed first (fn may re-arm it).
void timer_arm(TimerSlot slot, uint64_t deadline_ns, Handler fn);
// The slot's armed deadline on this CPU, 0 if none. (Each vCPU has its own
// timer and slots; a slot is armed on the CPU that armed it.)
uint64_t timer_deadline(TimerSlot slot);
// The earliest armed deadline of this CPU's slots and every CPU's Timers
// slot, 0 if none (the scheduler's idle sleeps no longer).
uint64_t timer_earliest();

}  // namespace lightvm::guest::irq

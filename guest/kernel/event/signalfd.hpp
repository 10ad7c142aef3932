// signalfd: what signal sending tells it (kernel/event/signalfd.cpp).
#pragma once

namespace lightvm::guest {

// A signal was queued somewhere: signalfds re-check their readiness. Safe
// in an interrupt handler (the wake-ups are deferred, proc/ktimer.hpp).
void signalfd_notify();

}  // namespace lightvm::guest

// alarm, setitimer/getitimer, timer_create & co. (time/timers.cpp).
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct Process;

// A process ends (or execs: POSIX timers are deleted, the itimers stay —
// the process model decides which it calls): its timers go.
void timers_exit(Process& p);

}  // namespace lightvm::guest

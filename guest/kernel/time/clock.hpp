// Time from the TSC, never through an exit: the monitor put a reference
// point (TSC value, wall and monotonic time, scale) into the boot page.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

uint64_t monotonic_ns();
uint64_t realtime_ns();
uint64_t boottime_ns();  // ns since the VM started

}  // namespace lightvm::guest

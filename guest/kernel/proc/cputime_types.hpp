// The CPU-time counters Task and Process embed (proc/cputime.hpp is the API).
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct CpuTime {
    uint64_t user_ns;
    uint64_t sys_ns;
    uint64_t mark_ns;  // monotonic time the current stretch began (0: not running)
};

// A process's CPU time that outlives its tasks.
struct ProcCpuTime {
    uint64_t exit_user_ns, exit_sys_ns;          // all its tasks', taken at exit
    uint64_t children_user_ns, children_sys_ns;  // reaped children's (theirs included)
};

}  // namespace lightvm::guest

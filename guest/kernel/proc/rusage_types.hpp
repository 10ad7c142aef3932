// The resource-usage counters Task and Process embed beside their CPU
// times (proc/rusage.hpp is the API).
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct TaskUsage {
    uint64_t minflt;  // page faults it took (each one mapped memory; none read a disk)
    uint64_t nvcsw;   // times it gave up the CPU to wait
    uint64_t nivcsw;  // times it was preempted, or yielded while still runnable
};

// A process's counts that outlive its tasks, and its reaped children's.
struct ProcUsage {
    TaskUsage exited;      // tasks that left, summed
    TaskUsage children;    // reaped children's (theirs included)
    uint64_t maxrss_kib;   // largest resident set of its earlier address spaces (exec)
    uint64_t children_maxrss_kib;  // the largest of any reaped descendant's
};

}  // namespace lightvm::guest

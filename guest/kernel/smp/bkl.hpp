// The kernel lock. Kernel code runs under one lock, taken at every entry
// from user code (system call, interrupt, fault) and released on the way
// back; user code runs on every vCPU in parallel. One lock keeps every
// kernel structure as safe as on one CPU, which is what the workloads
// this serves need: CPU-bound threads in parallel, kernel work serialised
// (docs/design.md, "Several vCPUs", has the measurements and the limits).
#pragma once

#include "arch/x86_64/cpu.hpp"

namespace lightvm::guest {

inline bool bkl_owned_by(uint32_t cpu) { return lvm_bkl == cpu + 1; }

// A wait for another vCPU: spin a while (8,192 pauses, ~190 us here:
// longer than the exits a holder makes under the lock), then let the host
// run that vCPU's thread (kHcCpu kCpuYield, one exit): on a busy host the
// holder may not be running at all (smp/cpus.cpp, docs/design.md).
void cpu_spin_yield(uint32_t cpu);
struct SpinWait {
    uint32_t cpu, n = 0;
    void step() {
        if (++n < 8192) {
            __builtin_ia32_pause();
            return;
        }
        n = 0;
        cpu_spin_yield(cpu);
    }
};

inline void bkl_lock(uint32_t cpu) {
    SpinWait wait{cpu};
    for (;;) {
        uint32_t expected = 0;
        if (__atomic_compare_exchange_n(&lvm_bkl, &expected, cpu + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        while (__atomic_load_n(&lvm_bkl, __ATOMIC_RELAXED))
            wait.step();
    }
}

inline void bkl_unlock() { __atomic_store_n(&lvm_bkl, 0u, __ATOMIC_RELEASE); }

// Entry from user code or from this CPU's unlocked code: takes the lock
// unless this CPU holds it already (a fault in a system call). Returns
// whether it took it, for bkl_leave.
inline bool bkl_enter(uint32_t cpu) {
    if (bkl_owned_by(cpu))
        return false;
    bkl_lock(cpu);
    return true;
}
inline void bkl_leave(bool took) {
    if (took)
        bkl_unlock();
}

}  // namespace lightvm::guest

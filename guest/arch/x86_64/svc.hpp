// The CPL0 service (arch/x86_64/percpu.S, lvm_svc_entry*): CR3 loads and
// page invalidations, which CPL3 cannot do. Each CPU posts its request in
// its own CpuArch and enters its own copy with `int3` (~7 us under PVM,
// docs/platform.md). Also the receiving side of remote TLB requests
// (kernel/smp/tlb_shootdown.cpp), which needs no kernel lock.
#pragma once

#include "arch/x86_64/cpu.hpp"

namespace lightvm::guest {

inline void svc_load_root(uint32_t cpu, uint64_t root) {
    lvm_percpu[cpu].svc_request = root;
    asm volatile("int3" ::: "memory");
    g_cpus[cpu].loaded_root = root;
}

// n <= 16 (AddressSpace::kStalePages).
inline void svc_flush_pages(uint32_t cpu, const uint64_t* va, uint32_t n) {
    CpuArch& a = lvm_percpu[cpu];
    for (uint32_t i = 0; i < n; ++i)
        a.svc_pages[i] = va[i];
    a.svc_count = n;
    a.svc_request = 1;  // odd: the page list, not a CR3 value
    asm volatile("int3" ::: "memory");
}

}  // namespace lightvm::guest

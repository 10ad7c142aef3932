// CR3 loads and page invalidations on this CPU, through the CPL0 service
// (arch/x86_64/svc.hpp): the kernel runs at CPL3 under PVM, where `mov
// %cr3` faults. One `int3` round trip costs ~7 us there (docs/platform.md);
// on hardware KVM the same path works from CPL0 too. Other CPUs that use
// the same tables are told by kernel/smp/tlb_shootdown.cpp.
#include "arch/x86_64/svc.hpp"
#include "kernel/mm/address_space.hpp"

namespace lightvm::guest {

uint64_t mm_loaded_root() {
    const uint64_t r = this_cpu().loaded_root;
    return r ? r : abi::kPageTablesGpa;  // the monitor's tables at boot
}

void mm_flush_pages(const uint64_t* va, uint32_t n) {
    if (n)
        svc_flush_pages(this_cpu().id, va, n);
}

void mm_load_root(uint64_t root) { svc_load_root(this_cpu().id, root); }

}  // namespace lightvm::guest

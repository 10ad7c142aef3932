// CR3 loads through the CPL0 service (arch/x86_64/cpl0.S): the kernel runs
// at CPL3 under PVM, where `mov %cr3` faults. One `int3` round trip costs
// ~7 us there (docs/platform.md); on hardware KVM the same path works from
// CPL0 too.
#include "kernel/mm/address_space.hpp"

#include "lightvm/abi.h"

extern "C" volatile uint64_t lvm_svc_request;
extern "C" volatile uint64_t lvm_svc_count;
extern "C" volatile uint64_t lvm_svc_pages[];

namespace lightvm::guest {

namespace {
uint64_t g_loaded_root = lightvm::abi::kPageTablesGpa;  // the monitor's tables at boot
}

uint64_t mm_loaded_root() { return g_loaded_root; }

void mm_flush_pages(const uint64_t* va, uint32_t n) {
    if (n == 0)
        return;
    for (uint32_t i = 0; i < n; ++i)
        lvm_svc_pages[i] = va[i];
    lvm_svc_count = n;
    lvm_svc_request = 1;  // odd: the page list, not a CR3 value
    asm volatile("int3" ::: "memory");
}

void mm_load_root(uint64_t root) {
    lvm_svc_request = root;
    asm volatile("int3" ::: "memory");
    g_loaded_root = root;
}

}  // namespace lightvm::guest

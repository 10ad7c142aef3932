// CR3 loads through the CPL0 service (arch/x86_64/cpl0.S): the kernel runs
// at CPL3 under PVM, where `mov %cr3` faults. One `int3` round trip costs
// ~7 us there (docs/platform.md); on hardware KVM the same path works from
// CPL0 too.
#include "kernel/mm/address_space.hpp"

#include "lightvm/abi.h"

extern "C" volatile uint64_t lvm_svc_request;

namespace lightvm::guest {

namespace {
uint64_t g_loaded_root = lightvm::abi::kPageTablesGpa;  // the monitor's tables at boot
}

uint64_t mm_loaded_root() { return g_loaded_root; }

void mm_load_root(uint64_t root) {
    lvm_svc_request = root;
    asm volatile("int3" ::: "memory");
    g_loaded_root = root;
}

}  // namespace lightvm::guest

#include "arch/x86_64/cpu.hpp"

namespace lightvm::guest {

// Page-aligned in its own section so that a per-vCPU mapping can replace
// exactly this page later (see cpu.hpp).
extern "C" {
__attribute__((section(".data.percpu"), aligned(4096))) Cpu lvm_cpu0 = {.self = &lvm_cpu0};  // the rest zero
}

}  // namespace lightvm::guest

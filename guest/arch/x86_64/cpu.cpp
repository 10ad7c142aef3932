#include "arch/x86_64/cpu.hpp"

namespace lightvm::guest {

// Page-aligned in its own section so that a per-vCPU mapping can replace
// exactly this page later (see cpu.hpp).
extern "C" {
__attribute__((section(".data.percpu"), aligned(4096))) Cpu lvm_cpu0 = {&lvm_cpu0, 0, 0, nullptr, 0, 0, 0, {}, {}, {}};
}

}  // namespace lightvm::guest

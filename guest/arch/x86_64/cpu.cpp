#include "arch/x86_64/cpu.hpp"

namespace lightvm::guest {

Cpu g_cpus[abi::kMaxCpus];
extern "C" {
volatile uint32_t lvm_bkl = 1;  // CPU 0 boots inside the kernel
}

}  // namespace lightvm::guest

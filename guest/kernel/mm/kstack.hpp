// Kernel stacks. Slot 0 is the boot task's, in the kernel image (its guard
// page left unmapped by the monitor, arch/x86_64/kstack_layout.h). Every
// other task's stack lives in the kernel stack area: a range of the
// physmap's PML4 slot beyond any RAM (kKStackArea), so it is mapped in
// every address space without copying an entry, with 4 KiB pages and an
// unmapped guard page below each stack: an overflow faults with a clear
// report instead of corrupting a neighbour. Frames come from the frame
// allocator (counted against --mem); a freed stack keeps its frames and
// mapping for the next task (no TLB flush ever needed, one fewer fault).
#pragma once

#include <stdint.h>

#include "lightvm/abi.h"

namespace lightvm::guest {

// [base, top) of a kernel stack; the page below base is never mapped.
struct KernelStack {
    uint64_t base, top;
};

// 256 GiB into the physmap slot: above any --mem (abi::kMaxMemSize).
inline constexpr uint64_t kKStackArea = abi::kPhysMapBase + (256ull << 30);
inline constexpr uint64_t kKStackSize = 64 * 1024;
inline constexpr uint64_t kKStackStride = 2 * kKStackSize;  // the lower half stays unmapped: the guard
inline constexpr uint32_t kKStackMax = 8192;
static_assert(abi::kMaxMemSize <= (256ull << 30));

KernelStack kstack_boot();
// A free stack, or {0, 0} when frames (or slots) run out.
KernelStack kstack_alloc();
void kstack_free(const KernelStack& s);
// The gpa behind an address on a stack of the area (~0 if it is none).
uint64_t kstack_gpa(uint64_t va);
// Stacks mapped in the area (in use or cached for reuse): /proc/meminfo.
uint32_t kstack_count();

}  // namespace lightvm::guest

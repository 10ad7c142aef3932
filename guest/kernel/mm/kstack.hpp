// Kernel stacks: fixed slots in the kernel image, each with a guard page
// below it that is never mapped (arch/x86_64/kstack_layout.h), so every
// task's kernel stack overflow faults with a clear report. Slot 0 is the
// boot task's; the others are handed out to kernel threads (and, with
// processes and threads, to their tasks — then from the frame allocator).
#pragma once

#include <stdint.h>

namespace lightvm::guest {

// [base, top) of a kernel stack; the page below base is never mapped.
struct KernelStack {
    uint64_t base, top;
};

KernelStack kstack_boot();
// A free stack, or {0, 0} when all slots are in use.
KernelStack kstack_alloc();
void kstack_free(const KernelStack& s);

}  // namespace lightvm::guest

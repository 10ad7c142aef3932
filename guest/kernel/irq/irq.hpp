// Interrupts in the guest kernel: a handler per source (timer, doorbell,
// IPI), and masking by a per-CPU kernel flag. There is no IF to clear at CPL3 (PVM), so
// "masked" means: an interrupt still enters arch/x86_64/vectors.S, but its
// sources are deferred and run when the outermost unmask() is reached.
#pragma once

#include <stdint.h>

#include "lightvm/abi.h"

namespace lightvm::guest::irq {

// What vectors.S pushed: the interrupted general-purpose registers, then
// the CPU's frame. Layout matches the push order there.
struct Frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(Frame) == 20 * 8);

// frame is null when the source ran deferred, at unmask().
using Handler = void (*)(const Frame* frame);
void set_handler(abi::IrqSource source, Handler handler);

// Nestable. Use around code an interrupt handler must not see half done.
void mask();
void unmask();
bool masked();

struct MaskGuard {
    MaskGuard() { mask(); }
    ~MaskGuard() { unmask(); }
    MaskGuard(const MaskGuard&) = delete;
    MaskGuard& operator=(const MaskGuard&) = delete;
};

// Did the interrupt stop guest-kernel code (a syscall in progress) rather
// than the app? Both run at CPL3, so CS cannot tell: the RIP does.
bool from_kernel(const Frame& frame);
// Does the interrupt return to the program's code (its own or the vDSO's,
// whose pages are inside the kernel image)?
bool to_user_code(const Frame& frame);

// Called under the kernel lock at the end of an interrupt that did not
// stop masked kernel code, with the frame it returns to: signal delivery
// (proc/signal.cpp) rewrites it when it returns to user code (which
// includes the vDSO, whose pages are inside the kernel image: from_kernel()
// counts them as kernel). True: the frame now enters the kernel
// (preemption), which keeps the lock.
void set_user_return_hook(bool (*hook)(Frame* frame));

// One kIrqTimer interrupt on this vCPU at CLOCK_MONOTONIC deadline_ns (0:
// cancel). One exit. Returns 0 or -errno.
long arm_timer(uint64_t deadline_ns);

// Runs the pending sources; called by percpu.S on CPU cpu's interrupt stack.
extern "C" void lvm_irq(Frame* frame, uint32_t cpu);

}  // namespace lightvm::guest::irq

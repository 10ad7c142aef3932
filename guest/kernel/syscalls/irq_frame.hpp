// An interrupt's saved state (irq::Frame, vectors.S push order) as a
// SyscallFrame and back: signal delivery and preemption at the return of
// an interrupt to user code work on the same frame as system calls.
#pragma once

#include "kernel/irq/irq.hpp"
#include "kernel/syscalls/frame.hpp"

namespace lightvm::guest {

inline SyscallFrame syscall_frame_of(const irq::Frame& i) {
    return SyscallFrame{i.r15, i.r14, i.r13, i.r12, i.rbp, i.rbx, i.rax, i.rdi, i.rsi, i.rdx,
                        i.r10, i.r8,  i.r9,  i.rcx, i.r11, i.rip, i.cs,  i.rflags, i.rsp, i.ss};
}

inline void irq_frame_set(irq::Frame& i, const SyscallFrame& f) {
    i.r15 = f.r15, i.r14 = f.r14, i.r13 = f.r13, i.r12 = f.r12, i.rbp = f.rbp, i.rbx = f.rbx;
    i.rax = f.rax, i.rdi = f.rdi, i.rsi = f.rsi, i.rdx = f.rdx, i.r10 = f.r10, i.r8 = f.r8;
    i.r9 = f.r9, i.rcx = f.rcx, i.r11 = f.r11, i.rip = f.rip, i.cs = f.cs, i.rflags = f.rflags;
    i.rsp = f.rsp, i.ss = f.ss;
}

}  // namespace lightvm::guest

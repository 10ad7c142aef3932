// What a system call sees of its caller: the saved registers and the six
// arguments. Its own header, below everything that handles calls or
// rewrites frames (signals, fork, futexes), so those need not include the
// dispatcher (syscall.hpp) that calls back into them.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

// Must match the push order in arch/x86_64/entry.S. Holds every
// general-purpose register of the calling task (fork copies it, signal
// delivery and rt_sigreturn rewrite it); `rax` is the system call number on
// entry and the result on the way out.
struct SyscallFrame {
    uint64_t r15, r14, r13, r12, rbp, rbx;
    uint64_t rax;
    uint64_t rdi, rsi, rdx, r10, r8, r9;
    uint64_t rcx, r11;
    // iretq frame
    uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(SyscallFrame) == 20 * 8);

// The current task's frame: the entry builds it at the top of the task's
// kernel stack.
SyscallFrame* current_frame();

struct SyscallArgs {
    uint64_t a0, a1, a2, a3, a4, a5;
};

using SyscallHandler = long (*)(const SyscallArgs&);

}  // namespace lightvm::guest

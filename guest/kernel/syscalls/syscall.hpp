// System call dispatch. lvm_syscall_entry (arch/entry.S) builds a
// SyscallFrame on the kernel stack and calls lvm_syscall.
#pragma once

#include <stdint.h>

#include "kernel/syscalls/table.hpp"

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

// Every handler kernel/syscalls/table.def names; they are defined in the
// area folders (proc/, mm/, fs/, time/, system/).
#define SYSCALL(name, handler, args, result) long handler(const SyscallArgs&);
#include "kernel/syscalls/table.def"

// Dispatch covers numbers below this (table.def's rows must fit).
inline constexpr unsigned kMaxSyscall = 512;
static_assert(kSysTestHook < kMaxSyscall);
void syscalls_init();
// Installs the test-hook call (table.def's PRIVATE row) when the boot page
// enables it (proc/test_hooks.cpp).
void register_test_hooks(SyscallHandler* table);
// exit/exit_group never return: they trace themselves before they run.
void trace_noreturn(uint64_t nr, uint64_t a0);

}  // namespace lightvm::guest

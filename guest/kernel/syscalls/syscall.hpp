// System call dispatch. lvm_syscall_entry (arch/entry.S) builds a
// SyscallFrame on the kernel stack and calls lvm_syscall.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

// Must match the push order in arch/entry.S.
struct SyscallFrame {
    uint64_t nr;  // rax
    uint64_t rdi, rsi, rdx, r10, r8, r9;
    uint64_t rcx, r11;
    // iretq frame
    uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(SyscallFrame) == 14 * 8);

struct SyscallArgs {
    uint64_t a0, a1, a2, a3, a4, a5;
};

using SyscallHandler = long (*)(const SyscallArgs&);

// Per-area tables register their handlers here (explicit, no static ctors).
void register_process_syscalls(SyscallHandler* table);
void register_memory_syscalls(SyscallHandler* table);
void register_io_syscalls(SyscallHandler* table);
void register_time_syscalls(SyscallHandler* table);
void register_info_syscalls(SyscallHandler* table);
void register_fs_syscalls(SyscallHandler* table);
void register_test_hooks(SyscallHandler* table);

inline constexpr unsigned kMaxSyscall = 512;
// lightvm's private test-hook call (proc/test_hooks.cpp), beyond Linux's numbers.
inline constexpr unsigned kSysTestHook = kMaxSyscall - 1;
void syscalls_init();

}  // namespace lightvm::guest

// System call dispatch. lvm_syscall_entry (arch/entry.S) builds a
// SyscallFrame on the kernel stack and calls lvm_syscall.
#pragma once

#include <stdint.h>

#include "kernel/syscalls/frame.hpp"
#include "kernel/syscalls/table.hpp"

namespace lightvm::guest {

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

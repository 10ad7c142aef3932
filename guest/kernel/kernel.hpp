// Guest kernel core declarations shared by the syscall modules.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lightvm/abi.h"

extern "C" {
void* memcpy(void*, const void*, size_t);
void* memmove(void*, const void*, size_t);
void* memset(void*, int, size_t);
int memcmp(const void*, const void*, size_t);
size_t strlen(const char*);
int strcmp(const char*, const char*);
[[noreturn]] void lvm_enter_app(uint64_t entry, uint64_t sp);
}

namespace lightvm::guest {

// The boot page, written by the monitor before our first instruction.
inline abi::BootInfo& boot() {
    return *reinterpret_cast<abi::BootInfo*>(abi::kBootInfoGpa);
}

// A hypercall: one exit to the monitor. `arg` is the guest address of the
// argument struct; the kernel's own data lives below 4 GiB.
inline void hypercall(uint16_t nr, const volatile void* arg) {
    uint32_t a = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
    uint16_t port = static_cast<uint16_t>(abi::kHypercallPortBase + nr);
    asm volatile("outl %0, %1" : : "a"(a), "Nd"(port) : "memory");
}

[[noreturn]] void exit_vm(int status, unsigned signal);

// Boot-time set-up behind the syscalls (main.cpp calls them once): the
// stdio descriptors from the boot page (fs/sys_io.cpp), the kernel's
// random generator (system/sys_info.cpp).
void io_init();
void random_init();

// fd and dirfd arguments are C ints: only the low 32 bits of the register
// are defined (AT_FDCWD may arrive as 0x00000000ffffff9c).
inline long fd_arg(uint64_t reg) { return static_cast<int32_t>(static_cast<uint32_t>(reg)); }

// User pointers are checked and copied in mm/uaccess.hpp.

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t(hi) << 32) | lo;
}

}  // namespace lightvm::guest

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

// A hypercall: one exit to the monitor, whose 32-bit port value is the
// guest-physical address of the argument block. Blocks in the kernel image
// are identity-mapped; those on a task's kernel stack (kernel stack area)
// or in kernel memory are translated, and one beyond 4 GiB goes through a
// bounce block in the image (kernel/hypercall.cpp).
inline void raw_hypercall(uint16_t nr, uint32_t gpa) {
    uint16_t port = static_cast<uint16_t>(abi::kHypercallPortBase + nr);
    asm volatile("outl %0, %1" : : "a"(gpa), "Nd"(port) : "memory");
}
// The argument block's gpa, or ~0 when it lies beyond 4 GiB.
uint64_t hypercall_gpa(const volatile void* arg);
void hypercall_bounced(uint16_t nr, volatile void* arg, size_t size);

template <typename T>
inline void hypercall(uint16_t nr, volatile T* arg) {
    uint64_t gpa = hypercall_gpa(arg);
    if (gpa >> 32)
        hypercall_bounced(nr, arg, sizeof(T));
    else
        raw_hypercall(nr, static_cast<uint32_t>(gpa));
}
inline void hypercall(uint16_t nr, decltype(nullptr)) { raw_hypercall(nr, 0); }

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

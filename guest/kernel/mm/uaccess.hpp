// User memory access: the one place where an address a program passed in is
// checked and turned into something the kernel or the monitor may touch.
// Every syscall argument that points into user memory goes through here;
// a bad pointer is EFAULT, never a kernel fault and never a monitor error.
//
// A user range is valid when it lies inside the user part of the current
// address space ([user_lo, user_hi): the kernel's own pages below user_lo
// are not the program's to name) and touches nothing that is unmapped
// (the free parts of the managed range). Translation to guest-physical
// addresses is the identity today (mm/memory.hpp) but every hypercall that
// carries a user buffer asks for it here, so per-process page tables
// change only this file.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/mm/address_space.hpp"

namespace lightvm::guest {

// Pure check against one address space (hosted unit tests call it).
bool user_range_valid(const AddressSpace& as, uint64_t addr, uint64_t len);

// Against the current process's address space.
bool access_ok(uint64_t addr, uint64_t len);

// 0 or -EFAULT; nothing is copied unless the whole range is valid.
long copy_from_user(void* dst, uint64_t src, size_t len);
long copy_to_user(uint64_t dst, const void* src, size_t len);
long clear_user(uint64_t dst, size_t len);

// Length of the NUL-terminated user string at src, looking at no more than
// max bytes: -EFAULT if it runs into invalid memory first, -ENAMETOOLONG if
// no NUL within max.
long strnlen_user(uint64_t src, size_t max);
// Copies it (with its NUL) into dst[cap]; returns its length.
long strncpy_from_user(char* dst, uint64_t src, size_t cap);

// A typed user pointer: reads and writes are checked copies.
template <typename T>
class UserPtr {
public:
    explicit UserPtr(uint64_t addr) : m_addr(addr) {}
    uint64_t addr() const { return m_addr; }
    bool null() const { return m_addr == 0; }
    long read(T& out) const { return copy_from_user(&out, m_addr, sizeof(T)); }
    long write(const T& v) const { return copy_to_user(m_addr, &v, sizeof(T)); }
    UserPtr operator+(uint64_t n) const { return UserPtr(m_addr + n * sizeof(T)); }

private:
    uint64_t m_addr;
};

// Guest-physical address of a validated user byte, for the monitor.
uint64_t user_to_gpa(uint64_t addr);
// Physically contiguous pieces of a validated user range (one today).
struct PhysSegment {
    uint64_t gpa, len;
};
size_t user_phys_segments(uint64_t addr, uint64_t len, PhysSegment* out, size_t max);
// Guest-physical address of kernel memory (hypercall argument blocks).
uint64_t kernel_to_gpa(const volatile void* p);
// Either: kernel and user addresses are disjoint ranges, so a buffer that
// may be either (a file read into a user buffer or a kernel bounce buffer)
// is translated by where it lies. User memory must have been validated.
uint64_t virt_to_gpa(const volatile void* p);

}  // namespace lightvm::guest

// User memory access: the one place where an address a program passed in is
// checked and turned into something the kernel or the monitor may touch.
// Every syscall argument that points into user memory goes through here;
// a bad pointer is EFAULT, never a kernel fault and never a monitor error.
//
// A user range is valid when it lies in user space and every page of it is
// mapped with the access asked for (the current address space's page
// tables decide). Copies go page by page through the physmap, so they work
// whatever the user mapping's protection, and the same code runs in the
// hosted unit tests. What the monitor reads or writes must be physically
// contiguous: for_each_phys splits a buffer into such pieces.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

struct AddressSpace;

// Is [addr, addr+len) mapped in `as` with read (or write) access?
// Pages not backed yet are faulted in (mm/fault.cpp), copy-on-write pages
// about to be written are copied.
bool user_range_ok(AddressSpace& as, uint64_t addr, uint64_t len, bool write);

// Against the current process: readable, or writable.
bool access_ok(uint64_t addr, uint64_t len);

// Reads another process's memory (/proc/PID/cmdline, environ): through
// its page tables and the physmap, without loading its root. Stops at the
// first page that is not present (never faults one in). Returns the bytes
// copied.
size_t copy_from_as(const AddressSpace& as, void* dst, uint64_t src, size_t len);
bool access_ok_write(uint64_t addr, uint64_t len);

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

// Guest-physical address of a byte the kernel may name: its own image
// (identity-mapped), the physmap, or validated user memory.
uint64_t virt_to_gpa(const volatile void* p);
inline uint64_t kernel_to_gpa(const volatile void* p) { return virt_to_gpa(p); }
// How many bytes from p (at most max) are physically contiguous; *gpa is
// where they start.
uint64_t phys_extent(const void* p, uint64_t max, uint64_t* gpa);

// Runs fn(gpa, n) on each physically contiguous piece of [p, p+len) (a
// validated buffer) in order; fn returns bytes moved or -errno. Stops at a
// short piece. Returns the total, or the error if nothing moved.
template <typename F>
long for_each_phys(const void* p, uint64_t len, F fn) {
    uint64_t done = 0;
    while (done < len) {
        uint64_t gpa;
        uint64_t n = phys_extent(static_cast<const char*>(p) + done, len - done, &gpa);
        long r = fn(gpa, n);
        if (r < 0)
            return done ? static_cast<long>(done) : r;
        done += static_cast<uint64_t>(r);
        if (static_cast<uint64_t>(r) < n)
            break;
    }
    return static_cast<long>(done);
}

}  // namespace lightvm::guest

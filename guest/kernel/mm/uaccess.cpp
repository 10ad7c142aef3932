#include "kernel/mm/uaccess.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/page_table.hpp"
#include "kernel/proc/task.hpp"

namespace lightvm::guest {

namespace {

AddressSpace& mm() { return *current_process()->mm; }

bool in_user(uint64_t a, uint64_t len) { return a >= kUserMin && a <= kUserMax && len <= kUserMax - a; }

// The kernel pointer behind user address va (validated), through the physmap.
uint8_t* user_byte(uint64_t va) {
    uint64_t gpa = 0;
    as_translate(mm(), va, &gpa);
    return static_cast<uint8_t*>(phys_to_virt(gpa));
}

// Page-by-page copy between a validated user range and kernel memory.
template <typename F>
void each_page(uint64_t va, uint64_t len, F fn) {
    uint64_t done = 0;
    while (done < len) {
        uint64_t at = va + done;
        uint64_t n = kPage - (at & (kPage - 1));
        if (n > len - done)
            n = len - done;
        fn(user_byte(at), done, n);
        done += n;
    }
}

}  // namespace

bool user_range_ok(AddressSpace& as, uint64_t addr, uint64_t len, bool write) {
    if (len == 0)
        return true;
    return in_user(addr, len) && as_prepare(as, addr, len, write) == 0;
}

bool access_ok(uint64_t addr, uint64_t len) { return user_range_ok(mm(), addr, len, false); }
bool access_ok_write(uint64_t addr, uint64_t len) { return user_range_ok(mm(), addr, len, true); }

long copy_from_user(void* dst, uint64_t src, size_t len) {
    if (!access_ok(src, len))
        return -err::kFault;
    each_page(src, len, [&](uint8_t* p, uint64_t off, uint64_t n) { memcpy(static_cast<char*>(dst) + off, p, n); });
    return 0;
}

long copy_to_user(uint64_t dst, const void* src, size_t len) {
    if (!access_ok_write(dst, len))
        return -err::kFault;
    each_page(dst, len, [&](uint8_t* p, uint64_t off, uint64_t n) { memcpy(p, static_cast<const char*>(src) + off, n); });
    return 0;
}

long clear_user(uint64_t dst, size_t len) {
    if (!access_ok_write(dst, len))
        return -err::kFault;
    each_page(dst, len, [&](uint8_t* p, uint64_t, uint64_t n) { memset(p, 0, n); });
    return 0;
}

long strnlen_user(uint64_t src, size_t max) {
    // Page by page: a string may end just before an unmapped page.
    size_t n = 0;
    while (n < max) {
        uint64_t at = src + n;
        if (at < src)
            return -err::kFault;  // wrapped around
        size_t chunk = kPage - (at & (kPage - 1));
        if (chunk > max - n)
            chunk = max - n;
        if (!access_ok(at, chunk))
            return -err::kFault;
        const uint8_t* s = user_byte(at);
        for (size_t i = 0; i < chunk; ++i)
            if (s[i] == 0)
                return static_cast<long>(n + i);
        n += chunk;
    }
    return -err::kNameTooLong;
}

long strncpy_from_user(char* dst, uint64_t src, size_t cap) {
    if (cap == 0)
        return -err::kNameTooLong;
    long n = strnlen_user(src, cap);
    if (n < 0)
        return n;
    return copy_from_user(dst, src, static_cast<size_t>(n) + 1) < 0 ? -err::kFault : n;
}

uint64_t phys_extent(const void* p, uint64_t max, uint64_t* gpa) {
    auto va = reinterpret_cast<uint64_t>(p);
    if (va < kUserMin) {  // the kernel's identity-mapped low region
        *gpa = va;
        return max;
    }
    if (va >= g_physmap && va - g_physmap < g_physmap_size) {
        *gpa = va - g_physmap;
        return max;
    }
    uint64_t first;
    as_translate(mm(), va, &first);
    *gpa = first;
    uint64_t n = kPage - (va & (kPage - 1));
    while (n < max) {
        uint64_t next;
        if (!as_translate(mm(), va + n, &next) || next != first + n)
            break;
        n += kPage;
    }
    return n < max ? n : max;
}

uint64_t virt_to_gpa(const volatile void* p) {
    uint64_t gpa;
    phys_extent(const_cast<const void*>(p), 1, &gpa);
    return gpa;
}

}  // namespace lightvm::guest

namespace lightvm::guest {

size_t copy_from_as(const AddressSpace& as, void* dst, uint64_t src, size_t len) {
    size_t done = 0;
    while (done < len) {
        uint64_t va = src + done, gpa;
        if (va < src || va >= kUserMax || !as_translate(as, va, &gpa) || gpa >= g_physmap_size)
            break;
        size_t n = kPage - (va & (kPage - 1));
        if (n > len - done)
            n = len - done;
        memcpy(static_cast<char*>(dst) + done, phys_to_virt(gpa), n);
        done += n;
    }
    return done;
}

}  // namespace lightvm::guest

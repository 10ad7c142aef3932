#include "kernel/mm/uaccess.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/task.hpp"

namespace lightvm::guest {

namespace {

// Does [a, b) overlap a free (unmapped) extent? Extents are sorted and
// disjoint: binary search for the first one ending after a.
bool touches_free(const AddressSpace& as, uint64_t a, uint64_t b) {
    int lo = 0, hi = as.nfree;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (as.free[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < as.nfree && as.free[lo].start < b;
}

}  // namespace

bool user_range_valid(const AddressSpace& as, uint64_t addr, uint64_t len) {
    if (addr < as.user_lo || addr > as.user_hi || len > as.user_hi - addr)
        return false;  // also catches addr + len overflowing
    return len == 0 || !touches_free(as, addr, addr + len);
}

bool access_ok(uint64_t addr, uint64_t len) { return user_range_valid(*current_process()->mm, addr, len); }

long copy_from_user(void* dst, uint64_t src, size_t len) {
    if (!access_ok(src, len))
        return -err::kFault;
    memcpy(dst, reinterpret_cast<const void*>(user_to_gpa(src)), len);
    return 0;
}

long copy_to_user(uint64_t dst, const void* src, size_t len) {
    if (!access_ok(dst, len))
        return -err::kFault;
    memcpy(reinterpret_cast<void*>(user_to_gpa(dst)), src, len);
    return 0;
}

long clear_user(uint64_t dst, size_t len) {
    if (!access_ok(dst, len))
        return -err::kFault;
    memset(reinterpret_cast<void*>(user_to_gpa(dst)), 0, len);
    return 0;
}

long strnlen_user(uint64_t src, size_t max) {
    // Page by page: a string may end just before an unmapped page.
    size_t n = 0;
    while (n < max) {
        uint64_t at = src + n;
        if (at < src)
            return -err::kFault;  // wrapped around
        size_t chunk = abi::kPageSize - (at & (abi::kPageSize - 1));
        if (chunk > max - n)
            chunk = max - n;
        if (!access_ok(at, chunk))
            return -err::kFault;
        const char* s = reinterpret_cast<const char*>(user_to_gpa(at));
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
    memcpy(dst, reinterpret_cast<const char*>(user_to_gpa(src)), static_cast<size_t>(n) + 1);
    return n;
}

uint64_t user_to_gpa(uint64_t addr) { return addr; }  // identity-mapped (mm/memory.hpp)

size_t user_phys_segments(uint64_t addr, uint64_t len, PhysSegment* out, size_t max) {
    if (max == 0 || len == 0)
        return 0;
    out[0] = {user_to_gpa(addr), len};
    return 1;
}

uint64_t kernel_to_gpa(const volatile void* p) { return reinterpret_cast<uint64_t>(p); }

uint64_t virt_to_gpa(const volatile void* p) {
    auto va = reinterpret_cast<uint64_t>(p);
    return va < current_process()->mm->user_lo ? kernel_to_gpa(p) : user_to_gpa(va);
}

}  // namespace lightvm::guest

#include "kernel/mm/memory.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/uapi.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/mm/uaccess.hpp"

namespace lightvm::guest {

namespace {

constexpr uint64_t kPage = abi::kPageSize;

constexpr int kMaxExtents = AddressSpace::kMaxExtents;

// The current process's address space.
AddressSpace& mm() { return *current_process()->mm; }

uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

// RAM backed by the monitor (abi.h HcMemGrow): a property of the VM, shared
// by every address space, so it stays global.
uint64_t g_ram_low_end, g_ram_high_start;

// Make sure the monitor backs [a, b) before anyone touches it: one exit the
// first time a region grows, none afterwards.
bool ensure_backed(uint64_t a, uint64_t b) {
    if (b <= g_ram_low_end || a >= g_ram_high_start)
        return true;
    volatile abi::HcMemGrow hc{a, b, 0, 0, 0};
    hypercall(abi::kHcMemGrow, &hc);
    if (hc.result < 0)
        return false;
    g_ram_low_end = hc.low_end;
    g_ram_high_start = hc.high_start;
    return b <= g_ram_low_end || a >= g_ram_high_start;
}

// Back the range, zero what may hold old data, then shrink the never-used
// window. False when the monitor cannot back it (the caller reports ENOMEM).
bool prepare(uint64_t a, uint64_t b) {
    if (!ensure_backed(a, b))
        return false;
    if (b <= mm().clean_lo || a >= mm().clean_hi || mm().clean_lo >= mm().clean_hi) {
        memset(reinterpret_cast<void*>(a), 0, b - a);
        return true;
    }
    if (a < mm().clean_lo)
        memset(reinterpret_cast<void*>(a), 0, mm().clean_lo - a);
    if (b > mm().clean_hi)
        memset(reinterpret_cast<void*>(mm().clean_hi), 0, b - mm().clean_hi);
    // Keep the larger clean side.
    uint64_t left = a > mm().clean_lo ? a - mm().clean_lo : 0;
    uint64_t right = mm().clean_hi > b ? mm().clean_hi - b : 0;
    if (left >= right)
        mm().clean_hi = a > mm().clean_lo ? a : mm().clean_lo;
    else
        mm().clean_lo = b < mm().clean_hi ? b : mm().clean_hi;
    return true;
}

bool range_free(uint64_t a, uint64_t b) {
    for (int i = 0; i < mm().nfree; ++i)
        if (mm().free[i].start <= a && b <= mm().free[i].end)
            return true;
    return false;
}

// Remove [a,b) from the free list (parts already in use are ignored).
bool take(uint64_t a, uint64_t b) {
    for (int i = 0; i < mm().nfree; ++i) {
        Extent& e = mm().free[i];
        if (e.end <= a || e.start >= b)
            continue;
        if (e.start < a && e.end > b) {  // split in two
            if (mm().nfree == kMaxExtents)
                return false;
            memmove(&mm().free[i + 2], &mm().free[i + 1], sizeof(Extent) * (mm().nfree - i - 1));
            mm().free[i + 1] = {b, e.end};
            e.end = a;
            ++mm().nfree;
            return true;
        }
        if (e.start < a) {
            e.end = a;
        } else if (e.end > b) {
            e.start = b;
        } else {  // fully covered: drop it
            memmove(&mm().free[i], &mm().free[i + 1], sizeof(Extent) * (mm().nfree - i - 1));
            --mm().nfree;
            --i;
        }
    }
    return true;
}

// Return [a,b) to the free list, merging neighbours. Overlaps with free
// space are fine (munmap of an unmapped range is legal).
bool give(uint64_t a, uint64_t b) {
    take(a, b);  // normalise: no overlap with existing extents
    int i = 0;
    while (i < mm().nfree && mm().free[i].end < a)
        ++i;
    bool merge_left = i < mm().nfree && mm().free[i].end == a;
    if (merge_left) {
        mm().free[i].end = b;
        if (i + 1 < mm().nfree && mm().free[i + 1].start == b) {
            mm().free[i].end = mm().free[i + 1].end;
            memmove(&mm().free[i + 1], &mm().free[i + 2], sizeof(Extent) * (mm().nfree - i - 2));
            --mm().nfree;
        }
        return true;
    }
    if (i < mm().nfree && mm().free[i].start == b) {
        mm().free[i].start = a;
        return true;
    }
    if (mm().nfree == kMaxExtents)
        return false;
    memmove(&mm().free[i + 1], &mm().free[i], sizeof(Extent) * (mm().nfree - i));
    mm().free[i] = {a, b};
    ++mm().nfree;
    return true;
}

uint64_t free_bytes_in(uint64_t a, uint64_t b) {
    uint64_t n = 0;
    for (int i = 0; i < mm().nfree; ++i) {
        uint64_t s = mm().free[i].start > a ? mm().free[i].start : a;
        uint64_t e = mm().free[i].end < b ? mm().free[i].end : b;
        if (s < e)
            n += e - s;
    }
    return n;
}

// Highest free range of `len` bytes that lies above the program break.
uint64_t find_top_down(uint64_t len) {
    for (int i = mm().nfree - 1; i >= 0; --i) {
        uint64_t lo = mm().free[i].start > mm().brk ? mm().free[i].start : page_up(mm().brk);
        if (mm().free[i].end > lo && mm().free[i].end - lo >= len)
            return mm().free[i].end - len;
    }
    return 0;
}

}  // namespace

void address_space_init(AddressSpace& as, uint64_t user_lo, uint64_t user_hi, uint64_t heap_lo, uint64_t heap_hi) {
    as.user_lo = user_lo;
    as.user_hi = user_hi;
    as.lo = page_up(heap_lo);
    as.hi = heap_hi & ~(kPage - 1);
    as.nfree = 0;
    if (as.hi > as.lo)
        as.free[as.nfree++] = {as.lo, as.hi};
    as.brk_start = as.brk = as.lo;
    as.clean_lo = as.lo;
    as.clean_hi = as.hi;
    as.used = 0;
}

void memory_set_backed(uint64_t low_end, uint64_t high_start) {
    g_ram_low_end = low_end;
    g_ram_high_start = high_start;
}

void memory_init(uint64_t heap_lo, uint64_t heap_hi) {
    // Below kAppMin: the kernel, boot page, page tables, console ring.
    address_space_init(mm(), abi::kAppMin, boot().mem_size, heap_lo, heap_hi);
    memory_set_backed(boot().ram_low_end, boot().ram_high_start);
}

uint64_t mem_used() { return mm().used; }

uint64_t mem_brk(uint64_t new_brk) {
    if (new_brk < mm().brk_start || new_brk > mm().hi)
        return mm().brk;
    uint64_t old_top = page_up(mm().brk), new_top = page_up(new_brk);
    if (new_top > old_top) {
        if (!range_free(old_top, new_top))
            return mm().brk;  // would run into an mmap: refuse, as Linux does
        if (!ensure_backed(old_top, new_top))
            return mm().brk;
        take(old_top, new_top);
        prepare(old_top, new_top);
        mm().used += new_top - old_top;
    } else if (new_top < old_top) {
        give(new_top, old_top);
        mm().used -= old_top - new_top;
    }
    mm().brk = new_brk;
    return mm().brk;
}

long mem_mmap(uint64_t addr, uint64_t len, int prot, int flags) {
    (void)prot;
    if (len == 0)
        return -err::kInval;
    if (!(flags & MAP_ANONYMOUS))
        return -err::kNoDev;  // file mappings arrive with the filesystem
    if (!(flags & (MAP_SHARED | MAP_PRIVATE)))
        return -err::kInval;
    if (len > mm().hi - mm().lo)
        return -err::kNoMem;
    len = page_up(len);
    bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    if (fixed) {
        if (addr & (kPage - 1))
            return -err::kInval;
        if (addr < mm().lo || addr > mm().hi || len > mm().hi - addr)
            return -err::kNoMem;
        if ((flags & MAP_FIXED_NOREPLACE) && !range_free(addr, addr + len))
            return -err::kExist;
        uint64_t newly = free_bytes_in(addr, addr + len);
        if (!ensure_backed(addr, addr + len) || !take(addr, addr + len))
            return -err::kNoMem;
        prepare(addr, addr + len);  // MAP_FIXED replaces: the new mapping reads as zero
        mm().used += newly;
        return static_cast<long>(addr);
    }
    uint64_t at = 0;
    if (addr && !(addr & (kPage - 1)) && addr >= mm().lo && addr <= mm().hi && len <= mm().hi - addr &&
        addr >= page_up(mm().brk) && range_free(addr, addr + len))
        at = addr;  // honour a usable hint
    if (!at)
        at = find_top_down(len);
    if (!at)
        return -err::kNoMem;
    if (!ensure_backed(at, at + len) || !take(at, at + len))
        return -err::kNoMem;
    prepare(at, at + len);
    mm().used += len;
    return static_cast<long>(at);
}

long mem_munmap(uint64_t addr, uint64_t len) {
    if ((addr & (kPage - 1)) || len == 0)
        return -err::kInval;
    uint64_t end = addr + page_up(len);
    if (end < addr)
        return -err::kInval;
    // Only the managed range can be returned; unmapping elsewhere is a no-op.
    uint64_t a = addr < mm().lo ? mm().lo : addr, b = end > mm().hi ? mm().hi : end;
    if (a >= b)
        return 0;
    uint64_t was_free = free_bytes_in(a, b);
    if (!give(a, b))
        return -err::kNoMem;
    mm().used -= (b - a) - was_free;
    return 0;
}

long mem_mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr) {
    if ((old_addr & (kPage - 1)) || new_len == 0 || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)))
        return -err::kInval;
    if (flags & MREMAP_FIXED)
        return -err::kInval;  // not used by libc's realloc; refuse rather than half-implement
    (void)new_addr;
    old_len = page_up(old_len);
    new_len = page_up(new_len);
    if (old_addr < mm().lo || old_addr + old_len > mm().hi)
        return -err::kFault;
    if (new_len <= old_len) {
        if (new_len < old_len)
            mem_munmap(old_addr + new_len, old_len - new_len);
        return static_cast<long>(old_addr);
    }
    uint64_t grow_a = old_addr + old_len, grow_b = old_addr + new_len;
    if (grow_b <= mm().hi && grow_b > grow_a && range_free(grow_a, grow_b)) {
        if (!ensure_backed(grow_a, grow_b))
            return -err::kNoMem;
        take(grow_a, grow_b);
        prepare(grow_a, grow_b);
        mm().used += grow_b - grow_a;
        return static_cast<long>(old_addr);
    }
    if (!(flags & MREMAP_MAYMOVE))
        return -err::kNoMem;
    long moved = mem_mmap(0, new_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (moved < 0)
        return moved;
    memcpy(reinterpret_cast<void*>(moved), reinterpret_cast<void*>(old_addr), old_len);
    mem_munmap(old_addr, old_len);
    return moved;
}

long mem_mprotect(uint64_t addr, uint64_t len, int prot) {
    (void)prot;
    if (addr & (kPage - 1))
        return -err::kInval;
    if (!access_ok(addr, len))
        return -err::kNoMem;
    return 0;  // protections are not enforced inside the VM (see memory.hpp)
}

}  // namespace lightvm::guest

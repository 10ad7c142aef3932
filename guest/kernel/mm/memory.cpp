#include "kernel/mm/memory.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"

namespace lightvm::guest {

namespace {

constexpr uint64_t kPage = abi::kPageSize;
constexpr int kMapShared = 0x01, kMapPrivate = 0x02, kMapFixed = 0x10, kMapAnonymous = 0x20,
              kMapFixedNoreplace = 0x100000;
constexpr int kMremapMaymove = 1, kMremapFixed = 2;

struct Extent {
    uint64_t start, end;
};
constexpr int kMaxExtents = 4096;
Extent g_free[kMaxExtents];  // sorted, disjoint, non-adjacent
int g_nfree;

uint64_t g_lo, g_hi;           // managed range [g_lo, g_hi)
uint64_t g_brk_start, g_brk;   // program break
uint64_t g_clean_lo, g_clean_hi;  // never handed out, so still zero
uint64_t g_used;

uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

uint64_t g_ram_low_end, g_ram_high_start;  // RAM backed by the monitor (abi.h HcMemGrow)

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
    if (b <= g_clean_lo || a >= g_clean_hi || g_clean_lo >= g_clean_hi) {
        memset(reinterpret_cast<void*>(a), 0, b - a);
        return true;
    }
    if (a < g_clean_lo)
        memset(reinterpret_cast<void*>(a), 0, g_clean_lo - a);
    if (b > g_clean_hi)
        memset(reinterpret_cast<void*>(g_clean_hi), 0, b - g_clean_hi);
    // Keep the larger clean side.
    uint64_t left = a > g_clean_lo ? a - g_clean_lo : 0;
    uint64_t right = g_clean_hi > b ? g_clean_hi - b : 0;
    if (left >= right)
        g_clean_hi = a > g_clean_lo ? a : g_clean_lo;
    else
        g_clean_lo = b < g_clean_hi ? b : g_clean_hi;
    return true;
}

bool range_free(uint64_t a, uint64_t b) {
    for (int i = 0; i < g_nfree; ++i)
        if (g_free[i].start <= a && b <= g_free[i].end)
            return true;
    return false;
}

// Remove [a,b) from the free list (parts already in use are ignored).
bool take(uint64_t a, uint64_t b) {
    for (int i = 0; i < g_nfree; ++i) {
        Extent& e = g_free[i];
        if (e.end <= a || e.start >= b)
            continue;
        if (e.start < a && e.end > b) {  // split in two
            if (g_nfree == kMaxExtents)
                return false;
            memmove(&g_free[i + 2], &g_free[i + 1], sizeof(Extent) * (g_nfree - i - 1));
            g_free[i + 1] = {b, e.end};
            e.end = a;
            ++g_nfree;
            return true;
        }
        if (e.start < a) {
            e.end = a;
        } else if (e.end > b) {
            e.start = b;
        } else {  // fully covered: drop it
            memmove(&g_free[i], &g_free[i + 1], sizeof(Extent) * (g_nfree - i - 1));
            --g_nfree;
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
    while (i < g_nfree && g_free[i].end < a)
        ++i;
    bool merge_left = i < g_nfree && g_free[i].end == a;
    if (merge_left) {
        g_free[i].end = b;
        if (i + 1 < g_nfree && g_free[i + 1].start == b) {
            g_free[i].end = g_free[i + 1].end;
            memmove(&g_free[i + 1], &g_free[i + 2], sizeof(Extent) * (g_nfree - i - 2));
            --g_nfree;
        }
        return true;
    }
    if (i < g_nfree && g_free[i].start == b) {
        g_free[i].start = a;
        return true;
    }
    if (g_nfree == kMaxExtents)
        return false;
    memmove(&g_free[i + 1], &g_free[i], sizeof(Extent) * (g_nfree - i));
    g_free[i] = {a, b};
    ++g_nfree;
    return true;
}

uint64_t free_bytes_in(uint64_t a, uint64_t b) {
    uint64_t n = 0;
    for (int i = 0; i < g_nfree; ++i) {
        uint64_t s = g_free[i].start > a ? g_free[i].start : a;
        uint64_t e = g_free[i].end < b ? g_free[i].end : b;
        if (s < e)
            n += e - s;
    }
    return n;
}

// Highest free range of `len` bytes that lies above the program break.
uint64_t find_top_down(uint64_t len) {
    for (int i = g_nfree - 1; i >= 0; --i) {
        uint64_t lo = g_free[i].start > g_brk ? g_free[i].start : page_up(g_brk);
        if (g_free[i].end > lo && g_free[i].end - lo >= len)
            return g_free[i].end - len;
    }
    return 0;
}

}  // namespace

void memory_init(uint64_t heap_lo, uint64_t heap_hi) {
    g_lo = page_up(heap_lo);
    g_hi = heap_hi & ~(kPage - 1);
    g_nfree = 0;
    if (g_hi > g_lo)
        g_free[g_nfree++] = {g_lo, g_hi};
    g_brk_start = g_brk = g_lo;
    g_clean_lo = g_lo;
    g_clean_hi = g_hi;
    g_used = 0;
    g_ram_low_end = boot().ram_low_end;
    g_ram_high_start = boot().ram_high_start;
}

uint64_t mem_used() { return g_used; }

uint64_t mem_brk(uint64_t new_brk) {
    if (new_brk < g_brk_start || new_brk > g_hi)
        return g_brk;
    uint64_t old_top = page_up(g_brk), new_top = page_up(new_brk);
    if (new_top > old_top) {
        if (!range_free(old_top, new_top))
            return g_brk;  // would run into an mmap: refuse, as Linux does
        if (!ensure_backed(old_top, new_top))
            return g_brk;
        take(old_top, new_top);
        prepare(old_top, new_top);
        g_used += new_top - old_top;
    } else if (new_top < old_top) {
        give(new_top, old_top);
        g_used -= old_top - new_top;
    }
    g_brk = new_brk;
    return g_brk;
}

long mem_mmap(uint64_t addr, uint64_t len, int prot, int flags) {
    (void)prot;
    if (len == 0)
        return -err::kInval;
    if (!(flags & kMapAnonymous))
        return -err::kNoDev;  // file mappings arrive with the filesystem
    if (!(flags & (kMapShared | kMapPrivate)))
        return -err::kInval;
    if (len > g_hi - g_lo)
        return -err::kNoMem;
    len = page_up(len);
    bool fixed = flags & (kMapFixed | kMapFixedNoreplace);
    if (fixed) {
        if (addr & (kPage - 1))
            return -err::kInval;
        if (addr < g_lo || addr > g_hi || len > g_hi - addr)
            return -err::kNoMem;
        if ((flags & kMapFixedNoreplace) && !range_free(addr, addr + len))
            return -err::kExist;
        uint64_t newly = free_bytes_in(addr, addr + len);
        if (!ensure_backed(addr, addr + len) || !take(addr, addr + len))
            return -err::kNoMem;
        prepare(addr, addr + len);  // MAP_FIXED replaces: the new mapping reads as zero
        g_used += newly;
        return static_cast<long>(addr);
    }
    uint64_t at = 0;
    if (addr && !(addr & (kPage - 1)) && addr >= g_lo && addr <= g_hi && len <= g_hi - addr &&
        addr >= page_up(g_brk) && range_free(addr, addr + len))
        at = addr;  // honour a usable hint
    if (!at)
        at = find_top_down(len);
    if (!at)
        return -err::kNoMem;
    if (!ensure_backed(at, at + len) || !take(at, at + len))
        return -err::kNoMem;
    prepare(at, at + len);
    g_used += len;
    return static_cast<long>(at);
}

long mem_munmap(uint64_t addr, uint64_t len) {
    if ((addr & (kPage - 1)) || len == 0)
        return -err::kInval;
    uint64_t end = addr + page_up(len);
    if (end < addr)
        return -err::kInval;
    // Only the managed range can be returned; unmapping elsewhere is a no-op.
    uint64_t a = addr < g_lo ? g_lo : addr, b = end > g_hi ? g_hi : end;
    if (a >= b)
        return 0;
    uint64_t was_free = free_bytes_in(a, b);
    if (!give(a, b))
        return -err::kNoMem;
    g_used -= (b - a) - was_free;
    return 0;
}

long mem_mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr) {
    if ((old_addr & (kPage - 1)) || new_len == 0 || (flags & ~(kMremapMaymove | kMremapFixed)))
        return -err::kInval;
    if (flags & kMremapFixed)
        return -err::kInval;  // not used by libc's realloc; refuse rather than half-implement
    (void)new_addr;
    old_len = page_up(old_len);
    new_len = page_up(new_len);
    if (old_addr < g_lo || old_addr + old_len > g_hi)
        return -err::kFault;
    if (new_len <= old_len) {
        if (new_len < old_len)
            mem_munmap(old_addr + new_len, old_len - new_len);
        return static_cast<long>(old_addr);
    }
    uint64_t grow_a = old_addr + old_len, grow_b = old_addr + new_len;
    if (grow_b <= g_hi && grow_b > grow_a && range_free(grow_a, grow_b)) {
        if (!ensure_backed(grow_a, grow_b))
            return -err::kNoMem;
        take(grow_a, grow_b);
        prepare(grow_a, grow_b);
        g_used += grow_b - grow_a;
        return static_cast<long>(old_addr);
    }
    if (!(flags & kMremapMaymove))
        return -err::kNoMem;
    long moved = mem_mmap(0, new_len, 3, kMapPrivate | kMapAnonymous);
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
    if (!user_range_ok(addr, len))
        return -err::kNoMem;
    return 0;  // protections are not enforced inside the VM (see memory.hpp)
}

}  // namespace lightvm::guest

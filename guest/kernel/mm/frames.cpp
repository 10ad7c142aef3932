#include "kernel/mm/frames.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/layout.hpp"

namespace lightvm::guest {

uint64_t g_physmap = abi::kPhysMapBase;
uint64_t g_physmap_size;

namespace {

constexpr uint32_t kNone = 0xffffffff;
constexpr uint8_t kFree = 1;   // head of a block on a free list
constexpr uint8_t kDirty = 2;  // (free block) may hold old data: zero on reuse

struct FrameInfo {
    uint32_t next, prev;  // free list links (frame indices)
    uint16_t refs;        // head of an allocated block: mappings of it
    uint8_t order;        // head: block order
    uint8_t flags;
};
static_assert(sizeof(FrameInfo) == 12);

struct Pool {
    uint64_t base;       // gpa of frame 0
    uint32_t count;      // frames in the pool
    uint32_t bump;       // frames [bump, count) were never handed out: zero
    uint32_t used;       // frames handed out
    uint32_t dirty;      // free frames that hold old data (kDirty blocks): host memory in use
    uint32_t head[kMaxOrder + 1];
    FrameInfo* info;     // metadata, through the physmap
} g;

uint64_t g_low_end, g_high_start;  // RAM the monitor backs (HcMemGrow)

bool ensure_backed(uint64_t a, uint64_t b) {
    if (b <= g_low_end || a >= g_high_start)
        return true;
    volatile abi::HcMemGrow hc{a, b, 0, 0, 0};
    hypercall(abi::kHcMemGrow, &hc);
    if (hc.result < 0)
        return false;
    g_low_end = hc.low_end;
    g_high_start = hc.high_start;
    return b <= g_low_end || a >= g_high_start;
}

uint64_t gpa_of(uint32_t i) { return g.base + uint64_t(i) * kPage; }

// Free memory that keeps its host pages, for reuse without a host fault:
// up to 1/8 of the pool, at least 32 MiB. Beyond that, whole free 2 MiB
// blocks go back to the host, one exit each (docs/design.md "Guest RAM").
uint32_t keep_dirty() {
    const uint32_t floor = static_cast<uint32_t>((32ull << 20) / kPage);
    return g.count / 8 > floor ? g.count / 8 : floor;
}

bool release(uint32_t i, unsigned order) {
    volatile abi::HcMemRelease hc{gpa_of(i), gpa_of(i + (1u << order)), 0};
    hypercall(abi::kHcMemRelease, &hc);
    return hc.result == 0;
}
void* ptr_of(uint32_t i) { return phys_to_virt(gpa_of(i)); }

void list_push(unsigned order, uint32_t i, uint8_t flags) {
    if (flags & kDirty)
        g.dirty += 1u << order;
    FrameInfo& f = g.info[i];
    f.order = static_cast<uint8_t>(order);
    f.flags = kFree | flags;
    f.refs = 0;
    f.prev = kNone;
    f.next = g.head[order];
    if (f.next != kNone)
        g.info[f.next].prev = i;
    g.head[order] = i;
}

void list_remove(unsigned order, uint32_t i) {
    FrameInfo& f = g.info[i];
    if (f.flags & kDirty)
        g.dirty -= 1u << order;
    if (f.prev != kNone)
        g.info[f.prev].next = f.next;
    else
        g.head[order] = f.next;
    if (f.next != kNone)
        g.info[f.next].prev = f.prev;
    f.flags &= static_cast<uint8_t>(~kFree);
}

// Frees block i of `order`, merging with free buddies. Only frames below
// the bump pointer have metadata worth reading.
void free_block(uint32_t i, unsigned order, uint8_t dirty) {
    while (order < kMaxOrder) {
        uint32_t buddy = i ^ (1u << order);
        if (buddy + (1u << order) > g.bump)
            break;
        FrameInfo& b = g.info[buddy];
        if (!(b.flags & kFree) || b.order != order)
            break;
        dirty |= b.flags & kDirty;
        list_remove(order, buddy);
        i &= ~(1u << order);
        ++order;
    }
    if (order == kMaxOrder && (dirty & kDirty) && g.dirty + (1u << order) > keep_dirty() && release(i, order))
        dirty = 0;  // the host took it back: zeros from now on
    list_push(order, i, dirty);
}

// Takes 2^order never-used frames from the bump region, aligned to their
// size; the frames skipped for alignment go to the free lists (clean).
bool take_from_bump(unsigned order, uint32_t* out) {
    uint32_t size = 1u << order;
    uint32_t at = (g.bump + size - 1) & ~(size - 1);
    if (at + uint64_t(size) > g.count)
        return false;
    if (!ensure_backed(g.base, gpa_of(at + size)))
        return false;
    while (g.bump < at) {  // fill the gap with the largest aligned blocks
        unsigned o = 0;
        while (o < kMaxOrder && (g.bump & ((2u << o) - 1)) == 0 && g.bump + (2u << o) <= at)
            ++o;
        uint32_t b = g.bump;
        g.bump += 1u << o;
        list_push(o, b, 0);
    }
    g.bump = at + size;
    *out = at;
    return true;
}

bool take_block(unsigned order, uint32_t* out, bool* dirty) {
    for (unsigned o = order; o <= kMaxOrder; ++o) {
        uint32_t i = g.head[o];
        if (i == kNone)
            continue;
        *dirty = g.info[i].flags & kDirty;
        list_remove(o, i);
        while (o > order) {  // split: the upper halves go back
            --o;
            list_push(o, i + (1u << o), *dirty ? kDirty : 0);
        }
        *out = i;
        return true;
    }
    *dirty = false;
    return take_from_bump(order, out);
}

uint32_t index_of(uint64_t gpa) { return static_cast<uint32_t>((gpa - g.base) / kPage); }

}  // namespace

void memory_set_backed(uint64_t low_end, uint64_t high_start) {
    g_low_end = low_end;
    g_high_start = high_start;
}

void frames_init(uint64_t start, uint64_t end) {
    if (!g_physmap_size)
        g_physmap_size = end;
    start = page_up(start);
    end = page_down(end);
    uint64_t pages = end > start ? (end - start) / kPage : 0;
    // Metadata for every frame first; the frames themselves after it,
    // 2 MiB-aligned so that huge blocks are possible.
    uint64_t meta = page_up(pages * sizeof(FrameInfo));
    uint64_t base = (start + meta + kHugePage - 1) & ~(kHugePage - 1);
    g.info = static_cast<FrameInfo*>(phys_to_virt(start));
    g.base = base;
    g.count = base < end ? static_cast<uint32_t>((end - base) / kPage) : 0;
    g.bump = 0;
    g.used = 0;
    g.dirty = 0;
    for (auto& h : g.head)
        h = kNone;
    // Frames skipped for the 2 MiB alignment are given up: fewer than 512.
}

bool frames_limit(uint64_t end) {
    end = page_down(end);
    const uint64_t count = end > g.base ? (end - g.base) / kPage : 0;
    if (count < g.bump)
        return false;
    if (count < g.count)
        g.count = static_cast<uint32_t>(count);
    return true;
}

uint64_t frames_next() { return gpa_of(g.bump); }

namespace {
uint64_t (*g_reclaim)(uint64_t pages);
bool g_reclaiming;
}  // namespace

void frames_set_reclaim(uint64_t (*reclaim)(uint64_t pages)) { g_reclaim = reclaim; }

uint64_t frame_alloc(unsigned order) {
    if (order > kMaxOrder)
        return 0;
    uint32_t i;
    bool dirty;
    if (!take_block(order, &i, &dirty)) {
        // Cached file pages are free memory in waiting, as on Linux.
        if (!g_reclaim || g_reclaiming)
            return 0;
        g_reclaiming = true;
        uint64_t got = g_reclaim(1ull << order);
        g_reclaiming = false;
        if (!got || !take_block(order, &i, &dirty))
            return 0;
    }
    if (dirty)
        memset(ptr_of(i), 0, kPage << order);
    FrameInfo& f = g.info[i];
    f.refs = 1;
    f.order = static_cast<uint8_t>(order);
    f.flags = 0;
    g.used += 1u << order;
    return gpa_of(i);
}

uint64_t frame_alloc_split(unsigned order) {
    uint64_t gpa = frame_alloc(order);
    if (!gpa)
        return 0;
    uint32_t i = index_of(gpa);
    for (uint32_t k = 0; k < (1u << order); ++k) {
        g.info[i + k].refs = 1;
        g.info[i + k].order = 0;
        g.info[i + k].flags = 0;
    }
    return gpa;
}

bool frame_in_pool(uint64_t gpa) { return gpa >= g.base && gpa < gpa_of(g.count); }

void frame_ref(uint64_t gpa) {
    if (frame_in_pool(gpa))
        g.info[index_of(gpa)].refs++;
}

uint32_t frame_refs(uint64_t gpa) { return frame_in_pool(gpa) ? g.info[index_of(gpa)].refs : 0; }

void frame_unref(uint64_t gpa) {
    if (!frame_in_pool(gpa))
        return;
    uint32_t i = index_of(gpa);
    FrameInfo& f = g.info[i];
    if (f.refs == 0 || --f.refs != 0)
        return;
    unsigned order = f.order;
    g.used -= 1u << order;
    free_block(i, order, kDirty);
}

void frame_unref_each(uint64_t gpa, unsigned order) {
    for (uint64_t k = 0; k < (uint64_t{1} << order); ++k)
        frame_unref(gpa + k * kPage);
}

uint64_t frames_total() { return g.count; }
uint64_t frames_free() { return g.count - g.used; }

}  // namespace lightvm::guest

#include "kernel/fs/attr_cache.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint32_t kEntries = 4096;  // power of two
constexpr uint32_t kScratch = 1024;

struct Entry {
    uint64_t hash;
    uint32_t len;
    uint32_t generation;
    Stat st;
};

// Link targets: a smaller direct-mapped table beside the attributes.
constexpr uint32_t kLinks = 1024;  // power of two
constexpr uint32_t kLinkScratch = 64 * 1024;
struct LinkEntry {
    uint64_t hash;
    uint32_t len;
    uint32_t generation;
    uint32_t tlen;
    char target[kLinkMax];
};

Entry* g_table;    // kEntries, from guest RAM on first use
LinkEntry* g_links;  // kLinks, the same
uint8_t* g_link_scratch;
Stat* g_scratch;   // kScratch
uint32_t g_generation = 1;

uint64_t fnv1a(const char* s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; ++i) {
        h ^= static_cast<uint8_t>(s[i]);
        h *= 1099511628211ull;
    }
    return h | 1;  // 0 marks an empty slot
}

bool ensure_table() {
    if (g_table)
        return true;
    g_table = static_cast<Entry*>(kmem_alloc(sizeof(Entry) * kEntries));
    if (!g_table)
        return false;
    return true;
}

// A name's slot among its kProbe candidates: its own, else a free or
// stale one, else the first (evicted).
constexpr uint32_t kProbe = 4;
LinkEntry* link_slot(uint64_t h, uint32_t len, bool for_put) {
    LinkEntry* spare = nullptr;
    for (uint32_t k = 0; k < kProbe; ++k) {
        LinkEntry& e = g_links[(h + k) & (kLinks - 1)];
        if (e.hash == h && e.len == len)
            return &e;
        if (!spare && (!e.hash || e.generation != g_generation))
            spare = &e;
    }
    return for_put ? (spare ? spare : &g_links[h & (kLinks - 1)]) : nullptr;
}

}  // namespace

Stat* attr_scratch(uint32_t* capacity) {
    if (!g_scratch) {
        g_scratch = static_cast<Stat*>(kmem_alloc(sizeof(Stat) * kScratch));
        if (!g_scratch)
            return nullptr;
    }
    *capacity = kScratch;
    return g_scratch;
}

uint8_t* attr_link_scratch(uint32_t* capacity) {
    if (!g_link_scratch && !(g_link_scratch = static_cast<uint8_t*>(kmem_alloc(kLinkScratch))))
        return nullptr;
    *capacity = kLinkScratch;
    return g_link_scratch;
}

void attr_put_link(const char* path, size_t len, const char* target, size_t tlen) {
    if (tlen > kLinkMax)
        return;
    if (!g_links && !(g_links = static_cast<LinkEntry*>(kmem_alloc(sizeof(LinkEntry) * kLinks))))
        return;
    uint64_t h = fnv1a(path, len);
    LinkEntry& e = *link_slot(h, static_cast<uint32_t>(len), true);
    e.hash = h;
    e.len = static_cast<uint32_t>(len);
    e.generation = g_generation;
    e.tlen = static_cast<uint32_t>(tlen);
    memcpy(e.target, target, tlen);
}

long attr_get_link(const char* path, size_t len, char* out, size_t cap) {
    if (!g_links)
        return -1;
    const LinkEntry* e = link_slot(fnv1a(path, len), static_cast<uint32_t>(len), false);
    if (!e || e->generation != g_generation)
        return -1;
    size_t n = e->tlen < cap ? e->tlen : cap;
    memcpy(out, e->target, n);
    return static_cast<long>(n);
}

void attr_put(const char* path, size_t len, const Stat& st) {
    if (st.nlink == 0 || !ensure_table())
        return;  // nlink 0: the monitor could not stat it
    uint64_t h = fnv1a(path, len);
    Entry& e = g_table[h & (kEntries - 1)];  // direct-mapped: a collision just evicts
    e.hash = h;
    e.len = static_cast<uint32_t>(len);
    e.generation = g_generation;
    memcpy(&e.st, &st, sizeof st);
}

bool attr_get(const char* path, size_t len, Stat* out) {
    if (!g_table)
        return false;
    uint64_t h = fnv1a(path, len);
    const Entry& e = g_table[h & (kEntries - 1)];
    if (e.hash != h || e.len != len || e.generation != g_generation)
        return false;
    memcpy(out, &e.st, sizeof e.st);
    return true;
}

void attr_invalidate() { g_generation++; }

void attr_forget(const char* path, size_t len) {
    if (!g_table)
        return;
    for (int pass = 0; pass < 2; ++pass) {
        uint64_t h = fnv1a(path, len);
        Entry& e = g_table[h & (kEntries - 1)];
        if (e.hash == h && e.len == len)
            e.hash = 0;
        if (LinkEntry* l = g_links ? link_slot(h, static_cast<uint32_t>(len), false) : nullptr)
            l->hash = 0;
        while (len > 1 && path[len - 1] != '/')  // then the parent
            --len;
        if (len > 1)
            --len;
    }
}

}  // namespace lightvm::guest

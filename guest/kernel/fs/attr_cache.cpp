#include "kernel/fs/attr_cache.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// A kFsListTree reply lists up to ~5,000 names ahead of the walk that
// reads them, and a walk returns to a parent's names after a whole
// subtree: 16 Ki entries (2.8 MiB of guest RAM, taken on first use) in
// buckets of four keep a `find` over /usr/share from re-asking (design.md).
constexpr uint32_t kEntries = 16384;  // power of two
constexpr uint32_t kScratch = 1024;

struct Entry {
    uint64_t hash;
    uint32_t len;
    uint32_t generation;
    uint64_t at;  // monotonic ns when it was put: expiry (kTrustNs), and the oldest goes first
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

// kEntries in chunks (kmem blocks are at most 2 MiB), from guest RAM on first use.
constexpr uint32_t kChunk = 4096;
Entry* g_chunks[kEntries / kChunk];  // allocated in order: the last one set means all are
LinkEntry* g_links;  // kLinks, the same
uint8_t* g_link_scratch;
Stat* g_scratch;   // kScratch
uint32_t g_generation = 1;


bool table_ready() { return g_chunks[kEntries / kChunk - 1] != nullptr; }

bool ensure_table() {
    for (Entry*& c : g_chunks)
        if (!c && !(c = static_cast<Entry*>(kmem_alloc(sizeof(Entry) * kChunk))))
            return false;
    return true;
}

Entry& entry(uint64_t i) {
    i &= kEntries - 1;
    return g_chunks[i / kChunk][i % kChunk];
}

constexpr uint32_t kProbe = 4;
// A name lives in one of two 4-entry buckets chosen by different bits of
// its hash (two-choice hashing: with 10,000 names in the table, a single
// probe run of four evicted ~4 % of them before they were read).
Entry* attr_slot(uint64_t h, uint32_t len, bool for_put) {
    Entry* spare = nullptr;
    Entry* oldest = nullptr;
    const uint64_t buckets[2] = {h & ~uint64_t{3}, (h >> 29) & ~uint64_t{3}};
    for (uint64_t b : buckets) {
        for (uint32_t k = 0; k < kProbe; ++k) {
            Entry& e = entry(b + k);
            if (e.hash == h && e.len == len)
                return &e;
            if (!spare && (!e.hash || e.generation != g_generation))
                spare = &e;
            if (!oldest || e.at < oldest->at)
                oldest = &e;
        }
    }
    // All eight live: the one put longest ago goes (a walk comes back to a
    // parent's names late, but it reads what was listed last soonest).
    return for_put ? (spare ? spare : oldest) : nullptr;
}

// A link's slot among its kProbe candidates: its own, else a free or
// stale one, else the first (evicted).
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
    uint64_t h = name_hash(path, len);
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
    const LinkEntry* e = link_slot(name_hash(path, len), static_cast<uint32_t>(len), false);
    if (!e || e->generation != g_generation)
        return -1;
    size_t n = e->tlen < cap ? e->tlen : cap;
    memcpy(out, e->target, n);
    return static_cast<long>(n);
}

void attr_put(const char* path, size_t len, const Stat& st) {
    if (st.nlink == 0 || !ensure_table())
        return;  // nlink 0: the monitor could not stat it
    uint64_t h = name_hash(path, len);
    Entry& e = *attr_slot(h, static_cast<uint32_t>(len), true);
    e.hash = h;
    e.len = static_cast<uint32_t>(len);
    e.generation = g_generation;
    e.at = monotonic_ns();
    memcpy(&e.st, &st, sizeof st);
}

bool attr_get(const char* path, size_t len, Stat* out) {
    if (!table_ready())
        return false;
    const Entry* e = attr_slot(name_hash(path, len), static_cast<uint32_t>(len), false);
    if (!e || e->generation != g_generation || monotonic_ns() - e->at > kTrustNs)
        return false;
    memcpy(out, &e->st, sizeof e->st);
    return true;
}

void attr_invalidate() { g_generation++; }
uint32_t attr_generation() { return g_generation; }

void attr_forget(const char* path, size_t len) {
    if (!table_ready())
        return;
    for (int pass = 0; pass < 2; ++pass) {
        uint64_t h = name_hash(path, len);
        if (Entry* e = attr_slot(h, static_cast<uint32_t>(len), false))
            e->hash = 0;
        if (LinkEntry* l = g_links ? link_slot(h, static_cast<uint32_t>(len), false) : nullptr)
            l->hash = 0;
        len = parent_len(path, len);
    }
}

uint64_t name_hash(const char* s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; ++i) {
        h ^= static_cast<uint8_t>(s[i]);
        h *= 1099511628211ull;
    }
    return h | 1;
}

size_t parent_len(const char* path, size_t len) {
    while (len > 1 && path[len - 1] != '/')
        --len;
    return len > 1 ? len - 1 : len;
}

}  // namespace lightvm::guest

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

Entry* g_table;    // kEntries, from guest RAM on first use
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
        while (len > 1 && path[len - 1] != '/')  // then the parent
            --len;
        if (len > 1)
            --len;
    }
}

}  // namespace lightvm::guest

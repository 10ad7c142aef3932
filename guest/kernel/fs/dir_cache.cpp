#include "kernel/fs/dir_cache.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/attr_cache.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/open_file.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// Listings are copied into a ring (the reply's stats go to the attribute
// cache); an index slot is valid while its generation is the attribute
// cache's and the ring has not come round over its bytes.
constexpr uint64_t kRing = 1024 * 1024;  // two replies' listings
constexpr uint32_t kSlots = 8192;  // power of two; a reply has up to ~800 directories
constexpr uint32_t kProbe = 4;
// Prefetch budget beyond the asked-for directory: small for a lone `ls`,
// growing fourfold while the walk keeps opening what was fetched ahead.
constexpr uint64_t kMinBudget = 16 * 1024;

struct Slot {
    uint64_t hash;
    uint64_t pos;  // in the ring's endless byte count
    uint32_t len;
    uint32_t bytes;
    uint32_t generation;
    uint64_t at;  // monotonic ns when it was fetched (attr_cache.hpp kTrustNs)
};

Slot* g_slots;
uint8_t* g_ring;
uint64_t g_head;  // next byte of the ring to write (endless count)
uint8_t* g_reply;
uint64_t g_budget = kMinBudget;
uint32_t g_hits;  // listings adopted since the last fetch (its own directory's is one)


bool live(const Slot& s) {
    return s.hash && s.generation == attr_generation() && g_head - s.pos <= kRing && monotonic_ns() - s.at <= kTrustNs;
}

Slot* slot_for(uint64_t h, uint32_t len, bool for_put) {
    if (!g_slots)
        return nullptr;
    Slot* spare = nullptr;
    Slot* oldest = nullptr;
    for (uint32_t k = 0; k < kProbe; ++k) {
        Slot& s = g_slots[(h + k) & (kSlots - 1)];
        if (s.hash == h && s.len == len)
            return &s;
        if (!spare && !live(s))
            spare = &s;
        if (!oldest || s.pos < oldest->pos)
            oldest = &s;
    }
    return for_put ? (spare ? spare : oldest) : nullptr;
}

bool ensure_memory() {
    if (!g_slots)
        g_slots = static_cast<Slot*>(kmem_alloc(sizeof(Slot) * kSlots));
    if (!g_ring)
        g_ring = static_cast<uint8_t*>(kmem_alloc(kRing));
    if (!g_reply)
        g_reply = static_cast<uint8_t*>(kmem_alloc(abi::kMaxTreeBytes));
    return g_slots && g_ring && g_reply;
}

void store_listing(const char* path, size_t len, const uint8_t* records, uint32_t bytes) {
    if (bytes > kRing / 4)
        return;  // a huge directory: read from the host
    if (g_head % kRing + bytes > kRing)
        g_head += kRing - g_head % kRing;  // never wrap inside a listing
    Slot* s = slot_for(name_hash(path, len), static_cast<uint32_t>(len), true);
    memcpy(g_ring + g_head % kRing, records, bytes);
    *s = Slot{name_hash(path, len), g_head, static_cast<uint32_t>(len), bytes, attr_generation(), monotonic_ns()};
    g_head += (bytes + 7) & ~uint32_t{7};
}

uint64_t pad8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// One FsTreeDir block: its listing, its names' attributes and link
// targets under dir/NAME. False when the block is malformed.
bool take_block(const uint8_t* p, uint64_t left, char* dir, size_t base_len, uint64_t* used) {
    abi::FsTreeDir h;
    if (left < sizeof h)
        return false;
    memcpy(&h, p, sizeof h);
    uint64_t need = sizeof h + pad8(h.path_len) + uint64_t{h.records} * sizeof(Stat) + h.dirent_bytes + pad8(h.link_bytes);
    if (need > left || h.path_len >= abi::kMaxPath)
        return false;
    size_t dlen = base_len;
    if (h.path_len) {
        if (base_len + 1 + h.path_len >= abi::kMaxPath)
            return false;
        if (base_len > 1)
            dir[dlen++] = '/';
        memcpy(dir + dlen, p + sizeof h, h.path_len);
        dlen += h.path_len;
    }
    dir[dlen] = 0;
    const Stat* stats = reinterpret_cast<const Stat*>(p + sizeof h + pad8(h.path_len));
    const uint8_t* records = reinterpret_cast<const uint8_t*>(stats + h.records);
    dir_remember_names(dir, dlen, records, h.dirent_bytes, stats, h.records, records + h.dirent_bytes, h.link_bytes);
    store_listing(dir, dlen, records, h.dirent_bytes);
    *used = need;
    return true;
}

}  // namespace

// Each entry's attributes (and symlink target) under its absolute guest
// path: the stat/lstat/readlink that follow a listing cost no exit.
void dir_remember_names(const char* dir, size_t dlen, const uint8_t* records, uint64_t n, const Stat* stats,
                        uint32_t cap, const uint8_t* links, uint64_t links_len) {
    static char path[abi::kMaxPath];
    memcpy(path, dir, dlen);
    size_t base = dlen == 1 ? 1 : dlen + 1;
    path[base - 1] = '/';
    uint64_t off = 0, link_off = 0;
    abi::FsLinkRecord link{};
    auto next_link = [&] {  // symlink targets, in record order (abi.h kFsOptLinks)
        link.index = ~0u;
        if (!links || link_off + sizeof link > links_len)
            return;
        memcpy(&link, links + link_off, sizeof link);
        if (link.len > links_len - link_off - sizeof link)
            link.index = ~0u;  // malformed: the rest is ignored
    };
    next_link();
    for (uint32_t i = 0; off + offsetof(linux_dirent64, d_name) < n && i < cap; ++i) {
        const uint8_t* rec = records + off;
        uint16_t reclen;
        memcpy(&reclen, rec + offsetof(linux_dirent64, d_reclen), 2);
        if (reclen <= offsetof(linux_dirent64, d_name) || off + reclen > n)
            break;
        const char* name = reinterpret_cast<const char*>(rec + offsetof(linux_dirent64, d_name));
        size_t nlen = 0;
        while (nlen < reclen - offsetof(linux_dirent64, d_name) && name[nlen])
            ++nlen;
        bool dots = (nlen == 1 && name[0] == '.') || (nlen == 2 && name[0] == '.' && name[1] == '.');
        if (!dots && base + nlen < sizeof path) {
            memcpy(path + base, name, nlen);
            attr_put(path, base + nlen, stats[i]);
            if (link.index == i && (stats[i].mode & S_IFMT) == S_IFLNK)
                attr_put_link(path, base + nlen, reinterpret_cast<const char*>(links + link_off + sizeof link), link.len);
        }
        if (link.index == i) {
            link_off += sizeof link + link.len;
            next_link();
        }
        off += reclen;
    }
}

const uint8_t* dir_cache_find(const char* path, size_t len, uint32_t* bytes) {
    const Slot* s = slot_for(name_hash(path, len), static_cast<uint32_t>(len), false);
    if (!s || !live(*s))
        return nullptr;
    *bytes = s->bytes;
    return g_ring + s->pos % kRing;
}

namespace {

// The last walk that stopped before its end (its budget ran out): a miss
// below its root resumes it there, so the directories after the miss in
// walk order (the siblings that follow, and theirs) come in the same exit.
struct Walk {
    char root[abi::kMaxPath];
    size_t len;
    uint32_t share;
    uint16_t rel_at;
    bool open;
};
Walk g_walk;

bool under_walk(const OpenFile* f, size_t len) {
    return g_walk.open && f->share == g_walk.share && len > g_walk.len &&
           memcmp(f->path, g_walk.root, g_walk.len) == 0 && (g_walk.len == 1 || f->path[g_walk.len] == '/');
}

// Stores the reply's blocks under base (the walk's root). Whether path is now cached.
bool take_reply(long n, uint64_t blocks, const char* base, size_t base_len, const char* path, size_t len) {
    if (n <= 0 || static_cast<uint64_t>(n) > abi::kMaxTreeBytes || base_len >= abi::kMaxPath)
        return false;
    static char dir[abi::kMaxPath];
    memcpy(dir, base, base_len);
    uint64_t off = 0, used = 0;
    for (uint64_t b = 0; b < blocks && off < static_cast<uint64_t>(n); ++b, off += used)
        if (!take_block(g_reply + off, static_cast<uint64_t>(n) - off, dir, base_len, &used))
            break;
    uint32_t bytes;
    return dir_cache_find(path, len, &bytes) != nullptr;
}

bool fetch_resumed(OpenFile* f, size_t len) {
    abi::HcFs req = fs_request(abi::kFsListTree);
    req.share = g_walk.share;
    req.path = kernel_to_gpa(g_walk.root + g_walk.rel_at);
    req.path_len = g_walk.len - g_walk.rel_at;
    size_t skip = g_walk.len == 1 ? 1 : g_walk.len + 1;
    req.path2 = kernel_to_gpa(f->path + skip);
    req.path2_len = len - skip;
    req.buf = kernel_to_gpa(g_reply);
    req.len = abi::kMaxTreeBytes;
    long n = fs_call(req);
    if (n <= 0)
        return false;
    g_walk.open = !(req.aux & abi::kFsTreeEnded);
    return take_reply(n, req.aux & ~abi::kFsTreeEnded, g_walk.root, g_walk.len, f->path, len);
}

}  // namespace

bool dir_cache_fetch(OpenFile* f) {
    if (!f->path || f->handle == abi::kNoHandle || !ensure_memory())
        return false;
    size_t len = strlen(f->path);
    g_budget = g_hits > 1 ? (g_budget * 4 < abi::kMaxTreeBytes ? g_budget * 4 : abi::kMaxTreeBytes) : kMinBudget;
    g_hits = 0;
    if (under_walk(f, len) && fetch_resumed(f, len))
        return true;
    abi::HcFs req = fs_request(abi::kFsListTree);
    req.handle = f->handle;
    req.buf = kernel_to_gpa(g_reply);
    req.len = abi::kMaxTreeBytes;
    req.offset = static_cast<int64_t>(g_budget);
    long n = fs_call(req);
    if (n > 0 && !under_walk(f, len) && len < abi::kMaxPath) {  // a new walk starts here
        memcpy(g_walk.root, f->path, len + 1);
        g_walk.len = len;
        g_walk.share = f->share;
        g_walk.rel_at = f->rel_at;
        g_walk.open = !(req.aux & abi::kFsTreeEnded);
    }
    return take_reply(n, req.aux & ~abi::kFsTreeEnded, f->path, len, f->path, len);
}

bool dir_listing_adopt(OpenFile* f) {
    uint32_t bytes = 0;
    const uint8_t* l = f->path ? dir_cache_find(f->path, strlen(f->path), &bytes) : nullptr;
    if (!l)
        return false;
    uint8_t* copy = static_cast<uint8_t*>(kmem_alloc(bytes ? bytes : 1));
    if (!copy)
        return false;
    memcpy(copy, l, bytes);
    f->listing = copy;
    f->listing_len = bytes;
    f->offset = 0;
    g_hits++;
    return true;
}

long dir_listing_read(OpenFile* f, uint64_t user_buf, uint64_t len) {
    uint64_t start = f->offset, end = start;
    while (end + offsetof(linux_dirent64, d_name) < f->listing_len) {
        uint16_t reclen;
        memcpy(&reclen, f->listing + end + offsetof(linux_dirent64, d_reclen), 2);
        if (reclen <= offsetof(linux_dirent64, d_name) || end + reclen > f->listing_len || end + reclen - start > len)
            break;
        end += reclen;
    }
    if (end == start && end + offsetof(linux_dirent64, d_name) < f->listing_len)
        return -err::kInval;  // Linux: the buffer cannot hold the next record
    if (end > start && copy_to_user(user_buf, f->listing + start, end - start) < 0)
        return -err::kFault;
    f->offset = end;
    return static_cast<long>(end - start);
}

void dir_listing_drop(OpenFile* f) {
    if (!f->listing)
        return;
    kmem_free(f->listing, f->listing_len ? f->listing_len : 1);
    f->listing = nullptr;
    f->listing_len = 0;
    f->offset = 0;
}

long share_dir_handle(OpenFile* f) {
    if (f->handle != abi::kNoHandle)
        return f->handle;
    if (!f->path)
        return -err::kBadF;
    size_t len = strlen(f->path);
    abi::HcFs req = fs_request(abi::kFsOpen);
    req.share = f->share;
    req.path = kernel_to_gpa(f->path + f->rel_at);
    req.path_len = len - f->rel_at;
    req.flags = O_RDONLY | O_DIRECTORY;
    long h = fs_call(req);
    if (h < 0)
        return h == -abi::kFsRedirect ? -err::kNoEnt : h;
    f->handle = static_cast<uint32_t>(h);
    return h;
}

void dir_cache_forget(const char* path, size_t len) {
    attr_forget(path, len);
    for (int pass = 0; pass < 2; ++pass, len = parent_len(path, len))  // the name, then its parent
        if (Slot* s = slot_for(name_hash(path, len), static_cast<uint32_t>(len), false))
            s->hash = 0;
}

}  // namespace lightvm::guest

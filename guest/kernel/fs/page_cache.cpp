#include "kernel/fs/page_cache.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint32_t kFiles = 128;
constexpr uint64_t kMaxPages = (64ull << 20) / kPage;  // larger files are copied per mapping
constexpr uint32_t kHandles = 4096;                     // the monitor's limit (devices/fs.hpp)
constexpr uint16_t kWriter = 0x8000;                    // in g_handle_file: opened for writing

struct CachedFile {
    bool used;
    uint64_t dev, ino;
    int64_t size, mtime, mtime_ns, ctime, ctime_ns;
    uint32_t opens, writers;
    uint64_t npages;  // pages of `size`
    uint64_t* frames;  // npages entries (0: not cached), kmem; nullptr until the first fill
    uint64_t cached;   // entries != 0
    uint64_t last_use;
};

CachedFile g_files[kFiles];
uint16_t g_handle_file[kHandles];  // 0: none, else index + 1 (| kWriter)
uint64_t g_tick;
PageCacheStats g_stats;
CachedFile* g_filling;  // its pages are not reclaimed while it fills

uint64_t array_bytes(uint64_t npages) { return npages * sizeof(uint64_t); }

// Drops every cached page (mappings keep their own references).
void drop_pages(CachedFile& c) {
    if (!c.frames)
        return;
    for (uint64_t i = 0; i < c.npages; ++i)
        if (c.frames[i])
            frame_unref(c.frames[i]);
    kmem_free(c.frames, array_bytes(c.npages));
    g_stats.pages -= c.cached;
    c.frames = nullptr;
    c.cached = 0;
}

bool same_version(const CachedFile& c, const Stat& st) {
    return c.size == st.size && c.mtime == st.mtime && c.mtime_ns == st.mtime_ns && c.ctime == st.ctime &&
           c.ctime_ns == st.ctime_ns;
}

void set_version(CachedFile& c, const Stat& st) {
    c.size = st.size;
    c.mtime = st.mtime;
    c.mtime_ns = st.mtime_ns;
    c.ctime = st.ctime;
    c.ctime_ns = st.ctime_ns;
    c.npages = (static_cast<uint64_t>(st.size) + kPage - 1) / kPage;
}

// The slot for (dev, ino): the known one, a free one, or the least
// recently used one nobody has open (its pages dropped). nullptr if all
// 128 are open.
CachedFile* slot_for(const Stat& st) {
    CachedFile* victim = nullptr;
    for (CachedFile& c : g_files) {
        if (c.used && c.dev == st.dev && c.ino == st.ino)
            return &c;
        if (!c.used) {
            if (!victim || victim->used)
                victim = &c;
        } else if (c.opens == 0 && (!victim || (victim->used && c.last_use < victim->last_use))) {
            victim = &c;
        }
    }
    if (!victim)
        return nullptr;
    if (victim->used) {
        drop_pages(*victim);
        g_stats.files--;
    }
    *victim = CachedFile{};
    victim->used = true;
    victim->dev = st.dev;
    victim->ino = st.ino;
    set_version(*victim, st);
    g_stats.files++;
    return victim;
}

CachedFile* file_of(uint32_t handle) {
    if (handle >= kHandles || !(g_handle_file[handle] & ~kWriter))
        return nullptr;
    return &g_files[(g_handle_file[handle] & ~kWriter) - 1];
}

// Frees cached pages no mapping uses, least recently used files first,
// until `want` pages are free (the frame allocator's reclaim hook).
uint64_t reclaim(uint64_t want) {
    uint64_t freed = 0;
    bool seen[kFiles] = {};
    while (freed < want) {
        CachedFile* oldest = nullptr;
        for (uint32_t k = 0; k < kFiles; ++k) {
            CachedFile& c = g_files[k];
            if (c.used && c.cached && &c != g_filling && !seen[k] && (!oldest || c.last_use < oldest->last_use))
                oldest = &c;
        }
        if (!oldest)
            break;
        seen[oldest - g_files] = true;
        for (uint64_t i = 0; i < oldest->npages && freed < want; ++i) {
            uint64_t& f = oldest->frames[i];
            if (f && frame_refs(f) == 1) {  // only the cache holds it
                frame_unref(f);
                f = 0;
                oldest->cached--;
                g_stats.pages--;
                ++freed;
            }
        }
    }
    g_stats.reclaimed += freed;
    return freed;
}

unsigned order_for(uint64_t pages) {
    unsigned o = 0;
    while (o < kMaxOrder && (2ull << o) <= pages)
        ++o;
    return o;
}

// Reads pages [first, end) (none cached yet) from the host into new frames.
long fill(CachedFile& c, uint32_t handle, uint64_t first, uint64_t end) {
    g_filling = &c;
    long r = 0;
    for (uint64_t pg = first; pg < end && r >= 0;) {
        unsigned order = order_for(end - pg);
        uint64_t block = 0;
        while (!(block = frame_alloc_split(order)) && order > 0)
            --order;
        if (!block) {
            r = -err::kNoMem;
            break;
        }
        const uint64_t len = kPage << order;
        for (uint64_t done = 0; done < len;) {
            abi::HcFs req = fs_request(abi::kFsRead);
            req.handle = handle;
            req.buf = block + done;
            req.len = len - done;
            req.offset = static_cast<int64_t>(pg * kPage + done);
            long n = fs_call(req);
            if (n <= 0) {
                r = n;  // 0: the file shrank on the host; the rest reads as zero
                break;
            }
            done += static_cast<uint64_t>(n);
        }
        if (r < 0) {
            for (uint64_t k = 0; k < len; k += kPage)
                frame_unref(block + k);
            break;
        }
        for (uint64_t k = 0; k < (1ull << order); ++k)
            c.frames[pg + k] = block + k * kPage;
        c.cached += 1ull << order;
        g_stats.pages += 1ull << order;
        pg += 1ull << order;
        r = 0;
    }
    g_filling = nullptr;
    g_stats.fills++;
    return r;
}

CachedFile* readable(uint32_t handle) {
    CachedFile* c = file_of(handle);
    if (!c || c->writers || c->npages > kMaxPages)
        return nullptr;
    c->last_use = ++g_tick;
    return c;
}

}  // namespace

void page_cache_init() {
    static const HandleObserver observer = {page_cache_opened, page_cache_closed};
    fs_set_handle_observer(&observer);
    frames_set_reclaim(reclaim);
}

void page_cache_opened(uint32_t handle, const Stat& st, bool writable) {
    if (handle >= kHandles || (st.mode & S_IFMT) != S_IFREG)
        return;
    CachedFile* c = slot_for(st);
    if (!c)
        return;
    if (!same_version(*c, st) || writable) {
        drop_pages(*c);
        set_version(*c, st);
    }
    c->opens++;
    if (writable)
        c->writers++;
    c->last_use = ++g_tick;
    g_handle_file[handle] = static_cast<uint16_t>((c - g_files) + 1) | (writable ? kWriter : 0);
}

void page_cache_closed(uint32_t handle) {
    CachedFile* c = file_of(handle);
    if (!c)
        return;
    const bool writer = g_handle_file[handle] & kWriter;
    g_handle_file[handle] = 0;
    c->opens--;
    if (writer) {
        c->writers--;
        drop_pages(*c);  // what the VM wrote is the host's now; the size is unknown until the next open
        c->npages = 0;
        c->size = -1;
    }
}

uint64_t page_cache_frame(uint32_t handle, uint64_t offset, uint64_t ahead, long* err) {
    *err = 0;
    CachedFile* c = readable(handle);
    const uint64_t pg = offset / kPage;
    if (!c)
        return 0;
    if (pg >= c->npages) {
        *err = c->size >= 0 ? kPageCachePastEnd : 0;
        return 0;
    }
    if (!c->frames) {
        c->frames = static_cast<uint64_t*>(kmem_alloc(array_bytes(c->npages)));
        if (!c->frames)
            return 0;
    }
    if (!c->frames[pg]) {
        uint64_t end = pg + (ahead ? ahead : 1);
        end = end < c->npages ? end : c->npages;
        for (uint64_t i = pg + 1; i < end; ++i)
            if (c->frames[i]) {
                end = i;
                break;
            }
        if (long r = fill(*c, handle, pg, end); r < 0) {
            *err = r;
            return 0;
        }
    } else {
        g_stats.hits++;
    }
    frame_ref(c->frames[pg]);
    return c->frames[pg];
}

long page_cache_read(uint32_t handle, void* buf, size_t len, uint64_t offset) {
    CachedFile* c = readable(handle);
    if (!c || !c->frames)
        return -1;
    const uint64_t size = static_cast<uint64_t>(c->size);
    if (offset >= size)
        return -1;  // the host says where the end is now
    uint64_t n = len < size - offset ? len : size - offset;
    for (uint64_t pg = offset / kPage; pg * kPage < offset + n; ++pg)
        if (!c->frames[pg])
            return -1;
    for (uint64_t done = 0; done < n;) {
        uint64_t at = offset + done, in_page = kPage - at % kPage;
        uint64_t k = n - done < in_page ? n - done : in_page;
        memcpy(static_cast<char*>(buf) + done, static_cast<char*>(phys_to_virt(c->frames[at / kPage])) + at % kPage, k);
        done += k;
    }
    g_stats.hits++;
    return static_cast<long>(n);
}

PageCacheStats page_cache_stats() { return g_stats; }

}  // namespace lightvm::guest

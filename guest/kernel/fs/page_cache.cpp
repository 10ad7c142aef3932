#include "kernel/fs/page_cache.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint32_t kFiles = 128;
constexpr uint64_t kMaxPages = (64ull << 20) / kPage;  // larger files are copied per mapping
constexpr uint32_t kHandles = 4096;                     // the monitor's limit (devices/fs.hpp)
constexpr uint16_t kWriter = 0x8000;                    // in g_handle_file: opened for writing
constexpr uint64_t kReadAhead = 512;                    // pages (2 MiB) read on a miss at least

struct CachedFile {
    bool used;
    uint64_t dev, ino;
    int64_t size, mtime, mtime_ns, ctime, ctime_ns;
    uint32_t opens, writers;
    uint64_t npages;  // pages of `size`
    uint64_t* frames;  // npages entries (0: not cached), kmem; nullptr until the first fill
    uint64_t cached;   // entries != 0
    uint64_t last_use;
    uint64_t eof_ns;  // when a fill's short read put the end of the file here
};

// In guest RAM (page_cache_init), not in the kernel image, whose room below
// abi::kKernelLimit is fixed: 128 files, and the handle table (8 KiB).
CachedFile* g_files;
// A guest path each file was opened by ("" if none fits), for /proc: in
// guest RAM on first use, not in the kernel image (which has a fixed room).
using Name = char[kPageCacheNameMax + 1];
Name* g_names;
uint16_t* g_handle_file;  // [kHandles] 0: none, else index + 1 (| kWriter)
uint64_t g_tick;
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
    for (uint32_t k = 0; k < kFiles; ++k) {
        CachedFile& c = g_files[k];
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
    }
    *victim = CachedFile{};
    if (g_names)
        g_names[victim - g_files][0] = 0;
    victim->used = true;
    victim->dev = st.dev;
    victim->ino = st.ino;
    set_version(*victim, st);
    return victim;
}

CachedFile* file_of(uint32_t handle) {
    if (!g_handle_file || handle >= kHandles || !(g_handle_file[handle] & ~kWriter))
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
                ++freed;
            }
        }
    }
    return freed;
}

// Reads pages [first, end) (none cached yet) from the host into new
// frames in one exit: the blocks are allocated first (physically adjacent
// ones merged), then read by one batch of up to kMaxFsBatch requests. May
// stop short of `end` (memory, batch size); page `first` is always done.
long fill(CachedFile& c, uint32_t handle, uint64_t first, uint64_t end) {
    struct Piece {
        uint64_t pg, gpa, pages;
    };
    Piece pieces[abi::kMaxFsBatch];
    uint32_t n = 0;
    uint64_t pg = first;
    g_filling = &c;
    while (pg < end) {
        unsigned order = frame_order_for(end - pg);
        uint64_t block = 0;
        while (!(block = frame_alloc_split(order)) && order > 0)
            --order;
        if (!block)
            break;
        const uint64_t pages = 1ull << order;
        if (n && pieces[n - 1].gpa + pieces[n - 1].pages * kPage == block) {
            pieces[n - 1].pages += pages;
        } else if (n == abi::kMaxFsBatch) {
            for (uint64_t k = 0; k < pages; ++k)
                frame_unref(block + k * kPage);
            break;
        } else {
            pieces[n++] = {pg, block, pages};
        }
        pg += pages;
    }
    g_filling = nullptr;
    if (!n)
        return -err::kNoMem;
    abi::HcFs reqs[abi::kMaxFsBatch];
    for (uint32_t i = 0; i < n; ++i) {
        reqs[i] = fs_request(abi::kFsRead);
        reqs[i].handle = handle;
        reqs[i].buf = pieces[i].gpa;
        reqs[i].len = pieces[i].pages * kPage;
        reqs[i].offset = static_cast<int64_t>(pieces[i].pg * kPage);
        reqs[i].result = -err::kIo;  // a request the monitor did not run caches nothing
    }
    // A short read is the file's end (it shrank on the host): zeros follow.
    long r = n == 1 ? fs_call(reqs[0]) : fs_send_batch(reqs, n);
    for (uint32_t i = 0; i < n && r >= 0; ++i)
        if (reqs[i].result < 0)
            r = reqs[i].result;
    if (r >= 0 && static_cast<uint64_t>(reqs[n - 1].result) < reqs[n - 1].len)
        c.eof_ns = monotonic_ns();
    for (uint32_t i = 0; i < n; ++i) {
        for (uint64_t k = 0; k < pieces[i].pages; ++k) {
            const uint64_t frame = pieces[i].gpa + k * kPage;
            if (r < 0)
                frame_unref(frame);
            else
                c.frames[pieces[i].pg + k] = frame;
        }
        if (r >= 0)
            c.cached += pieces[i].pages;
    }
    return r < 0 ? r : 0;
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
    g_files = static_cast<CachedFile*>(kmem_alloc(sizeof(CachedFile) * kFiles));
    g_handle_file = static_cast<uint16_t*>(kmem_alloc(sizeof(uint16_t) * kHandles));
    if (!g_files || !g_handle_file)
        return;  // no cache: every mapping reads its own copy, as before
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

namespace {

// Page pg of c is cached afterwards (read with up to `ahead` more pages
// on a miss), or *err says why not (0: not cacheable after all).
bool ensure(CachedFile& c, uint32_t handle, uint64_t pg, uint64_t ahead, long* err) {
    if (!c.frames) {
        c.frames = static_cast<uint64_t*>(kmem_alloc(array_bytes(c.npages)));
        if (!c.frames)
            return false;
    }
    if (c.frames[pg])
        return true;
    // Read ahead: ld.so maps a library in 4-5 pieces after reading its
    // first 832 bytes; one exit fills them all (nearly every page of a
    // library is mapped anyway).
    uint64_t end = pg + (ahead > kReadAhead ? ahead : kReadAhead);
    end = end < c.npages ? end : c.npages;
    for (uint64_t i = pg + 1; i < end; ++i)
        if (c.frames[i]) {
            end = i;
            break;
        }
    *err = fill(c, handle, pg, end);
    return *err == 0;
}

}  // namespace

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
    if (!ensure(*c, handle, pg, ahead, err))
        return 0;
    frame_ref(c->frames[pg]);
    return c->frames[pg];
}

long page_cache_read(uint32_t handle, void* buf, size_t len, uint64_t offset, bool fill_missing) {
    CachedFile* c = readable(handle);
    if (!c || c->size < 0 || (!c->frames && !fill_missing))
        return -1;
    const uint64_t size = static_cast<uint64_t>(c->size);
    // At the end: 0 if a fill just saw the end there (readall's last read),
    // else the host says where the end is now (tail -f: it may have grown).
    if (offset == size && c->eof_ns && monotonic_ns() - c->eof_ns < kEofFreshNs)
        return 0;
    if (offset >= size)
        return -1;
    const uint64_t n = len < size - offset ? len : size - offset;
    for (uint64_t pg = offset / kPage; pg * kPage < offset + n; ++pg) {
        long err = 0;
        if (c->frames && c->frames[pg])
            continue;
        if (!fill_missing || !ensure(*c, handle, pg, 0, &err))
            return -1;
    }
    for (uint64_t done = 0; done < n;) {
        uint64_t at = offset + done, in_page = kPage - at % kPage;
        uint64_t k = n - done < in_page ? n - done : in_page;
        memcpy(static_cast<char*>(buf) + done, static_cast<char*>(phys_to_virt(c->frames[at / kPage])) + at % kPage, k);
        done += k;
    }
    return static_cast<long>(n);
}

void page_cache_set_name(uint32_t handle, const char* path, size_t len) {
    CachedFile* c = file_of(handle);
    if (!c || (!g_names && !(g_names = static_cast<Name*>(kmem_alloc(sizeof(Name) * kFiles)))))
        return;
    if (len > kPageCacheNameMax)
        len = 0;  // no name rather than a cut one
    char* name = g_names[c - g_files];
    memcpy(name, path, len);
    name[len] = 0;
}

const char* page_cache_name(uint32_t handle) {
    const CachedFile* c = file_of(handle);
    return c && g_names && g_names[c - g_files][0] ? g_names[c - g_files] : nullptr;
}

}  // namespace lightvm::guest

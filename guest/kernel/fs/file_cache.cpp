#include "kernel/fs/file_cache.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/page_cache.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint64_t kWindow = 256 * 1024;
constexpr uint64_t kDirect = kWindow / 2;  // requests this big go straight through
constexpr int kSlots = 8;

struct Cache {
    OpenFile* owner;      // nullptr once closed: pending data may still wait (orphan)
    uint32_t handle;      // host handle the pending data belongs to
    uint64_t generation;  // read window valid while == g_generation
    uint64_t rd_start, rd_len;
    bool rd_eof;     // the window ends at the file's end (as of its read)
    uint64_t rd_ns;  // when the window was read
    bool dirty;
    bool append;
    uint64_t wr_start, wr_len;
    long error;  // deferred write error
    uint64_t last_use;
    uint8_t* data;  // kWindow bytes, taken from guest RAM on first use (not kernel .bss)
};

Cache g_caches[kSlots];
abi::PendingWrite g_pending[kSlots];  // published in the boot page (abi.h)

void publish(int i) {
    Cache& c = g_caches[i];
    abi::PendingWrite& p = g_pending[i];
    if (!c.dirty) {
        p.len = 0;
        return;
    }
    p.handle = c.handle;
    p.append = c.append ? 1 : 0;
    p.offset = static_cast<int64_t>(c.wr_start);
    p.data = virt_to_gpa(c.data);
    __atomic_store_n(&p.len, c.wr_len, __ATOMIC_RELEASE);
}
int index_of(const Cache& c) { return static_cast<int>(&c - g_caches); }
uint64_t g_generation = 1, g_clock;
bool g_any_dirty;

Cache* find(OpenFile* f) {
    for (auto& c : g_caches)
        if (c.owner == f)
            return &c;
    return nullptr;
}

long send_pending(Cache& c) {
    if (!c.dirty)
        return 0;
    c.dirty = false;
    publish(index_of(c));
    abi::HcFs r = fs_request(abi::kFsWrite);
    r.handle = c.handle;
    r.buf = virt_to_gpa(c.data);
    r.len = c.wr_len;
    r.offset = c.append ? -1 : static_cast<int64_t>(c.wr_start);
    long n = fs_call_raw(r);
    g_generation++;  // every read window may now be stale
    if (n < 0)
        return n;
    if (static_cast<uint64_t>(n) < c.wr_len)
        return -err::kNoSpc;  // the host took only part of it
    return 0;
}

// Frees the least recently used slot (flushing it) for f.
Cache* acquire(OpenFile* f) {
    Cache* c = find(f);
    if (c) {
        c->last_use = ++g_clock;
        return c;
    }
    // A free slot with a buffer, else a free slot, else the least recently used.
    Cache* victim = nullptr;
    for (auto& s : g_caches)
        if (!s.owner && !s.dirty && s.data) {
            victim = &s;
            break;
        }
    for (auto& s : g_caches)
        if (!victim && !s.owner && !s.dirty)
            victim = &s;
    if (!victim) {
        victim = &g_caches[0];
        for (auto& s : g_caches)
            if (s.last_use < victim->last_use)
                victim = &s;
    }
    if (!victim->data) {
        victim->data = static_cast<uint8_t*>(kmem_alloc(kWindow));
        if (!victim->data)
            return nullptr;  // no memory: callers go direct
    }
    if (victim->dirty) {
        long e = send_pending(*victim);
        if (e < 0 && victim->owner)
            victim->owner->deferred_error = e;  // reported by the evicted file's next call
    }
    victim->owner = f;
    victim->handle = f->handle;
    victim->generation = 0;
    victim->rd_len = 0;
    victim->dirty = false;
    victim->error = 0;
    victim->last_use = ++g_clock;
    return victim;
}

void refresh_dirty_flag() {
    g_any_dirty = false;
    for (auto& c : g_caches)
        g_any_dirty |= c.dirty;
}

// One request per physically contiguous piece of the buffer (usually one).
long direct_read(OpenFile* f, void* buf, size_t len, uint64_t off) {
    return for_each_phys(buf, len, [&](uint64_t gpa, uint64_t n) {
        abi::HcFs r = fs_request(abi::kFsRead);
        r.handle = f->handle;
        r.buf = gpa;
        r.len = n;
        r.offset = static_cast<int64_t>(off);
        long got = fs_call(r);
        if (got > 0)
            off += static_cast<uint64_t>(got);
        return got;
    });
}

}  // namespace

void cache_init() {
    sched_set_idle_hook(cache_flush_all);  // an idle guest's files look current from outside
    static const PendingWrites pending = {cache_any_dirty, cache_take_pending, cache_batch_done, cache_flush_all};
    fs_set_pending_writes(&pending);
    boot().pending_writes = kernel_to_gpa(g_pending);
    boot().pending_count = kSlots;
}

long cache_flush(OpenFile* f) {
    Cache* c = find(f);
    long err = f->deferred_error;
    f->deferred_error = 0;
    if (!c)
        return err;
    long e = send_pending(*c);
    refresh_dirty_flag();
    if (e < 0)
        return e;
    if (c->error < 0) {
        e = c->error;
        c->error = 0;
        return e;
    }
    return err;
}

bool cache_any_dirty() { return g_any_dirty; }

uint32_t cache_take_pending(abi::HcFs* out, uint32_t max, int* owners) {
    uint32_t n = 0;
    for (int i = 0; i < kSlots && n < max; ++i) {
        Cache& c = g_caches[i];
        if (!c.dirty)
            continue;
        abi::HcFs r = fs_request(abi::kFsWrite);
        r.handle = c.handle;
        r.buf = virt_to_gpa(c.data);
        r.len = c.wr_len;
        r.offset = c.append ? -1 : static_cast<int64_t>(c.wr_start);
        out[n] = r;
        owners[n++] = i;
    }
    return n;
}

void cache_batch_done(const abi::HcFs* reqs, const int* owners, uint32_t n) {
    for (uint32_t k = 0; k < n; ++k) {
        Cache& c = g_caches[owners[k]];
        c.dirty = false;
        publish(owners[k]);
        if (reqs[k].result < 0)
            c.error = reqs[k].result;
        else if (static_cast<uint64_t>(reqs[k].result) < c.wr_len)
            c.error = -err::kNoSpc;
    }
    g_generation++;
    refresh_dirty_flag();
}

void cache_flush_all() {
    while (g_any_dirty) {
        // All pending data in one exit (a batch of writes).
        abi::HcFs reqs[abi::kMaxFsBatch];
        int owners[abi::kMaxFsBatch];
        uint32_t n = cache_take_pending(reqs, abi::kMaxFsBatch, owners);
        if (n == 0) {
            g_any_dirty = false;
            break;
        }
        fs_send_batch(reqs, n);
        cache_batch_done(reqs, owners, n);
    }
}

// Closing does not flush: the handle's close is queued (fs_close), and the
// data goes out with the next request, ahead of that close (fs_client.cpp),
// or at exit. Creating a small file then costs one exit, not three. A write
// error discovered after close can no longer be reported to the program
// (documented in docs/design.md).
long cache_release(OpenFile* f) {
    long err = f->deferred_error;
    f->deferred_error = 0;
    Cache* c = find(f);
    if (!c)
        return err;
    if (c->error < 0 && !err)
        err = c->error;
    c->error = 0;
    c->owner = nullptr;  // an orphan: flushed later if dirty, reused otherwise
    return err;
}

void cache_invalidate_reads() { g_generation++; }

long cached_read(OpenFile* f, void* buf, size_t len, uint64_t off) {
    // The page cache first (a file open for writing anywhere has none):
    // small reads fill it, 2 MiB per exit, so the next mapping or process
    // finds the file there; large ones read straight into the buffer.
    if (long n = page_cache_read(f->handle, buf, len, off, len < kDirect); n >= 0)
        return n;
    // Another open description of the same file may hold pending writes:
    // send every pending write first (one batched exit), so reads see them.
    if (g_any_dirty) {
        Cache* own = find(f);
        cache_flush_all();
        if (own && own->error < 0) {
            long e = own->error;
            own->error = 0;
            return e;
        }
    }
    if (len >= kDirect)
        return direct_read(f, buf, len, off);
    Cache* c = acquire(f);
    if (!c)
        return direct_read(f, buf, len, off);
    bool valid = c->generation == g_generation && c->rd_len > 0;
    // A window that ended short ended at EOF: the read after the last byte
    // (stdio's and Python's readall ask once more) needs no exit either, if
    // it comes at once. Later, the host is asked: the file may have grown
    // (tail -f of a file the host appends to).
    if (valid && c->rd_eof && off == c->rd_start + c->rd_len && monotonic_ns() - c->rd_ns < kEofFreshNs)
        return 0;
    if (!(valid && off >= c->rd_start && off + len <= c->rd_start + c->rd_len)) {
        // Refill from `off`. A window that ends early ends at EOF.
        long n = direct_read(f, c->data, kWindow, off);
        if (n < 0) {
            c->rd_len = 0;
            return n;
        }
        c->rd_start = off;
        c->rd_len = static_cast<uint64_t>(n);
        c->rd_eof = c->rd_len < kWindow;
        c->rd_ns = monotonic_ns();
        c->generation = g_generation;
    }
    uint64_t avail = c->rd_start + c->rd_len > off ? c->rd_start + c->rd_len - off : 0;
    uint64_t n = len < avail ? len : avail;
    memcpy(buf, c->data + (off - c->rd_start), n);
    return static_cast<long>(n);
}

long buffered_write(Cache* c, const void* buf, size_t len, uint64_t off, bool append, uint64_t* new_pos) {
    // At most one file holds pending writes at a time: writes through two
    // descriptions of one file (two fds, dup'ed or not) then reach the host
    // in the order the program made them.
    if (g_any_dirty && !c->dirty) {
        cache_flush_all();
        if (c->error < 0) {
            long e = c->error;
            c->error = 0;
            return e;
        }
    }
    bool contiguous = c->dirty && c->append == append && (append || off == c->wr_start + c->wr_len) &&
                      c->wr_len + len <= kWindow;
    if (!contiguous) {
        long e = send_pending(*c);
        if (e < 0) {
            refresh_dirty_flag();
            return e;
        }
        c->dirty = true;
        c->append = append;
        c->wr_start = off;
        c->wr_len = 0;
    }
    c->rd_len = 0;  // the window holds pending data now, not file data
    memcpy(c->data + c->wr_len, buf, len);
    c->wr_len += len;
    g_any_dirty = true;
    publish(index_of(*c));
    // With O_APPEND the position is only known after the flush; report the
    // offset as if appended (the usual reader, ftell, is rare on appends).
    *new_pos = off + len;
    return static_cast<long>(len);
}

long cached_write(OpenFile* f, const void* buf, size_t len, uint64_t off, bool append, uint64_t* new_pos) {
    Cache* c = find(f);
    if (c && c->error < 0) {
        long e = c->error;
        c->error = 0;
        return e;
    }
    if (len < kDirect) {
        c = acquire(f);
        if (c)
            return buffered_write(c, buf, len, off, append, new_pos);
    }
    {
        long e = cache_flush(f);
        if (e < 0)
            return e;
        uint64_t pos = off;
        long n = for_each_phys(buf, len, [&](uint64_t gpa, uint64_t piece) {
            abi::HcFs r = fs_request(abi::kFsWrite);
            r.handle = f->handle;
            r.buf = gpa;
            r.len = piece;
            r.offset = append ? -1 : static_cast<int64_t>(pos);
            long put = fs_call(r);
            if (put >= 0)
                pos = append ? r.aux : pos + static_cast<uint64_t>(put);
            return put;
        });
        g_generation++;
        if (n >= 0)
            *new_pos = pos;
        return n;
    }
}

}  // namespace lightvm::guest

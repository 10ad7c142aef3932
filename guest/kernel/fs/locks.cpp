#include "kernel/fs/locks.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

enum class Flavor : uint8_t { Free, Flock, Posix, Ofd };

constexpr uint64_t kEof = UINT64_MAX;  // a range to the end of the file, however it grows

struct Lock {
    Flavor flavor;
    bool write;
    bool host;          // on a share's file: mirrored on the host (abi.h kFsLock)
    uint64_t dev, ino;
    const void* owner;  // Posix: the FdTable (as Linux's files_struct); Flock and Ofd: the OpenFile
    uint32_t pid;       // Posix: F_GETLK reports it; OFD locks report -1
    uint64_t start, end;  // inclusive
};

constexpr unsigned kMaxLocks = 512;
Lock g_locks[kMaxLocks];
WaitQueue g_lock_wait;  // anyone sleeping in F_SETLKW or a blocking flock
bool g_used;            // a lock was ever taken: close need not look before

struct FileId {
    uint64_t dev, ino;
};

long file_id(OpenFile* f, FileId* id) {
    Stat st;
    long r = file_stat(f, &st);
    if (r < 0)
        return r;
    *id = {st.dev, st.ino};
    return 0;
}

bool same_file(const Lock& l, const FileId& id) { return l.dev == id.dev && l.ino == id.ino; }

// flock locks conflict only with flock locks; POSIX and OFD locks with
// each other. Two read locks never conflict; one owner never conflicts
// with itself.
bool conflicts(const Lock& l, const FileId& id, Flavor flavor, const void* owner, bool write, uint64_t s, uint64_t e) {
    if (l.flavor == Flavor::Free || !same_file(l, id) || l.owner == owner || (!write && !l.write))
        return false;
    if ((flavor == Flavor::Flock) != (l.flavor == Flavor::Flock))
        return false;
    return l.start <= e && s <= l.end;
}

Lock* find_conflict(const FileId& id, Flavor flavor, const void* owner, bool write, uint64_t s, uint64_t e) {
    for (Lock& l : g_locks)
        if (conflicts(l, id, flavor, owner, write, s, e))
            return &l;
    return nullptr;
}

Lock* new_lock() {
    for (Lock& l : g_locks)
        if (l.flavor == Flavor::Free)
            return &l;
    return nullptr;
}

unsigned free_slots() {
    unsigned n = 0;
    for (const Lock& l : g_locks)
        n += l.flavor == Flavor::Free;
    return n;
}

// Removes the owner's hold on [s, e] of the file, splitting a lock that
// reaches past either end (Linux's posix_lock_file).
void carve(const FileId& id, Flavor flavor, const void* owner, uint64_t s, uint64_t e) {
    for (Lock& l : g_locks) {
        if (l.flavor != flavor || l.owner != owner || !same_file(l, id) || l.end < s || e < l.start)
            continue;
        if (l.start < s && l.end > e) {
            Lock* tail = new_lock();  // the caller made sure there is room
            *tail = l;
            tail->start = e + 1;
            l.end = s - 1;
        } else if (l.start < s) {
            l.end = s - 1;
        } else if (l.end > e) {
            l.start = e + 1;
        } else {
            l.flavor = Flavor::Free;
        }
    }
}

// Merges the owner's locks of one type that touch [s, e] into it.
void merge_into(Lock& n) {
    for (Lock& l : g_locks) {
        if (&l == &n || l.flavor != n.flavor || l.owner != n.owner || l.write != n.write || l.dev != n.dev ||
            l.ino != n.ino)
            continue;
        bool touches = (l.end == kEof || l.end + 1 >= n.start) && (n.end == kEof || n.end + 1 >= l.start);
        if (!touches)
            continue;
        n.start = l.start < n.start ? l.start : n.start;
        n.end = l.end > n.end ? l.end : n.end;
        l.flavor = Flavor::Free;
    }
}

// The guest's change itself: the owner's hold on [s, e] becomes `type`.
void apply(const FileId& id, Flavor flavor, const void* owner, int type, uint64_t s, uint64_t e, bool host) {
    g_used = true;
    carve(id, flavor, owner, s, e);
    if (type != F_UNLCK) {
        Lock* n = new_lock();
        *n = Lock{flavor, type == F_WRLCK, host, id.dev, id.ino, owner, current_process()->pid, s, e};
        merge_into(*n);
    }
}

// ---- The host mirror (share files) -----------------------------------------
// The monitor holds, per file, the union of the guest's locks (abi.h
// kFsLock): record locks as OFD locks, flock locks as a flock. The guest
// still decides among its own owners; the host adds the processes outside.

long host_lock(const FileId& id, uint32_t handle, uint32_t cmd, Flavor flavor, int type, uint64_t s, uint64_t e,
               abi::FsLock* out = nullptr) {
    static abi::FsLock l;  // the monitor reads kernel memory; lock calls run under the kernel lock
    l = abi::FsLock{id.dev, id.ino, s, e == kEof ? 0 : e - s + 1, cmd,
                    flavor == Flavor::Flock ? abi::kFsLockFlock : abi::kFsLockRecord, static_cast<uint32_t>(type), 0};
    abi::HcFs req = fs_request(abi::kFsLock);
    req.handle = handle;
    req.buf = kernel_to_gpa(&l);
    long r = fs_call(req);
    if (out)
        *out = l;
    return r;
}

bool same_kind(Flavor a, Flavor b) { return (a == Flavor::Flock) == (b == Flavor::Flock); }

// What the guest holds of kind's flavors on the file at byte x.
int held_at(const FileId& id, Flavor kind, uint64_t x) {
    int type = F_UNLCK;
    for (const Lock& l : g_locks)
        if (l.flavor != Flavor::Free && same_kind(l.flavor, kind) && same_file(l, id) && l.start <= x && x <= l.end)
            type = l.write ? F_WRLCK : (type == F_WRLCK ? F_WRLCK : F_RDLCK);
    return type;
}

// Cuts [s, e] where any of the file's locks of this kind starts or ends.
unsigned cut_points(const FileId& id, Flavor kind, uint64_t s, uint64_t e, uint64_t* cuts) {
    unsigned n = 0;
    cuts[n++] = s;
    for (const Lock& l : g_locks) {
        if (l.flavor == Flavor::Free || !same_kind(l.flavor, kind) || !same_file(l, id) || l.end < s || e < l.start)
            continue;
        if (l.start > s)
            cuts[n++] = l.start;
        if (l.end < e)
            cuts[n++] = l.end + 1;
    }
    for (unsigned i = 1; i < n; ++i)  // insertion sort: a handful of points
        for (unsigned j = i; j > 0 && cuts[j - 1] > cuts[j]; --j) {
            uint64_t t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
    return n;
}

// Makes the host hold over [s, e] what the guest holds there now, one
// request per run of equal state. -EAGAIN: a host lock is in the way.
long mirror(const FileId& id, Flavor kind, uint64_t s, uint64_t e, uint32_t handle) {
    if (kind == Flavor::Flock)
        return host_lock(id, handle, abi::kFsLockSet, kind, held_at(id, kind, 0), 0, kEof);
    // From the heap, not the image: the kernel image has a size limit (abi.h kKernelLimit).
    constexpr size_t kCutsBytes = (2 * kMaxLocks + 1) * sizeof(uint64_t);
    uint64_t* cuts = static_cast<uint64_t*>(kmem_alloc(kCutsBytes));
    if (!cuts)
        return -ENOLCK;
    long r = 0;
    unsigned n = cut_points(id, kind, s, e, cuts);
    for (unsigned i = 0; i < n && r == 0;) {
        uint64_t a = cuts[i];
        int type = held_at(id, kind, a);
        unsigned j = i + 1;
        while (j < n && (cuts[j] == a || held_at(id, kind, cuts[j]) == type))
            ++j;
        uint64_t b = j < n ? cuts[j] - 1 : e;
        r = host_lock(id, handle, abi::kFsLockSet, kind, type, a, b);
        i = j;
    }
    kmem_free(cuts, kCutsBytes);
    return r;
}

// After a release: the host follows, and forgets a file the guest no longer locks.
void mirror_released(const FileId& id, Flavor kind) {
    (void)mirror(id, kind, 0, kEof, abi::kNoHandle);
    for (const Lock& l : g_locks)
        if (l.flavor != Flavor::Free && same_file(l, id))
            return;
    (void)host_lock(id, abi::kNoHandle, abi::kFsLockDrop, kind, F_UNLCK, 0, kEof);
}

// A host file's change: made in the guest, then on the host; if the host
// refuses (a lock outside the VM), the guest's change is undone.
long apply_mirrored(const FileId& id, Flavor flavor, const void* owner, int type, uint64_t s, uint64_t e,
                    uint32_t handle) {
    Lock* saved = static_cast<Lock*>(kmem_alloc(sizeof g_locks));  // heap: the image's size is limited
    if (!saved)
        return -ENOLCK;
    memcpy(saved, g_locks, sizeof g_locks);
    apply(id, flavor, owner, type, s, e, true);
    long r = mirror(id, flavor, s, e, handle);
    if (r < 0) {
        memcpy(g_locks, saved, sizeof g_locks);
        (void)mirror(id, flavor, s, e, handle);
    }
    kmem_free(saved, sizeof g_locks);
    if (type == F_UNLCK || r < 0)
        mirror_released(id, flavor);
    return r;
}

// handle: the file's monitor handle when it is a share's file (its locks are
// mirrored on the host), else kNoHandle. A host conflict under `wait` is
// polled every 10 ms (the host has no way to wake the guest), and a signal
// ends that wait as Linux's does.
long set_lock(const FileId& id, Flavor flavor, const void* owner, int type, uint64_t s, uint64_t e, bool wait,
              uint32_t handle) {
    bool write = type == F_WRLCK;
    for (;;) {
        auto free = [&] { return !find_conflict(id, flavor, owner, write, s, e); };
        if (type != F_UNLCK && !free()) {
            if (!wait)
                return -err::kAgain;  // EWOULDBLOCK for flock, EAGAIN for F_SETLK: one value
            wait_event(g_lock_wait, free);
        }
        if (free_slots() < 2)
            return -ENOLCK;
        long r = 0;
        if (handle == abi::kNoHandle)
            apply(id, flavor, owner, type, s, e, false);
        else
            r = apply_mirrored(id, flavor, owner, type, s, e, handle);
        if (r != -err::kAgain || !wait) {
            wake_up(g_lock_wait);
            return r;
        }
        if (wait_event_interruptible(g_lock_wait, [] { return false; }, monotonic_ns() + 10'000'000) ==
            WaitResult::Interrupted)
            return -ERESTARTSYS;
    }
}

// struct flock's range as [s, e], with Linux's errors.
long flock_range(OpenFile* f, const struct flock& fl, uint64_t* s, uint64_t* e) {
    int64_t base;
    switch (fl.l_whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = static_cast<int64_t>(f->offset);
        break;
    case SEEK_END:
    {
        Stat st;
        long r = file_stat(f, &st);
        if (r < 0)
            return r;
        base = st.size;
        break;
    }
    default:
        return -err::kInval;
    }
    int64_t start = base + fl.l_start;
    if (start < 0)
        return -err::kInval;
    if (fl.l_len > 0) {
        *s = static_cast<uint64_t>(start);
        *e = static_cast<uint64_t>(start + fl.l_len - 1);
    } else if (fl.l_len < 0) {
        if (start + fl.l_len < 0)
            return -err::kInval;
        *s = static_cast<uint64_t>(start + fl.l_len);
        *e = static_cast<uint64_t>(start - 1);
    } else {
        *s = static_cast<uint64_t>(start);
        *e = kEof;
    }
    return 0;
}

void release(const void* owner, Flavor flavor, const FileId* id) {
    if (!g_used)
        return;
    bool any = false;
    uint64_t freed[kMaxLocks / 64] = {};  // slots freed now: their dev/ino stay readable
    for (unsigned i = 0; i < kMaxLocks; ++i) {
        Lock& l = g_locks[i];
        if (l.flavor == flavor && l.owner == owner && (!id || same_file(l, *id))) {
            l.flavor = Flavor::Free;
            any = true;
            freed[i / 64] |= uint64_t{l.host} << (i % 64);
        }
    }
    // The host follows once per file, after all of them went.
    for (unsigned i = 0; i < kMaxLocks; ++i) {
        if (!(freed[i / 64] >> (i % 64) & 1))
            continue;
        const FileId f{g_locks[i].dev, g_locks[i].ino};
        bool seen = false;
        for (unsigned j = 0; j < i && !seen; ++j)
            seen = (freed[j / 64] >> (j % 64) & 1) && same_file(g_locks[j], f);
        if (!seen)
            mirror_released(f, flavor);
    }
    if (any)
        wake_up(g_lock_wait);
}

// The monitor handle of a share's file (its locks are mirrored), else kNoHandle.
uint32_t host_handle(const OpenFile* f) { return f->kind == FileKind::HostFile ? f->handle : abi::kNoHandle; }

}  // namespace

long lock_flock(OpenFile* f, uint32_t op) {
    FileId id;
    long r = file_id(f, &id);
    if (r < 0)
        return r;
    if (op & LOCK_MAND)
        return 0;  // Linux 5.15+ ignores mandatory flock requests (with a warning)
    bool nb = op & LOCK_NB;
    int type;
    switch (op & ~uint32_t{LOCK_NB}) {
    case LOCK_SH:
        type = F_RDLCK;
        break;
    case LOCK_EX:
        type = F_WRLCK;
        break;
    case LOCK_UN:
        type = F_UNLCK;
        break;
    default:
        return -err::kInval;
    }
    return set_lock(id, Flavor::Flock, f, type, 0, kEof, !nb, host_handle(f));
}

long lock_fcntl(OpenFile* f, uint32_t cmd, uint64_t user_flock) {
    struct flock fl;
    if (copy_from_user(&fl, user_flock, sizeof fl) < 0)
        return -err::kFault;
    bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
    if (ofd && fl.l_pid != 0)
        return -err::kInval;
    if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK)
        return -err::kInval;
    uint64_t s, e;
    long r = flock_range(f, fl, &s, &e);
    if (r < 0)
        return r;
    FileId id;
    r = file_id(f, &id);
    if (r < 0)
        return r;
    Flavor flavor = ofd ? Flavor::Ofd : Flavor::Posix;
    const void* owner = ofd ? static_cast<const void*>(f) : static_cast<const void*>(current_process()->files);
    if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
        if (fl.l_type == F_UNLCK)
            return -err::kInval;
        const Lock* l = find_conflict(id, flavor, owner, fl.l_type == F_WRLCK, s, e);
        abi::FsLock host{};
        if (!l && host_handle(f) != abi::kNoHandle &&
            host_lock(id, host_handle(f), abi::kFsLockGet, flavor, fl.l_type, s, e, &host) == 0 &&
            host.type != F_UNLCK) {
            // A lock outside the VM: its range and type, and no pid the guest could name.
            fl.l_type = static_cast<short>(host.type);
            fl.l_whence = SEEK_SET;
            fl.l_start = static_cast<int64_t>(host.start);
            fl.l_len = static_cast<int64_t>(host.len);
            fl.l_pid = -1;
        } else if (!l) {
            fl.l_type = F_UNLCK;
        } else {
            fl.l_type = l->write ? F_WRLCK : F_RDLCK;
            fl.l_whence = SEEK_SET;
            fl.l_start = static_cast<int64_t>(l->start);
            fl.l_len = l->end == kEof ? 0 : static_cast<int64_t>(l->end - l->start + 1);
            fl.l_pid = l->flavor == Flavor::Ofd ? -1 : static_cast<int>(l->pid);
        }
        return copy_to_user(user_flock, &fl, sizeof fl) < 0 ? -err::kFault : 0;
    }
    uint32_t acc = f->flags & O_ACCMODE;
    if ((fl.l_type == F_RDLCK && acc == O_WRONLY) || (fl.l_type == F_WRLCK && acc == O_RDONLY))
        return -err::kBadF;
    bool wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
    return set_lock(id, flavor, owner, fl.l_type, s, e, wait, host_handle(f));
}

void locks_fd_closed(OpenFile* f, const FdTable* owner) {
    if (!g_used)
        return;
    bool any = false;
    for (const Lock& l : g_locks)
        any |= l.flavor == Flavor::Posix && l.owner == owner;
    if (!any)
        return;  // no file_stat (an exit for a host file) on the common close
    FileId id;
    if (file_id(f, &id) == 0)
        release(owner, Flavor::Posix, &id);
}

void locks_table_gone(const FdTable* owner) { release(owner, Flavor::Posix, nullptr); }

void locks_file_released(OpenFile* f) {
    release(f, Flavor::Flock, nullptr);
    release(f, Flavor::Ofd, nullptr);
}

}  // namespace lightvm::guest

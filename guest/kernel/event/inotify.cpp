// inotify instances, watches and event queues (man 7 inotify). An
// instance is an event file (kernel/event/): read() hands out whole
// struct inotify_event records, poll/epoll see POLLIN while the queue is
// not empty. Watches live in one pool and name their inode by identity.
// Linux's rules kept here: an event identical to the last unread one is
// dropped (coalesced), a full queue ends with one IN_Q_OVERFLOW, removing
// a watch (inotify_rm_watch, IN_ONESHOT, the file deleted) queues
// IN_IGNORED, names are NUL-padded to a multiple of 16 bytes.
#include "kernel/event/inotify.hpp"

#include "kernel/errno.hpp"
#include "kernel/event/event_file.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/sys_fs_common.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// <sys/inotify.h>
constexpr uint32_t kAllEvents = 0xfff;  // IN_ACCESS .. IN_DELETE_SELF, IN_MOVE_SELF
constexpr uint32_t kInQOverflow = 0x4000, kInIgnored = 0x8000;
constexpr uint32_t kInOnlyDir = 0x01000000, kInDontFollow = 0x02000000, kInExclUnlink = 0x04000000;
constexpr uint32_t kInMaskCreate = 0x10000000, kInMaskAdd = 0x20000000;
constexpr uint32_t kInOneShot = 0x80000000;
constexpr uint32_t kWatchFlags = kInOnlyDir | kInDontFollow | kInExclUnlink | kInMaskCreate | kInMaskAdd | kInOneShot;

struct Event {  // struct inotify_event, then the padded name
    int32_t wd;
    uint32_t mask, cookie, len;
};
static_assert(sizeof(Event) == 16);

constexpr uint32_t kQueueBytes = 64 * 1024;  // per instance (kmem)
constexpr uint32_t kMaxQueued = 16384;       // /proc/sys/fs/inotify/max_queued_events

struct Instance {
    bool used;
    int32_t next_wd;
    uint8_t* queue;  // events, oldest first, [head, tail)
    uint32_t head, tail, last, count;  // last: offset of the newest event (coalescing)
    WaitQueue wq;
};

struct Watch {
    Instance* owner;  // nullptr: a free slot
    int32_t wd;
    uint32_t mask;
    FileId id;
};

constexpr int kMaxInstances = 128;  // /proc/sys/fs/inotify/max_user_instances
constexpr int kMaxWatches = 1024;
Instance g_instances[kMaxInstances];
Watch g_watches[kMaxWatches];
int g_watch_count;
uint32_t g_cookie;

Instance* instance_of(OpenFile* f) { return static_cast<Instance*>(f->event); }

uint32_t record_len(size_t name_len) {
    return static_cast<uint32_t>(sizeof(Event) + (name_len ? (name_len + 1 + 15) / 16 * 16 : 0));
}

// Queues one event, after Linux's coalescing and overflow rules.
void enqueue(Instance* in, int32_t wd, uint32_t mask, uint32_t cookie, const char* name, size_t len) {
    uint32_t need = record_len(len);
    if (in->count > 0) {
        const auto* last = reinterpret_cast<const Event*>(in->queue + in->last);
        if (last->wd == wd && last->mask == mask && last->cookie == cookie && last->len == need - sizeof(Event) &&
            (len == 0 || (memcmp(last + 1, name, len) == 0 && reinterpret_cast<const char*>(last + 1)[len] == 0)))
            return;
        if (last->mask == kInQOverflow)
            return;  // already overflowed: nothing more until it is read
    }
    if (in->head > 0 && in->tail + need + sizeof(Event) > kQueueBytes) {  // compact
        memmove(in->queue, in->queue + in->head, in->tail - in->head);
        in->tail -= in->head;
        in->last -= in->head;
        in->head = 0;
    }
    bool full = in->count + 1 >= kMaxQueued || in->tail + need + sizeof(Event) > kQueueBytes;
    if (full) {  // room for the overflow record is always kept
        wd = -1;
        mask = kInQOverflow;
        cookie = 0;
        len = 0;
        need = sizeof(Event);
    }
    auto* e = reinterpret_cast<Event*>(in->queue + in->tail);
    *e = Event{wd, mask, cookie, need - static_cast<uint32_t>(sizeof(Event))};
    if (len) {
        memset(e + 1, 0, need - sizeof(Event));
        memcpy(e + 1, name, len);
    }
    in->last = in->tail;
    in->tail += need;
    ++in->count;
    wake_up(in->wq);
}

void drop_watch(Watch& w, bool ignored_event) {
    if (ignored_event)
        enqueue(w.owner, w.wd, kInIgnored, 0, nullptr, 0);
    w.owner = nullptr;
    --g_watch_count;
}

long ino_read(OpenFile* f, void* buf, size_t len, int64_t) {
    Instance* in = instance_of(f);
    if (in->count == 0) {
        if (f->flags & O_NONBLOCK)
            return -err::kAgain;
        if (wait_event_interruptible(in->wq, [&] { return in->count > 0; }) == WaitResult::Interrupted)
            return -ERESTARTSYS;
    }
    size_t done = 0;
    while (in->count > 0) {
        const auto* e = reinterpret_cast<const Event*>(in->queue + in->head);
        size_t n = sizeof(Event) + e->len;
        if (done + n > len)
            break;
        memcpy(static_cast<uint8_t*>(buf) + done, e, n);
        done += n;
        in->head += static_cast<uint32_t>(n);
        --in->count;
    }
    if (in->count == 0)
        in->head = in->tail = in->last = 0;
    return done ? static_cast<long>(done) : -err::kInval;  // the first event did not fit
}

int ino_poll(OpenFile* f) { return instance_of(f)->count ? POLLIN | POLLRDNORM : 0; }
WaitQueue* ino_queue(OpenFile* f) { return &instance_of(f)->wq; }

long ino_ioctl(OpenFile* f, uint64_t request, uint64_t arg) {
    if (request != FIONREAD)
        return -err::kInval;  // Linux: inotify answers EINVAL to other requests
    Instance* in = instance_of(f);
    int v = static_cast<int>(in->tail - in->head);
    return copy_to_user(arg, &v, sizeof v) < 0 ? -err::kFault : 0;
}

long ino_release(OpenFile* f) {
    Instance* in = instance_of(f);
    if (!in)
        return 0;
    for (Watch& w : g_watches)
        if (w.owner == in)
            drop_watch(w, false);
    kmem_free(in->queue, kQueueBytes);
    in->used = false;
    return 0;
}

void on_file_event(OpenFile* f, FileEvent e);

long make_instance(uint64_t flags) {
    if (flags & ~uint64_t{O_CLOEXEC | O_NONBLOCK})
        return -err::kInval;
    Instance* in = nullptr;
    for (auto& slot : g_instances)
        if (!slot.used && !in)
            in = &slot;
    if (!in)
        return -err::kMFile;  // Linux: EMFILE past max_user_instances
    auto* queue = static_cast<uint8_t*>(kmem_alloc(kQueueBytes));
    if (!queue)
        return -err::kNoMem;
    *in = Instance{true, 1, queue, 0, 0, 0, 0, {}};
    file_set_notify(on_file_event);
    long fd = event_install(FileKind::Inotify, in, O_RDONLY | (flags & O_NONBLOCK), flags & O_CLOEXEC);
    if (fd < 0) {
        kmem_free(queue, kQueueBytes);
        in->used = false;
    }
    return fd;
}

// Descriptors opened while a watch existed: their directory and name.
struct Noted {
    OpenFile* f;
    FileId obj, dir;
    bool is_dir;
    uint16_t len;
    char name[256];
};
constexpr int kMaxNoted = 64;
Noted g_noted[kMaxNoted];
int g_noted_count;

Noted* noted(const OpenFile* f) {
    for (int i = 0; i < g_noted_count; ++i)
        if (g_noted[i].f == f)
            return &g_noted[i];
    return nullptr;
}

bool on_a_file_system(const OpenFile* f) {
    return f->kind == FileKind::HostFile || f->kind == FileKind::HostDir || f->kind == FileKind::TmpFile ||
           f->kind == FileKind::TmpDir || f->kind == FileKind::Fifo;
}

// file_notify's hook: an event on a descriptor goes to watches on its file
// (identity by fstat, or as noted at open) and, when noted, its directory.
void on_file_event(OpenFile* f, FileEvent e) {
    Noted* n = g_noted_count ? noted(f) : nullptr;
    if (g_watch_count && on_a_file_system(f)) {
        bool wrote = (f->flags & O_ACCMODE) != O_RDONLY;
        uint32_t mask = e == FileEvent::Access   ? in_mask::kAccess
                        : e == FileEvent::Modify ? in_mask::kModify
                        : e == FileEvent::Attrib ? in_mask::kAttrib
                        : wrote                  ? in_mask::kCloseWrite
                                                 : in_mask::kCloseNoWrite;
        Stat st;
        if (n)
            inotify_notify(n->obj, n->dir, n->name, n->len, mask | (n->is_dir ? in_mask::kIsDir : 0), 0);
        else if (file_stat(f, &st) == 0)
            inotify_notify(FileId{st.dev, st.ino}, FileId{}, nullptr, 0,
                           mask | ((st.mode & S_IFMT) == S_IFDIR ? in_mask::kIsDir : 0), 0);
    }
    if (n && e == FileEvent::Closed)
        *n = g_noted[--g_noted_count];
}

long identify(uint64_t user_path, bool follow, FileId* out, bool* dir) {
    Stat st;
    long r = do_stat(AT_FDCWD, user_path, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW);
    if (r < 0)
        return r;
    *out = FileId{st.dev, st.ino};
    *dir = (st.mode & S_IFMT) == S_IFDIR;
    return 0;
}

Instance* instance_fd(long fd, long* err) {
    OpenFile* f = fd_get(fd);
    *err = !f ? -err::kBadF : f->kind != FileKind::Inotify ? -err::kInval : 0;
    return *err ? nullptr : instance_of(f);
}

}  // namespace

const FileOps kInotifyOps = {
    .read = ino_read,
    .write = nullptr,
    .seek = nullptr,
    .stat = anon_stat,
    .sync = nullptr,
    .ioctl = ino_ioctl,
    .poll = ino_poll,
    .wait_queue = ino_queue,
    .release = ino_release,
    .tty = false,
    .seekable = false,
};

bool inotify_active() { return g_watch_count > 0; }

uint32_t inotify_cookie() { return ++g_cookie; }

void inotify_note_open(OpenFile* f, FileId obj, FileId dir, bool is_dir, const char* name, size_t len) {
    if (g_noted_count >= kMaxNoted || len >= sizeof g_noted[0].name)
        return;  // then only watches on the file itself see its events
    Noted& e = g_noted[g_noted_count++];
    e = Noted{f, obj, dir, is_dir, static_cast<uint16_t>(len), {}};
    memcpy(e.name, name, len);
}

void inotify_notify(FileId obj, FileId dir, const char* name, size_t len, uint32_t mask, uint32_t cookie) {
    if (!g_watch_count)
        return;
    uint32_t what = mask & kAllEvents;
    // Watches on the directory get the event with the name first, then
    // those on the file itself without one (Linux's order).
    for (int pass = 0; pass < 2; ++pass) {
        FileId id = pass == 0 ? dir : obj;
        if (!id.valid())
            continue;
        for (Watch& w : g_watches) {
            if (!w.owner || !(w.mask & what) || w.id.dev != id.dev || w.id.ino != id.ino)
                continue;
            enqueue(w.owner, w.wd, mask, cookie, pass == 0 ? name : nullptr, pass == 0 ? len : 0);
            if (w.mask & kInOneShot)
                drop_watch(w, true);
        }
    }
}

void inotify_gone(FileId obj) {
    for (Watch& w : g_watches)
        if (w.owner && w.id.dev == obj.dev && w.id.ino == obj.ino)
            drop_watch(w, true);
}

long sys_inotify_init(const SyscallArgs&) { return make_instance(0); }
long sys_inotify_init1(const SyscallArgs& a) { return make_instance(a.a0); }

long sys_inotify_add_watch(const SyscallArgs& a) {
    long r;
    Instance* in = instance_fd(fd_arg(a.a0), &r);
    if (!in)
        return r;
    auto mask = static_cast<uint32_t>(a.a2);
    if (!(mask & kAllEvents) || (mask & ~(kAllEvents | kWatchFlags)))
        return -err::kInval;
    if ((mask & kInMaskCreate) && (mask & kInMaskAdd))
        return -err::kInval;
    FileId id;
    bool dir;
    if ((r = identify(a.a1, !(mask & kInDontFollow), &id, &dir)) < 0)
        return r;
    if ((mask & kInOnlyDir) && !dir)
        return -err::kNotDir;
    Watch* free_slot = nullptr;
    for (Watch& w : g_watches) {
        if (w.owner == in && w.id.dev == id.dev && w.id.ino == id.ino) {
            if (mask & kInMaskCreate)
                return -err::kExist;
            uint32_t keep = (mask & kInMaskAdd) ? w.mask : 0;
            w.mask = keep | (mask & (kAllEvents | kInOneShot | kInExclUnlink));
            return w.wd;
        }
        if (!w.owner && !free_slot)
            free_slot = &w;
    }
    if (!free_slot)
        return -err::kNoSpc;  // Linux: ENOSPC past max_user_watches
    *free_slot = Watch{in, in->next_wd++, mask & (kAllEvents | kInOneShot | kInExclUnlink), id};
    ++g_watch_count;
    return free_slot->wd;
}

long sys_inotify_rm_watch(const SyscallArgs& a) {
    long r;
    Instance* in = instance_fd(fd_arg(a.a0), &r);
    if (!in)
        return r;
    auto wd = static_cast<int32_t>(a.a1);
    for (Watch& w : g_watches) {
        if (w.owner == in && w.wd == wd) {
            drop_watch(w, true);
            return 0;
        }
    }
    return -err::kInval;
}

}  // namespace lightvm::guest

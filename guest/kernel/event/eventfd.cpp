// eventfd (man 2 eventfd): a 64-bit counter. write adds to it (blocking,
// or EAGAIN, while the sum would pass 0xfffffffffffffffe); read takes all
// of it, or 1 with EFD_SEMAPHORE (blocking, or EAGAIN, while it is 0).
// One wait queue for both directions: readers, writers, poll and epoll
// all re-check the counter when it changes.
#include "kernel/errno.hpp"
#include "kernel/event/event_file.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint64_t kMax = 0xfffffffffffffffeull;  // the counter's largest value
constexpr uint32_t kEfdSemaphore = 1;              // EFD_SEMAPHORE (<sys/eventfd.h>)

struct EventFd {
    bool used;
    bool semaphore;
    uint64_t count;
    WaitQueue wq;
};

// A fixed pool: no heap in the guest kernel (.bss, touched only when used).
constexpr int kMaxEventFds = 256;
EventFd g_eventfds[kMaxEventFds];

EventFd* eventfd_of(OpenFile* f) { return static_cast<EventFd*>(f->event); }
bool nonblocking(const OpenFile* f) { return f->flags & O_NONBLOCK; }

long efd_read(OpenFile* f, void* buf, size_t len, int64_t) {
    EventFd* e = eventfd_of(f);
    if (len < sizeof(uint64_t))
        return -err::kInval;
    if (!e->count) {
        if (nonblocking(f))
            return -err::kAgain;
        if (wait_event_interruptible(e->wq, [&] { return e->count > 0; }) == WaitResult::Interrupted)
            return -ERESTARTSYS;  // EINTR, or restarted with SA_RESTART
    }
    uint64_t v = e->semaphore ? 1 : e->count;
    e->count -= v;
    memcpy(buf, &v, sizeof v);
    wake_up(e->wq);  // writers waiting for room
    return sizeof v;
}

long efd_write(OpenFile* f, const void* buf, size_t len, int64_t) {
    EventFd* e = eventfd_of(f);
    if (len != sizeof(uint64_t))  // Linux 6.9+; before, any len >= 8 (the first 8 bytes)
        return -err::kInval;
    uint64_t v;
    memcpy(&v, buf, sizeof v);
    if (v == ~0ull)
        return -err::kInval;
    if (v > kMax - e->count) {
        if (nonblocking(f))
            return -err::kAgain;
        if (wait_event_interruptible(e->wq, [&] { return v <= kMax - e->count; }) == WaitResult::Interrupted)
            return -ERESTARTSYS;
    }
    e->count += v;
    wake_up(e->wq);  // readers (a write of 0 wakes them too, as on Linux)
    return sizeof v;
}

int efd_poll(OpenFile* f) {
    const EventFd* e = eventfd_of(f);
    int r = 0;
    if (e->count > 0)
        r |= POLLIN;
    if (e->count < kMax)
        r |= POLLOUT;
    return r;
}

WaitQueue* efd_queue(OpenFile* f) { return &eventfd_of(f)->wq; }

long efd_release(OpenFile* f) {
    if (EventFd* e = eventfd_of(f))
        e->used = false;
    return 0;
}

long make_eventfd(uint64_t initval, uint64_t flags) {
    if (flags & ~uint64_t{O_CLOEXEC | O_NONBLOCK | kEfdSemaphore})
        return -err::kInval;
    EventFd* e = nullptr;
    for (auto& slot : g_eventfds)
        if (!slot.used && !e)
            e = &slot;
    if (!e)
        return -err::kNFile;
    *e = EventFd{true, (flags & kEfdSemaphore) != 0, static_cast<uint32_t>(initval), {}};
    long fd = event_install(FileKind::EventFd, e, O_RDWR | (flags & O_NONBLOCK), flags & O_CLOEXEC);
    if (fd < 0)
        e->used = false;
    return fd;
}

}  // namespace

const FileOps kEventFdOps = {
    .read = efd_read,
    .write = efd_write,
    .seek = nullptr,
    .stat = anon_stat,
    .sync = nullptr,
    .ioctl = nullptr,
    .poll = efd_poll,
    .wait_queue = efd_queue,
    .release = efd_release,
    .tty = false,
    .seekable = false,
};

// The initial value is an unsigned int (man 2 eventfd).
long sys_eventfd(const SyscallArgs& a) { return make_eventfd(a.a0 & 0xffffffffu, 0); }
long sys_eventfd2(const SyscallArgs& a) { return make_eventfd(a.a0 & 0xffffffffu, a.a1 & 0xffffffffu); }

}  // namespace lightvm::guest

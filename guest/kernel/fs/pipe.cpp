#include "kernel/fs/pipe.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

struct Pipe {
    bool used;
    uint32_t readers, writers;  // open ends (a FIFO may have many, or none yet)
    bool named;                 // a FIFO: `node` is its inode in a share
    Stat node;
    uint32_t head, tail;  // free-running
    uint8_t* data;        // kCap bytes from guest RAM on first use, kept for reuse
    WaitQueue readable;   // readers sleep here: data or EOF
    WaitQueue writable;   // writers sleep here: room or no reader
};

namespace {

constexpr int kMaxPipes = 16;
constexpr uint32_t kCap = 65536;  // Linux's default pipe capacity
// VM-wide pool: pipes are shared between the processes that hold their ends.
Pipe g_pipes[kMaxPipes];

uint32_t used(const Pipe* p) { return p->head - p->tail; }
bool nonblocking(const OpenFile* f) { return f->flags & O_NONBLOCK; }

size_t copy_out(Pipe* p, uint8_t* out, size_t len) {
    size_t n = len < used(p) ? len : used(p);
    for (size_t i = 0; i < n; ++i)
        out[i] = p->data[(p->tail + i) % kCap];
    p->tail += static_cast<uint32_t>(n);
    return n;
}

size_t copy_in(Pipe* p, const uint8_t* in, size_t len) {
    uint32_t space = kCap - used(p);
    size_t n = len < space ? len : space;
    for (size_t i = 0; i < n; ++i)
        p->data[(p->head + i) % kCap] = in[i];
    p->head += static_cast<uint32_t>(n);
    return n;
}

long pipe_read(OpenFile* f, void* buf, size_t len, int64_t) {
    Pipe* p = f->pipe;
    if (len == 0)
        return 0;
    if (used(p) == 0 && p->writers) {
        if (nonblocking(f))
            return -err::kAgain;
        if (wait_event_interruptible(p->readable, [p] { return used(p) != 0 || !p->writers; }) ==
            WaitResult::Interrupted)
            return -ERESTARTSYS;
    }
    size_t n = copy_out(p, static_cast<uint8_t*>(buf), len);
    if (n)
        wake_up(p->writable);
    return static_cast<long>(n);  // 0: EOF, the write end is closed
}

// Blocking writes return when everything is written (or the reader left);
// non-blocking ones write what fits.
long pipe_write(OpenFile* f, const void* buf, size_t len, int64_t) {
    Pipe* p = f->pipe;
    auto* in = static_cast<const uint8_t*>(buf);
    size_t done = 0;
    while (done < len) {
        if (!p->readers) {
            if (done)
                return static_cast<long>(done);
            return signal_epipe();
        }
        size_t n = copy_in(p, in + done, len - done);
        done += n;
        if (n)
            wake_up(p->readable);
        if (done == len)
            break;
        if (nonblocking(f))
            return done ? static_cast<long>(done) : -err::kAgain;
        if (wait_event_interruptible(p->writable, [p] { return used(p) < kCap || !p->readers; }) ==
            WaitResult::Interrupted)
            return done ? static_cast<long>(done) : -ERESTARTSYS;
    }
    return static_cast<long>(done);
}

int read_end_poll(OpenFile* f) {
    Pipe* p = f->pipe;
    int r = used(p) ? POLLIN : 0;
    if (!p->writers)
        r |= POLLHUP;  // readable too: read() returns 0
    return r;
}

// Linux's pipe_poll: room is POLLOUT even with no reader left (POLLERR).
int write_end_poll(OpenFile* f) {
    Pipe* p = f->pipe;
    return (used(p) < kCap ? POLLOUT : 0) | (p->readers ? 0 : POLLERR);
}

WaitQueue* read_end_queue(OpenFile* f) { return &f->pipe->readable; }
WaitQueue* write_end_queue(OpenFile* f) { return &f->pipe->writable; }

// Each pipe is its own inode on pipefs (both ends report it, as on Linux);
// a FIFO reports its node in the share.
long pipe_stat(OpenFile* f, Stat* out) {
    if (f->pipe->named) {
        memcpy(out, &f->pipe->node, sizeof f->pipe->node);
        return 0;
    }
    constexpr uint32_t kIfIfo = 0010000;  // S_IFIFO (the hosted tests' headers lack the uapi name)
    return synthetic_stat(out, ident::kDevPipe, static_cast<uint64_t>(f->pipe - g_pipes) + 1, kIfIfo | 0600, 0);
}
long pipe_sync(OpenFile*, bool) { return -err::kInval; }

long pipe_ioctl(OpenFile* f, uint64_t request, uint64_t arg) {
    if (request != FIONREAD || f->kind == FileKind::PipeWrite)
        return -err::kNotTy;
    int32_t n = static_cast<int32_t>(used(f->pipe));
    return copy_to_user(arg, &n, sizeof n);
}

long release_read_end(OpenFile* f) {
    pipe_close_end(f->pipe, false);
    return 0;
}
long release_write_end(OpenFile* f) {
    pipe_close_end(f->pipe, true);
    return 0;
}

// A FIFO's open file holds the ends its access mode names (O_RDWR: both).
bool fifo_reads(const OpenFile* f) { return (f->flags & O_ACCMODE) != O_WRONLY; }
bool fifo_writes(const OpenFile* f) { return (f->flags & O_ACCMODE) != O_RDONLY; }

int fifo_poll(OpenFile* f) {
    int r = 0;
    if (fifo_reads(f))
        r |= read_end_poll(f);
    if (fifo_writes(f))
        r |= write_end_poll(f) & ~(fifo_reads(f) ? POLLERR : 0);  // O_RDWR is its own reader
    return r;
}
WaitQueue* fifo_queue(OpenFile* f) { return fifo_reads(f) ? &f->pipe->readable : &f->pipe->writable; }

long release_fifo(OpenFile* f) {
    if (!f->pipe)
        return 0;  // fifo_open failed
    if (fifo_reads(f))
        pipe_close_end(f->pipe, false);
    if (fifo_writes(f))
        pipe_close_end(f->pipe, true);
    return 0;
}

Pipe* alloc_pipe() {
    for (auto& p : g_pipes) {
        if (p.used)
            continue;
        if (!p.data) {
            p.data = static_cast<uint8_t*>(kmem_alloc(kCap));
            if (!p.data)
                return nullptr;
        }
        p.used = true;
        p.named = false;
        p.readers = p.writers = 0;
        p.head = p.tail = 0;
        return &p;
    }
    return nullptr;
}

}  // namespace

Pipe* pipe_create() {
    Pipe* p = alloc_pipe();
    if (p)
        p->readers = p->writers = 1;
    return p;
}

size_t pipe_available(const Pipe* p) { return used(p); }
size_t pipe_room(const Pipe* p) { return kCap - used(p); }

long pipe_wait_data(OpenFile* f, bool nonblock) {
    Pipe* p = f->pipe;
    if (used(p) == 0 && p->writers) {
        if (nonblock || nonblocking(f))
            return -err::kAgain;
        if (wait_event_interruptible(p->readable, [p] { return used(p) != 0 || !p->writers; }) ==
            WaitResult::Interrupted)
            return -ERESTARTSYS;
    }
    return used(p) ? 1 : 0;
}

long pipe_wait_room(OpenFile* f, bool nonblock) {
    Pipe* p = f->pipe;
    if (p->readers && used(p) == kCap) {
        if (nonblock || nonblocking(f))
            return -err::kAgain;
        if (wait_event_interruptible(p->writable, [p] { return used(p) < kCap || !p->readers; }) ==
            WaitResult::Interrupted)
            return -ERESTARTSYS;
    }
    return p->readers ? 1 : signal_epipe();
}

void pipe_open_ends(Pipe* p, bool read_end, bool write_end) {
    if (read_end) {
        ++p->readers;
        wake_up(p->writable);
    }
    if (write_end) {
        ++p->writers;
        wake_up(p->readable);
    }
}

size_t pipe_peek(const Pipe* p, void* buf, size_t len) {
    size_t n = len < used(p) ? len : used(p);
    for (size_t i = 0; i < n; ++i)
        static_cast<uint8_t*>(buf)[i] = p->data[(p->tail + i) % kCap];
    return n;
}

void pipe_close_end(Pipe* p, bool write_end) {
    if (write_end)
        --p->writers;
    else
        --p->readers;
    // Sleepers re-check: readers see EOF, writers see EPIPE.
    wake_up(p->readable);
    wake_up(p->writable);
    if (!p->readers && !p->writers)
        p->used = false;  // a FIFO's unread data goes with its last opener, as on Linux
}

// Linux's fifo_open (man 7 fifo): O_RDONLY waits for a writer, O_WRONLY for
// a reader (with O_NONBLOCK: ENXIO when there is none), O_RDWR never waits.
long fifo_open(OpenFile* f, const Stat& node) {
    Pipe* p = nullptr;
    for (auto& q : g_pipes)
        if (q.used && q.named && q.node.dev == node.dev && q.node.ino == node.ino)
            p = &q;
    if (!p) {
        if (!(p = alloc_pipe()))
            return -err::kNFile;
        p->named = true;
    }
    memcpy(&p->node, &node, sizeof node);
    bool nonblock = f->flags & O_NONBLOCK;
    switch (f->flags & O_ACCMODE) {
    case O_RDONLY:
        ++p->readers;
        f->pipe = p;
        wake_up(p->writable);
        if (!nonblock)
            wait_event(p->readable, [p] { return p->writers != 0; });
        return 0;
    case O_WRONLY:
        if (!p->readers && nonblock) {
            if (!p->writers)
                p->used = false;
            return -err::kNxio;
        }
        ++p->writers;
        f->pipe = p;
        wake_up(p->readable);
        wait_event(p->writable, [p] { return p->readers != 0; });
        return 0;
    default:
        ++p->readers;
        ++p->writers;
        f->pipe = p;
        wake_up(p->readable);
        wake_up(p->writable);
        return 0;
    }
}

const FileOps kPipeReadOps = {
    .read = pipe_read,
    .write = nullptr,
    .seek = nullptr,
    .stat = pipe_stat,
    .sync = pipe_sync,
    .ioctl = pipe_ioctl,
    .poll = read_end_poll,
    .wait_queue = read_end_queue,
    .release = release_read_end,
    .tty = false,
    .seekable = false,
};

const FileOps kFifoOps = {
    .read = pipe_read,
    .write = pipe_write,
    .seek = nullptr,
    .stat = pipe_stat,
    .sync = pipe_sync,
    .ioctl = pipe_ioctl,
    .poll = fifo_poll,
    .wait_queue = fifo_queue,
    .release = release_fifo,
    .tty = false,
    .seekable = false,
};

const FileOps kPipeWriteOps = {
    .read = nullptr,
    .write = pipe_write,
    .seek = nullptr,
    .stat = pipe_stat,
    .sync = pipe_sync,
    .ioctl = pipe_ioctl,
    .poll = write_end_poll,
    .wait_queue = write_end_queue,
    .release = release_write_end,
    .tty = false,
    .seekable = false,
};

}  // namespace lightvm::guest

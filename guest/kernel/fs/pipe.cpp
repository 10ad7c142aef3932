#include "kernel/fs/pipe.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

struct Pipe {
    bool used;
    bool reader, writer;
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
    if (used(p) == 0 && p->writer) {
        if (nonblocking(f))
            return -err::kAgain;
        wait_event(p->readable, [p] { return used(p) != 0 || !p->writer; });
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
        if (!p->reader) {
            if (done)
                return static_cast<long>(done);
            exit_vm(128 + SIGPIPE, SIGPIPE);  // SIGPIPE's default action (no signal delivery yet)
        }
        size_t n = copy_in(p, in + done, len - done);
        done += n;
        if (n)
            wake_up(p->readable);
        if (done == len)
            break;
        if (nonblocking(f))
            return done ? static_cast<long>(done) : -err::kAgain;
        wait_event(p->writable, [p] { return used(p) < kCap || !p->reader; });
    }
    return static_cast<long>(done);
}

int read_end_poll(OpenFile* f) {
    Pipe* p = f->pipe;
    int r = used(p) ? POLLIN : 0;
    if (!p->writer)
        r |= POLLHUP;  // readable too: read() returns 0
    return r;
}

int write_end_poll(OpenFile* f) {
    Pipe* p = f->pipe;
    if (!p->reader)
        return POLLERR;
    return used(p) < kCap ? POLLOUT : 0;
}

WaitQueue* read_end_queue(OpenFile* f) { return &f->pipe->readable; }
WaitQueue* write_end_queue(OpenFile* f) { return &f->pipe->writable; }

// Each pipe is its own inode on pipefs (both ends report it, as on Linux).
long pipe_stat(OpenFile* f, Stat* out) {
    return synthetic_stat(out, ident::kDevPipe, static_cast<uint64_t>(f->pipe - g_pipes) + 1, 0010000 | 0600, 0);  // S_IFIFO (hosted tests lack the uapi name)
}
long pipe_sync(OpenFile*, bool) { return -err::kInval; }

long pipe_ioctl(OpenFile* f, uint64_t request, uint64_t arg) {
    if (request != FIONREAD || f->kind != FileKind::PipeRead)
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

}  // namespace

Pipe* pipe_create() {
    for (auto& p : g_pipes) {
        if (p.used)
            continue;
        if (!p.data) {
            p.data = static_cast<uint8_t*>(kmem_alloc(kCap));
            if (!p.data)
                return nullptr;
        }
        p.used = p.reader = p.writer = true;
        p.head = p.tail = 0;
        return &p;
    }
    return nullptr;
}

size_t pipe_available(const Pipe* p) { return used(p); }

void pipe_close_end(Pipe* p, bool write_end) {
    if (write_end)
        p->writer = false;
    else
        p->reader = false;
    // Sleepers re-check: readers see EOF, writers see EPIPE.
    wake_up(p->readable);
    wake_up(p->writable);
    if (!p->reader && !p->writer)
        p->used = false;
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

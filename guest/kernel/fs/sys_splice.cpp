// Copies between descriptors inside the kernel: copy_file_range, splice,
// tee and vmsplice (sendfile is in sys_io.cpp). Linux moves page
// references; here the bytes go through a buffer in guest RAM, and only
// as many as the destination takes without sleeping are taken from the
// source, so nothing is lost when a pipe fills up or a call is
// interrupted. man 2 copy_file_range, splice, tee, vmsplice.
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/pipe.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/syscalls/syscall.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint64_t kSpliceNonblock = 0x2;  // SPLICE_F_NONBLOCK (glibc's <fcntl.h>, no uapi header)
constexpr uint64_t kSpliceFlags = 0xf;     // MOVE, NONBLOCK, MORE, GIFT: the others are hints
constexpr size_t kChunk = 65536;

// The pipe end a file is for splice: the read end (or a FIFO open for
// reading) as a source, the write end (or a FIFO open for writing) as a
// destination.
bool pipe_source(const OpenFile* f) {
    return f->kind == FileKind::PipeRead || (f->kind == FileKind::Fifo && (f->flags & O_ACCMODE) != O_WRONLY);
}
bool pipe_sink(const OpenFile* f) {
    return f->kind == FileKind::PipeWrite || (f->kind == FileKind::Fifo && (f->flags & O_ACCMODE) != O_RDONLY);
}
bool is_pipe(const OpenFile* f) {
    return f->kind == FileKind::PipeRead || f->kind == FileKind::PipeWrite || f->kind == FileKind::Fifo;
}
bool readable(const OpenFile* f) { return (f->flags & O_ACCMODE) != O_WRONLY; }
bool writable(const OpenFile* f) { return (f->flags & O_ACCMODE) != O_RDONLY; }

// A user loff_t* argument: absent, or its value (checked: EFAULT, EINVAL).
struct Offset {
    uint64_t user = 0;
    int64_t value = -1;
    long read(uint64_t addr) {
        user = addr;
        if (!addr)
            return 0;
        if (copy_from_user(&value, addr, sizeof value) < 0)
            return -err::kFault;
        return value < 0 ? -err::kInval : 0;
    }
    // Where the next byte of f is: the explicit offset or the file's own
    // (-1 for streams, which have none).
    int64_t at(const OpenFile* f) const {
        if (user)
            return value;
        return file_seekable(f) ? static_cast<int64_t>(f->offset) : -1;
    }
    long advance(OpenFile* f, uint64_t n) {
        if (user) {
            value += static_cast<int64_t>(n);
            return copy_to_user(user, &value, sizeof value) < 0 ? -err::kFault : 0;
        }
        if (file_seekable(f))
            f->offset += n;
        return 0;
    }
};

// Moves up to len bytes from `in` (at in_at, or its stream position when
// -1) to `out`, in chunks, stopping early when the source runs dry. The
// caller made sure `out` takes len bytes without blocking (or is a file).
// Returns the bytes moved or the first error.
long move(OpenFile* in, int64_t in_at, OpenFile* out, int64_t out_at, uint64_t len, uint8_t* buf) {
    uint64_t done = 0;
    while (done < len) {
        size_t chunk = len - done < kChunk ? len - done : kChunk;
        long r = file_read(in, buf, chunk, in_at < 0 ? -1 : in_at + static_cast<int64_t>(done));
        if (r <= 0)
            return done ? static_cast<long>(done) : r;
        long w = file_write(out, buf, static_cast<size_t>(r), out_at < 0 ? -1 : out_at + static_cast<int64_t>(done));
        if (w < 0)
            return done ? static_cast<long>(done) : w;
        done += static_cast<uint64_t>(w);
        if (w < r || static_cast<size_t>(r) < chunk)
            break;  // the end of the file, or what a pipe held
        if (in_at < 0 && !(is_pipe(in) && pipe_available(in->pipe)))
            break;  // a stream (socket, terminal): what one read gave, as Linux, never waiting for more
    }
    return static_cast<long>(done);
}

// The buffer for one call (guest RAM; a call may sleep, so not shared).
struct Buffer {
    uint8_t* p = static_cast<uint8_t*>(kmem_alloc(kChunk));
    ~Buffer() {
        if (p)
            kmem_free(p, kChunk);
    }
};

// The file system a regular file lives on, for copy_file_range's EXDEV:
// shares (the host's files) count as one, each tmpfs instance (and the
// memfds) as its own.
uint32_t fs_of(OpenFile* f) { return f->kind == FileKind::HostFile ? 0 : 1 + tmpfs_file_instance(f); }

long splice_pipe_to_pipe(OpenFile* in, OpenFile* out, uint64_t len, bool nonblock, uint8_t* buf) {
    if (in->pipe == out->pipe)
        return -err::kInval;
    long r = pipe_wait_data(in, nonblock);
    if (r <= 0)
        return r;
    if ((r = pipe_wait_room(out, nonblock)) < 0)
        return r;
    size_t room = pipe_room(out->pipe), have = pipe_available(in->pipe);
    uint64_t n = len < have ? len : have;
    n = n < room ? n : room;
    return move(in, -1, out, -1, n, buf);
}

}  // namespace

long sys_copy_file_range(const SyscallArgs& a) {
    OpenFile* in = fd_get(fd_arg(a.a0));
    OpenFile* out = fd_get(fd_arg(a.a2));
    if (!in || !out)
        return -err::kBadF;
    if (a.a5)
        return -err::kInval;
    Offset oin, oout;
    long r;
    if ((r = oin.read(a.a1)) < 0 || (r = oout.read(a.a3)) < 0)
        return r;
    Stat sin, sout;
    if ((r = file_stat(in, &sin)) < 0 || (r = file_stat(out, &sout)) < 0)
        return r;
    if ((sin.mode & S_IFMT) == S_IFDIR || (sout.mode & S_IFMT) == S_IFDIR)
        return -err::kIsDir;
    if ((sin.mode & S_IFMT) != S_IFREG || (sout.mode & S_IFMT) != S_IFREG)
        return -err::kInval;
    if (!readable(in) || !writable(out) || (out->flags & O_APPEND))
        return -err::kBadF;
    bool files = (in->kind == FileKind::HostFile || in->kind == FileKind::TmpFile) &&
                 (out->kind == FileKind::HostFile || out->kind == FileKind::TmpFile);
    if (!files)
        return -err::kInval;
    if (fs_of(in) != fs_of(out))
        return -err::kXDev;  // Linux (5.19+) copies across file systems only when they implement it
    uint64_t len = a.a4;
    int64_t from = oin.at(in), to = oout.at(out);
    if (len > static_cast<uint64_t>(INT64_MAX - from) || len > static_cast<uint64_t>(INT64_MAX - to))
        return -err::kOverflow;
    if (sin.dev == sout.dev && sin.ino == sout.ino && from < to + static_cast<int64_t>(len) &&
        to < from + static_cast<int64_t>(len))
        return -err::kInval;  // overlapping ranges of one file
    if (from >= sin.size || len == 0)
        return 0;
    if (len > static_cast<uint64_t>(sin.size - from))
        len = static_cast<uint64_t>(sin.size - from);
    Buffer buf;
    if (!buf.p)
        return -err::kNoMem;
    long n = move(in, from, out, to, len, buf.p);
    if (n <= 0)
        return n;
    if ((r = oin.advance(in, static_cast<uint64_t>(n))) < 0 || (r = oout.advance(out, static_cast<uint64_t>(n))) < 0)
        return r;
    return n;
}

long sys_splice(const SyscallArgs& a) {
    OpenFile* in = fd_get(fd_arg(a.a0));
    OpenFile* out = fd_get(fd_arg(a.a2));
    if (!in || !out)
        return -err::kBadF;
    if (a.a5 & ~kSpliceFlags)
        return -err::kInval;
    bool nonblock = a.a5 & kSpliceNonblock;
    bool from_pipe = pipe_source(in), to_pipe = pipe_sink(out);
    if (!readable(in) || !writable(out))
        return -err::kBadF;
    if (!from_pipe && !to_pipe)
        return -err::kInval;
    if ((from_pipe && a.a1) || (to_pipe && a.a3))
        return -err::kSPipe;  // a pipe has no offset
    if (!to_pipe && (out->flags & O_APPEND))
        return -err::kInval;
    Offset oin, oout;
    long r;
    if ((r = oin.read(a.a1)) < 0 || (r = oout.read(a.a3)) < 0)
        return r;
    if ((a.a1 && !file_seekable(in)) || (a.a3 && !file_seekable(out)))
        return -err::kSPipe;
    uint64_t len = a.a4;
    if (len == 0)
        return 0;
    Buffer buf;
    if (!buf.p)
        return -err::kNoMem;
    if (from_pipe && to_pipe)
        return splice_pipe_to_pipe(in, out, len, nonblock, buf.p);
    if (from_pipe) {
        if ((r = pipe_wait_data(in, nonblock)) <= 0)
            return r;
        uint64_t have = pipe_available(in->pipe);
        r = move(in, -1, out, oout.at(out), len < have ? len : have, buf.p);
        return r <= 0 ? r : oout.advance(out, static_cast<uint64_t>(r)) < 0 ? -err::kFault : r;
    }
    if ((r = pipe_wait_room(out, nonblock)) < 0)
        return r;
    uint64_t room = pipe_room(out->pipe);
    r = move(in, oin.at(in), out, -1, len < room ? len : room, buf.p);
    return r <= 0 ? r : oin.advance(in, static_cast<uint64_t>(r)) < 0 ? -err::kFault : r;
}

// tee: duplicates up to len bytes of one pipe into another without
// consuming them.
long sys_tee(const SyscallArgs& a) {
    OpenFile* in = fd_get(fd_arg(a.a0));
    OpenFile* out = fd_get(fd_arg(a.a1));
    if (!in || !out)
        return -err::kBadF;
    if (a.a3 & ~kSpliceFlags)
        return -err::kInval;
    if (!pipe_source(in) || !pipe_sink(out) || in->pipe == out->pipe)
        return -err::kInval;
    bool nonblock = a.a3 & kSpliceNonblock;
    uint64_t len = a.a2;
    if (len == 0)
        return 0;
    long r = pipe_wait_data(in, nonblock);
    if (r <= 0)
        return r;
    if ((r = pipe_wait_room(out, nonblock)) < 0)
        return r;
    Buffer buf;
    if (!buf.p)
        return -err::kNoMem;
    size_t n = len < kChunk ? len : kChunk;
    n = n < pipe_room(out->pipe) ? n : pipe_room(out->pipe);
    n = pipe_peek(in->pipe, buf.p, n);
    return file_write(out, buf.p, n, -1);
}

// vmsplice: user memory into a pipe (a writev) or, from a read end, out of
// it (a readv). The pages are copied (SPLICE_F_GIFT is only a hint).
long sys_vmsplice(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if (a.a3 & ~kSpliceFlags)
        return -err::kInval;
    bool to_pipe = pipe_sink(f), from_pipe = pipe_source(f);
    if (!to_pipe && !from_pipe)
        return -err::kBadF;
    if (a.a2 > 1024)  // UIO_MAXIOV
        return -err::kInval;
    bool nonblock = a.a3 & kSpliceNonblock;
    long r = to_pipe ? pipe_wait_room(f, nonblock) : pipe_wait_data(f, nonblock);
    if (r <= 0)
        return r;
    Buffer buf;
    if (!buf.p)
        return -err::kNoMem;
    uint64_t done = 0;
    for (uint64_t i = 0; i < a.a2; ++i) {
        struct {
            uint64_t base, len;
        } iov;
        if (copy_from_user(&iov, a.a1 + i * sizeof iov, sizeof iov) < 0)
            return done ? static_cast<long>(done) : -err::kFault;
        for (uint64_t off = 0; off < iov.len;) {
            size_t avail = to_pipe ? pipe_room(f->pipe) : pipe_available(f->pipe);
            size_t chunk = iov.len - off < kChunk ? iov.len - off : kChunk;
            chunk = chunk < avail ? chunk : avail;
            if (chunk == 0)
                return static_cast<long>(done);  // full (or empty): what was moved
            long n;
            if (to_pipe) {
                if (copy_from_user(buf.p, iov.base + off, chunk) < 0)
                    return done ? static_cast<long>(done) : -err::kFault;
                n = file_write(f, buf.p, chunk, -1);
            } else {
                n = static_cast<long>(pipe_peek(f->pipe, buf.p, chunk));
                if (copy_to_user(iov.base + off, buf.p, static_cast<size_t>(n)) < 0)
                    return done ? static_cast<long>(done) : -err::kFault;
                n = file_read(f, buf.p, static_cast<size_t>(n), -1);  // consume what was copied
            }
            if (n <= 0)
                return done ? static_cast<long>(done) : n;
            done += static_cast<uint64_t>(n);
            off += static_cast<uint64_t>(n);
        }
    }
    return static_cast<long>(done);
}

}  // namespace lightvm::guest

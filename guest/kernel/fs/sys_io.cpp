// Syscalls on file descriptors: read/write family, close, dup, fcntl,
// ioctl, poll, pipes. What each kind of file does lives in file_ops.cpp.
#include "kernel/dev/console.hpp"
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/fs/file_cache.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/locks.hpp"
#include "kernel/fs/pipe.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

// struct iovec with the base as a number: a user address, checked before use.
struct Iovec {
    uint64_t base, len;
};
static_assert(sizeof(Iovec) == sizeof(iovec) && offsetof(Iovec, len) == offsetof(iovec, iov_len));

// Small vectors go through one bounce buffer: one exit instead of one per
// iovec (musl's stdio writes header+data as two iovecs).
static uint8_t g_bounce[65536];

static long rw(OpenFile* f, uint64_t buf, uint64_t len, int64_t at, bool writing) {
    if (writing ? !access_ok(buf, len) : !access_ok_write(buf, len))
        return -err::kFault;
    return writing ? file_write(f, reinterpret_cast<const void*>(buf), len, at)
                   : file_read(f, reinterpret_cast<void*>(buf), len, at);
}

static long rwv(long fd, uint64_t iov_addr, uint64_t count, int64_t at, bool writing) {
    OpenFile* f = fd_get(fd);
    if (!f)
        return -err::kBadF;
    if (count > UIO_MAXIOV)
        return -err::kInval;
    if (!access_ok(iov_addr, count * sizeof(Iovec)))
        return -err::kFault;
    auto* iov = reinterpret_cast<const Iovec*>(iov_addr);
    uint64_t total = 0;
    for (uint64_t i = 0; i < count; ++i) {
        // {NULL, 0} is fine (musl sends it); a read fills the buffers.
        if (iov[i].len && (writing ? !access_ok(iov[i].base, iov[i].len) : !access_ok_write(iov[i].base, iov[i].len)))
            return -err::kFault;
        total += iov[i].len;
    }
    bool exits = f->kind == FileKind::HostFile || f->kind == FileKind::Block || f->kind == FileKind::Stdin;
    if (exits && count > 1 && total <= sizeof g_bounce) {
        if (writing) {
            uint64_t n = 0;
            for (uint64_t i = 0; i < count; ++i) {
                if (iov[i].len)
                    memcpy(g_bounce + n, reinterpret_cast<const void*>(iov[i].base), iov[i].len);
                n += iov[i].len;
            }
            return file_write(f, g_bounce, n, at);
        }
        long r = file_read(f, g_bounce, total, at);
        if (r <= 0)
            return r;
        uint64_t left = static_cast<uint64_t>(r), off = 0;
        for (uint64_t i = 0; i < count && left; ++i) {
            uint64_t n = iov[i].len < left ? iov[i].len : left;
            if (n)
                memcpy(reinterpret_cast<void*>(iov[i].base), g_bounce + off, n);
            off += n;
            left -= n;
        }
        return r;
    }
    long done = 0;
    for (uint64_t i = 0; i < count; ++i) {
        if (iov[i].len == 0)
            continue;
        int64_t pos = at < 0 ? -1 : at + done;
        long r = rw(f, iov[i].base, iov[i].len, pos, writing);
        if (r < 0)
            return done ? done : r;
        done += r;
        if (static_cast<uint64_t>(r) < iov[i].len)
            break;  // short transfer ends the vector, as on Linux
    }
    return done;
}

long sys_read(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    return f ? rw(f, a.a1, a.a2, -1, false) : -err::kBadF;
}
long sys_write(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    return f ? rw(f, a.a1, a.a2, -1, true) : -err::kBadF;
}
// pread/pwrite/preadv/pwritev: the fd must be seekable and the offset (a3) >= 0.
static long positioned(const SyscallArgs& a, bool writing, bool vector) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if (!file_seekable(f))
        return -err::kSPipe;
    if (static_cast<int64_t>(a.a3) < 0)
        return -err::kInval;
    auto at = static_cast<int64_t>(a.a3);
    return vector ? rwv(fd_arg(a.a0), a.a1, a.a2, at, writing) : rw(f, a.a1, a.a2, at, writing);
}
long sys_pread64(const SyscallArgs& a) { return positioned(a, false, false); }
long sys_pwrite64(const SyscallArgs& a) { return positioned(a, true, false); }
long sys_preadv(const SyscallArgs& a) { return positioned(a, false, true); }
long sys_pwritev(const SyscallArgs& a) { return positioned(a, true, true); }
// preadv2/pwritev2: offset -1 is the file's own position; RWF_* flags
// other than Linux's are EOPNOTSUPP. RWF_APPEND writes at the end,
// RWF_DSYNC/RWF_SYNC write through; HIPRI and NOWAIT change nothing here
// (nothing waits on a device).
static long positioned2(const SyscallArgs& a, bool writing) {
    constexpr uint64_t kRwf = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;
    if (a.a5 & ~kRwf)
        return -err::kOpNotSupp;
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    const bool at_own = static_cast<int64_t>(a.a3) == -1;
    long r;
    if (writing && (a.a5 & RWF_APPEND) && file_seekable(f)) {
        // At the end whatever the offset says (the host handle need not be
        // O_APPEND); the file position moves only for offset -1.
        Stat st;
        if ((r = file_stat(f, &st)) < 0)
            return r;
        r = rwv(fd_arg(a.a0), a.a1, a.a2, st.size, true);
        if (r >= 0 && at_own)
            f->offset = static_cast<uint64_t>(st.size + r);
    } else if (at_own) {
        r = rwv(fd_arg(a.a0), a.a1, a.a2, -1, writing);
    } else {
        r = positioned(a, writing, true);
    }
    if (r >= 0 && writing && (a.a5 & (RWF_DSYNC | RWF_SYNC))) {
        long s = file_sync(f, !(a.a5 & RWF_SYNC));
        if (s < 0)
            return s;
    }
    return r;
}
long sys_preadv2(const SyscallArgs& a) { return positioned2(a, false); }
long sys_pwritev2(const SyscallArgs& a) { return positioned2(a, true); }
long sys_readv(const SyscallArgs& a) { return rwv(fd_arg(a.a0), a.a1, a.a2, -1, false); }
long sys_writev(const SyscallArgs& a) { return rwv(fd_arg(a.a0), a.a1, a.a2, -1, true); }

long sys_lseek(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    return f ? file_seek(f, static_cast<int64_t>(a.a1), static_cast<int>(a.a2)) : -err::kBadF;
}

long sys_close(const SyscallArgs& a) { return fd_close(fd_arg(a.a0)); }

long sys_close_range(const SyscallArgs& a) {
    if (a.a0 > a.a1 || (a.a2 & ~uint64_t{CLOSE_RANGE_CLOEXEC}))
        return -err::kInval;
    uint64_t last = a.a1 < kMaxFds ? a.a1 : kMaxFds - 1;
    for (uint64_t fd = a.a0; fd <= last && fd < kMaxFds; ++fd) {
        if (a.a2 & CLOSE_RANGE_CLOEXEC)
            fd_set_cloexec(static_cast<long>(fd), true);
        else
            fd_close(static_cast<long>(fd));
    }
    return 0;
}

long sys_dup(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    file_get(f);
    long fd = fd_install(f, 0, false);
    if (fd < 0)
        file_put(f);
    return fd;
}

static long dup_to(long from, long to, bool cloexec) {
    OpenFile* f = fd_get(from);
    if (!f)
        return -err::kBadF;
    if (to < 0 || to >= fd_limit())
        return -err::kBadF;
    file_get(f);
    return fd_install_at(f, to, cloexec);
}

long sys_dup2(const SyscallArgs& a) {
    if (!fd_get(fd_arg(a.a0)))
        return -err::kBadF;
    if (a.a0 == a.a1)
        return fd_arg(a.a1);
    return dup_to(fd_arg(a.a0), fd_arg(a.a1), false);
}

long sys_dup3(const SyscallArgs& a) {
    if (a.a0 == a.a1 || (a.a2 & ~uint64_t{O_CLOEXEC}))
        return -err::kInval;
    return dup_to(fd_arg(a.a0), fd_arg(a.a1), a.a2 & O_CLOEXEC);
}

long sys_fcntl(const SyscallArgs& a) {
    long fd = fd_arg(a.a0);
    OpenFile* f = fd_get(fd);
    if (!f)
        return -err::kBadF;
    switch (a.a1) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
    {
        if (static_cast<int64_t>(a.a2) < 0 || a.a2 >= static_cast<uint64_t>(fd_limit()))
            return -err::kInval;
        file_get(f);
        long r = fd_install(f, fd_arg(a.a2), a.a1 == F_DUPFD_CLOEXEC);
        if (r < 0)
            file_put(f);
        return r;
    }
    case F_GETFD:
        return fd_cloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
        fd_set_cloexec(fd, a.a2 & FD_CLOEXEC);
        return 0;
    case F_GETFL:
        return static_cast<long>(f->flags);
    case F_SETFL:  // only O_APPEND and O_NONBLOCK can change
        f->flags = (f->flags & ~(O_APPEND | O_NONBLOCK)) | (static_cast<uint32_t>(a.a2) & (O_APPEND | O_NONBLOCK));
        return 0;
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        return lock_fcntl(f, static_cast<uint32_t>(a.a1), a.a2);
    case F_ADD_SEALS:  // memfds and other tmpfs files only, as on Linux (shmem)
        return f->kind == FileKind::TmpFile ? tmpfs_add_seals(f, static_cast<uint32_t>(a.a2)) : -err::kInval;
    case F_GET_SEALS:
        return f->kind == FileKind::TmpFile ? tmpfs_get_seals(f) : -err::kInval;
    default:
        return -err::kInval;
    }
}

long sys_fstat(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    Stat st;
    long r = file_stat(f, &st);
    return r < 0 ? r : copy_to_user(a.a1, &st, sizeof st);
}

long sys_fsync(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    return f ? file_sync(f, false) : -err::kBadF;
}
long sys_fdatasync(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    return f ? file_sync(f, true) : -err::kBadF;
}

long sys_ioctl(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    // Linux's cmd is an unsigned int: musl's ioctl(int fd, int req, ...)
    // passes _IOR requests (bit 31 set) sign-extended.
    const uint64_t request = static_cast<uint32_t>(a.a1);
    if (request == FIONBIO) {  // any file, as on Linux: the O_NONBLOCK flag
        int32_t on;
        if (copy_from_user(&on, a.a2, sizeof on) < 0)
            return -err::kFault;
        f->flags = on ? f->flags | O_NONBLOCK : f->flags & ~uint32_t{O_NONBLOCK};
        return 0;
    }
    return file_ioctl(f, request, a.a2);
}

// One pass over the set: how many fds have something to report. POLLHUP,
// POLLERR and POLLNVAL are reported whether asked for or not.
static long poll_scan(pollfd* p, uint64_t n) {
    long ready = 0;
    for (uint64_t i = 0; i < n; ++i) {
        p[i].revents = 0;
        if (p[i].fd < 0)
            continue;
        OpenFile* f = fd_get(p[i].fd);
        int r = f ? file_poll(f) & (p[i].events | POLLHUP | POLLERR) : POLLNVAL;
        p[i].revents = static_cast<int16_t>(r);
        if (r)
            ++ready;
    }
    return ready;
}

// poll/ppoll: scan; if nothing is ready, sleep on every polled file's wait
// queue (files without one are always ready) until one wakes us or the
// timeout passes. timeout_ns < 0: no timeout.
static long poll_wait(pollfd* p, uint64_t n, int64_t timeout_ns);
static long do_poll(uint64_t addr, uint64_t n, int64_t timeout_ns) {
    if (n > kMaxFds)
        return -err::kInval;
    static pollfd fds[kMaxFds];  // one task polls at a time (one CPU, no preemption)
    if (n && copy_from_user(fds, addr, n * sizeof(pollfd)) < 0)
        return -err::kFault;
    long r = poll_wait(fds, n, timeout_ns);
    if (n && copy_to_user(addr, fds, n * sizeof(pollfd)) < 0)
        return -err::kFault;
    return r;
}
static long poll_wait(pollfd* p, uint64_t n, int64_t timeout_ns) {
    uint64_t deadline = timeout_ns > 0 ? monotonic_ns() + static_cast<uint64_t>(timeout_ns) : 0;
    for (;;) {
        long ready = poll_scan(p, n);
        if (!ready && (timeout_ns == 0 || deadline_passed(deadline)) && net_refresh())
            ready = poll_scan(p, n);  // host sockets' state as of now, not of their last call
        if (ready || timeout_ns == 0 || deadline_passed(deadline))
            return ready;
        if (signal_pending(current()))
            return -ERESTARTNOHAND;  // a handler makes it EINTR (man 7 signal: never restarted then)
        constexpr int kMaxQueues = 64;  // distinct queues: pipes have two each
        WaitEntry entries[kMaxQueues];
        int ne = 0;
        for (uint64_t i = 0; i < n && ne < kMaxQueues; ++i) {
            OpenFile* f = p[i].fd >= 0 ? fd_get(p[i].fd) : nullptr;
            WaitQueue* q = f ? file_wait_queue(f) : nullptr;
            bool seen = false;
            for (int k = 0; k < ne && !seen; ++k)
                seen = entries[k].queue == q;
            if (q && !seen)
                wait_add(*q, entries[ne++], current());
        }
        sched_block(deadline);
        for (int k = 0; k < ne; ++k)
            wait_remove(entries[k]);
    }
}

// select/pselect6 through poll: fd_set bits become pollfds (a kernel
// array) and back. Linux's mapping: readable = POLLIN|POLLHUP|POLLERR,
// writable = POLLOUT|POLLERR, exceptional = POLLPRI.
static pollfd g_select_fds[kMaxFds];

static long do_select(uint64_t nfds_arg, uint64_t r, uint64_t w, uint64_t e, int64_t timeout_ns) {
    int64_t nfds = static_cast<int32_t>(nfds_arg);
    if (nfds < 0)
        return -err::kInval;
    if (nfds > kMaxFds)
        nfds = kMaxFds;
    uint64_t bytes = (static_cast<uint64_t>(nfds) + 63) / 64 * 8;
    uint64_t sets[3][kMaxFds / 64] = {};
    const uint64_t addrs[3] = {r, w, e};
    for (int k = 0; k < 3; ++k)
        if (addrs[k] && copy_from_user(sets[k], addrs[k], bytes) < 0)
            return -err::kFault;
    uint64_t n = 0;
    for (int64_t fd = 0; fd < nfds; ++fd) {
        uint64_t bit = 1ull << (fd % 64);
        short ev = 0;
        if (sets[0][fd / 64] & bit)
            ev |= POLLIN;
        if (sets[1][fd / 64] & bit)
            ev |= POLLOUT;
        if (sets[2][fd / 64] & bit)
            ev |= POLLPRI;
        if (!ev)
            continue;
        if (!fd_get(fd))
            return -err::kBadF;
        g_select_fds[n++] = pollfd{static_cast<int>(fd), ev, 0};
    }
    long ready = poll_wait(g_select_fds, n, timeout_ns);
    if (ready < 0)
        return ready;
    uint64_t out[3][kMaxFds / 64] = {};
    long count = 0;
    for (uint64_t i = 0; i < n; ++i) {
        const pollfd& p = g_select_fds[i];
        uint64_t bit = 1ull << (p.fd % 64);
        int idx = p.fd / 64;
        if ((p.events & POLLIN) && (p.revents & (POLLIN | POLLHUP | POLLERR)))
            out[0][idx] |= bit, ++count;
        if ((p.events & POLLOUT) && (p.revents & (POLLOUT | POLLERR)))
            out[1][idx] |= bit, ++count;
        if ((p.events & POLLPRI) && (p.revents & POLLPRI))
            out[2][idx] |= bit, ++count;
    }
    for (int k = 0; k < 3; ++k)
        if (addrs[k] && copy_to_user(addrs[k], out[k], bytes) < 0)
            return -err::kFault;
    return count;
}

long sys_select(const SyscallArgs& a) {
    int64_t timeout = -1;
    if (a.a4) {
        struct {
            int64_t sec, usec;
        } tv;
        if (copy_from_user(&tv, a.a4, sizeof tv) < 0)
            return -err::kFault;
        if (tv.sec < 0 || tv.usec < 0)
            return -err::kInval;
        timeout = tv.sec > (INT64_MAX / 1000000000 - 1) ? INT64_MAX : tv.sec * 1000000000 + tv.usec * 1000;
    }
    return do_select(a.a0, a.a1, a.a2, a.a3, timeout);
}

long sys_pselect6(const SyscallArgs& a) {
    int64_t timeout = -1;
    if (a.a4) {
        __kernel_timespec ts;
        if (copy_from_user(&ts, a.a4, sizeof ts) < 0)
            return -err::kFault;
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return -err::kInval;
        timeout = ts.tv_sec > (INT64_MAX / 1000000000 - 1) ? INT64_MAX : ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    if (a.a5) {  // {const sigset_t* ss; size_t ss_len}
        uint64_t ss[2];
        if (copy_from_user(ss, a.a5, sizeof ss) < 0)
            return -err::kFault;
        if (long r = signal_temp_mask(ss[0], ss[1]); r < 0)
            return r;
    }
    return signal_temp_mask_end(do_select(a.a0, a.a1, a.a2, a.a3, timeout));
}

long sys_poll(const SyscallArgs& a) {
    auto ms = static_cast<int32_t>(static_cast<uint32_t>(a.a2));
    return do_poll(a.a0, a.a1, ms < 0 ? -1 : int64_t{ms} * 1000000);
}

long sys_ppoll(const SyscallArgs& a) {
    int64_t timeout = -1;
    if (a.a2) {
        __kernel_timespec ts;
        if (copy_from_user(&ts, a.a2, sizeof ts) < 0)
            return -err::kFault;
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return -err::kInval;
        timeout = ts.tv_sec > (INT64_MAX / 1000000000 - 1) ? INT64_MAX : ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    if (long r = signal_temp_mask(a.a3, a.a4); r < 0)
        return r;
    return signal_temp_mask_end(do_poll(a.a0, a.a1, timeout));
}

static long make_pipe(uint64_t fds_addr, uint64_t flags) {
    if (flags & ~uint64_t{O_CLOEXEC | O_NONBLOCK})
        return -err::kInval;
    if (!access_ok(fds_addr, 8))
        return -err::kFault;
    Pipe* p = pipe_create();
    if (!p)
        return -err::kNFile;
    uint32_t fl = static_cast<uint32_t>(flags & O_NONBLOCK);
    OpenFile* r = file_alloc(FileKind::PipeRead, fl);
    OpenFile* w = r ? file_alloc(FileKind::PipeWrite, fl | O_WRONLY) : nullptr;
    if (!w) {
        if (r)
            file_put(r);  // closes the read end
        pipe_close_end(p, true);
        return -err::kNFile;
    }
    r->pipe = w->pipe = p;
    bool cloexec = flags & O_CLOEXEC;
    long rfd = fd_install(r, 0, cloexec);
    long wfd = rfd >= 0 ? fd_install(w, 0, cloexec) : rfd;
    if (wfd < 0) {
        if (rfd >= 0)
            fd_close(rfd);
        else
            file_put(r);
        file_put(w);
        return wfd;
    }
    int32_t out[2] = {static_cast<int32_t>(rfd), static_cast<int32_t>(wfd)};
    memcpy(reinterpret_cast<void*>(fds_addr), out, sizeof out);
    return 0;
}
long sys_pipe(const SyscallArgs& a) { return make_pipe(a.a0, 0); }
long sys_pipe2(const SyscallArgs& a) { return make_pipe(a.a0, a.a1); }

// sendfile(out, in, offset*, count): copy through the bounce buffer.
long sys_sendfile(const SyscallArgs& a) {
    OpenFile* out = fd_get(fd_arg(a.a0));
    OpenFile* in = fd_get(fd_arg(a.a1));
    if (!out || !in)
        return -err::kBadF;
    int64_t pos = -1;
    UserPtr<int64_t> offset_ptr(a.a2);
    if (!offset_ptr.null() && offset_ptr.read(pos) < 0)
        return -err::kFault;
    // File in a share to a file or to stdout/stderr: the host copies it all
    // in one exit (cat, cp).
    bool out_stream = out->kind == FileKind::Stdout || out->kind == FileKind::Stderr;
    if (in->kind == FileKind::HostFile && (out->kind == FileKind::HostFile || out_stream) &&
        (in->flags & O_ACCMODE) != O_WRONLY && (out_stream || (out->flags & O_ACCMODE) != O_RDONLY)) {
        abi::HcFs r = fs_request(abi::kFsSendfile);
        r.handle = in->handle;
        r.offset = static_cast<int64_t>(pos < 0 ? in->offset : static_cast<uint64_t>(pos));
        r.len = a.a3;
        if (out_stream) {
            // The ring is drained at this exit before the copy: order is kept.
            r.flags = out->kind == FileKind::Stdout ? abi::kSendToStdout : abi::kSendToStderr;
        } else {
            r.flags = abi::kSendToHandle;
            r.handle2 = out->handle;
            r.offset2 = (out->flags & O_APPEND) ? -1 : static_cast<int64_t>(out->offset);
        }
        long n = fs_call(r);
        if (n == -err::kPipe && out_stream)
            return signal_epipe();
        if (n < 0)
            return n;
        if (pos < 0)
            in->offset += static_cast<uint64_t>(n);
        else if (offset_ptr.write(pos + n) < 0)
            return -err::kFault;
        if (!out_stream)
            out->offset = r.aux;
        cache_invalidate_reads();
        return n;
    }
    uint64_t done = 0;
    while (done < a.a3) {
        uint64_t chunk = a.a3 - done < sizeof g_bounce ? a.a3 - done : sizeof g_bounce;
        long r = file_read(in, g_bounce, chunk, pos < 0 ? -1 : pos + static_cast<int64_t>(done));
        if (r <= 0) {
            if (r < 0 && done == 0)
                return r;
            break;
        }
        long w = file_write(out, g_bounce, static_cast<uint64_t>(r), -1);
        if (w < 0)
            return done ? static_cast<long>(done) : w;
        done += static_cast<uint64_t>(w);
        if (w < r)
            break;
    }
    if (!offset_ptr.null() && offset_ptr.write(pos + static_cast<int64_t>(done)) < 0)
        return -err::kFault;
    return static_cast<long>(done);
}

void io_init() {
    fd_table_init();
    uint32_t fl = boot().flags;
    struct {
        FileKind kind;
        uint32_t closed_flag;
        uint32_t open_flags;
    } const stdio[3] = {{FileKind::Stdin, abi::kBootStdinClosed, O_RDONLY},
                        {FileKind::Stdout, abi::kBootStdoutClosed, O_WRONLY},
                        {FileKind::Stderr, abi::kBootStderrClosed, O_WRONLY}};
    for (long fd = 0; fd < 3; ++fd) {
        if (fl & stdio[fd].closed_flag)
            continue;
        OpenFile* f = file_alloc(stdio[fd].kind, stdio[fd].open_flags);
        fd_install_at(f, fd, false);
    }
}

}  // namespace lightvm::guest

// The master's and the slave's file operations (see pty.hpp); the bytes
// go through the pair's line discipline (tty/ldisc.hpp).
#include "kernel/tty/pty.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/pgrp.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/tty/ctty.hpp"
#include "kernel/tty/pty_ioctl.hpp"
#include "kernel/tty/pty_pool.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint32_t kMaxExpansion = 8;  // the most bytes OPOST makes of one (a tab)
constexpr uint32_t kTtyGroup = 5;      // Debian's "tty" group: the slave node's group, as devpts gid=5

bool nonblocking(const OpenFile* f) { return f->flags & O_NONBLOCK; }
bool hung_up(const Pty* p) { return !p->master_open; }
// Every slave that was opened is closed again (Linux's TTY_OTHER_CLOSED).
bool slave_gone(const Pty* p) { return p->slave_opened && !p->slaves; }
bool out_has_room(const Pty* p) { return ring_room(p->ld.out) >= kMaxExpansion && !p->ld.stopped; }

// ---- master ----

long master_read(OpenFile* f, void* buf, size_t len, int64_t) {
    Pty* p = f->pty;
    if (!len)
        return 0;
    if (!ring_used(p->ld.out)) {
        if (slave_gone(p))
            return -err::kIo;
        if (nonblocking(f))
            return -err::kAgain;
        if (wait_event_interruptible(p->master_wq, [p] { return ring_used(p->ld.out) || slave_gone(p); }) ==
            WaitResult::Interrupted)
            return -ERESTARTSYS;
        if (!ring_used(p->ld.out))
            return -err::kIo;
    }
    size_t n = ring_take(p->ld.out, static_cast<uint8_t*>(buf), len);
    pty_wake(p);
    return static_cast<long>(n);
}

void send_tty_signal(Pty* p, int sig) {
    if (!p->ctty.pgrp)
        return;
    KSigInfo info{};
    info.signo = sig;
    info.code = SI_KERNEL;
    signal_group(p->ctty.pgrp, sig, info);
}

// Typing: each byte through the line discipline, waiting while the
// slave's input is full. As on Linux this works with no slave open (the
// line discipline is the slave's, echoing included).
long master_write(OpenFile* f, const void* buf, size_t len, int64_t) {
    Pty* p = f->pty;
    auto* in = static_cast<const uint8_t*>(buf);
    size_t done = 0;
    while (done < len) {
        if (!ldisc_can_receive(p->ld)) {
            pty_wake(p);
            if (nonblocking(f))
                return done ? static_cast<long>(done) : -err::kAgain;
            if (wait_event_interruptible(p->master_wq, [p] { return ldisc_can_receive(p->ld); }) ==
                WaitResult::Interrupted)
                return done ? static_cast<long>(done) : -ERESTARTSYS;
            continue;
        }
        if (int sig = ldisc_receive(p->ld, in[done++]))
            send_tty_signal(p, sig);
    }
    pty_wake(p);
    return static_cast<long>(done);
}

int master_poll(OpenFile* f) {
    Pty* p = f->pty;
    int r = 0;
    if (ring_used(p->ld.out))
        r |= POLLIN | POLLRDNORM;
    if (slave_gone(p))
        r |= POLLHUP;
    if (ldisc_can_receive(p->ld))
        r |= POLLOUT | POLLWRNORM;
    return r;
}

WaitQueue* master_queue(OpenFile* f) { return &f->pty->master_wq; }

long master_stat(OpenFile*, Stat* out) {
    synthetic_stat(out, ident::kDevDev, ident::kInoDevPtmx, S_IFCHR | 0666, ident::encode_dev(5, 2));
    out->gid = kTtyGroup;
    return 0;
}

long master_release(OpenFile* f) {
    Pty* p = f->pty;
    p->master_open = false;
    ctty_hangup(p);
    pty_wake(p);
    pty_maybe_free(p);
    return 0;
}

long master_ioctl(OpenFile* f, uint64_t request, uint64_t arg) {
    if (request != TIOCGPTPEER)
        return pty_ioctl(f, request, arg);
    // The slave without a path lookup (Linux 4.13): an fd opened with
    // arg's flags.
    OpenFile* s;
    if (arg & ~uint64_t{O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC})
        return -err::kInval;
    if (long r = pty_open_slave(f->pty, static_cast<uint32_t>(arg), &s))
        return r;
    long fd = fd_install(s, 0, arg & O_CLOEXEC);
    if (fd < 0)
        file_put(s);
    return fd;
}

// ---- slave ----

long canon_read(OpenFile* f, Pty* p, uint8_t* out, size_t len) {
    if (!ldisc_readable(p->ld, false)) {
        if (nonblocking(f))
            return -err::kAgain;
        if (wait_event_interruptible(p->slave_wq, [p] { return ldisc_readable(p->ld, false) || hung_up(p); }) ==
            WaitResult::Interrupted)
            return -ERESTARTSYS;
        if (hung_up(p))
            return 0;
    }
    size_t n = ldisc_read(p->ld, out, len);
    pty_wake(p);
    return static_cast<long>(n);
}

// Non-canonical reads follow VMIN and VTIME (man 3 termios): MIN bytes
// (or fewer if len is smaller), TIME tenths of a second for the first
// byte when MIN is 0, else between bytes once one came.
long raw_read(OpenFile* f, Pty* p, uint8_t* out, size_t len) {
    const uint32_t min = p->ld.t.c_cc[VMIN];
    const uint64_t time_ns = uint64_t{p->ld.t.c_cc[VTIME]} * 100000000ull;
    const size_t need = min ? (min < len ? min : len) : 1;
    uint64_t deadline = !min && time_ns ? monotonic_ns() + time_ns : 0;
    size_t done = 0;
    for (;;) {
        size_t n = ldisc_read(p->ld, out + done, len - done);
        if (n) {
            done += n;
            pty_wake(p);
            if (min && time_ns)
                deadline = monotonic_ns() + time_ns;
        }
        if (done >= need || hung_up(p) || (!min && !time_ns))
            return static_cast<long>(done);
        if (nonblocking(f))
            return done ? static_cast<long>(done) : -err::kAgain;
        WaitResult w = wait_event_interruptible(
            p->slave_wq, [p] { return ring_used(p->ld.in) || hung_up(p); }, deadline);
        if (w == WaitResult::Interrupted)
            return done ? static_cast<long>(done) : -ERESTARTSYS;
        if (w == WaitResult::TimedOut)
            return static_cast<long>(done);
    }
}

long slave_read(OpenFile* f, void* buf, size_t len, int64_t) {
    Pty* p = f->pty;
    if (hung_up(p))
        return 0;
    if (long r = ctty_job_check(p->ctty, SIGTTIN))
        return r;
    if (!len)
        return 0;
    auto* out = static_cast<uint8_t*>(buf);
    return (p->ld.t.c_lflag & ICANON) ? canon_read(f, p, out, len) : raw_read(f, p, out, len);
}

// The program's output, through OPOST, waiting while the master's side
// is full (or output is stopped by ^S).
long slave_write(OpenFile* f, const void* buf, size_t len, int64_t) {
    Pty* p = f->pty;
    if (hung_up(p))
        return -err::kIo;
    if (p->ld.t.c_lflag & TOSTOP)
        if (long r = ctty_job_check(p->ctty, SIGTTOU))
            return r;
    auto* in = static_cast<const uint8_t*>(buf);
    size_t done = 0;
    while (done < len) {
        size_t n = out_has_room(p) ? ldisc_write(p->ld, in + done, len - done) : 0;
        done += n;
        if (n)
            pty_wake(p);
        if (done == len)
            break;
        if (nonblocking(f))
            return done ? static_cast<long>(done) : -err::kAgain;
        if (wait_event_interruptible(p->slave_wq, [p] { return out_has_room(p) || hung_up(p); }) ==
            WaitResult::Interrupted)
            return done ? static_cast<long>(done) : -ERESTARTSYS;
        if (hung_up(p))
            return done ? static_cast<long>(done) : -err::kIo;
    }
    return static_cast<long>(done);
}

int slave_poll(OpenFile* f) {
    Pty* p = f->pty;
    if (hung_up(p))
        return POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;
    int r = 0;
    if (ldisc_readable(p->ld, true))
        r |= POLLIN | POLLRDNORM;
    if (out_has_room(p))
        r |= POLLOUT | POLLWRNORM;
    return r;
}

WaitQueue* slave_queue(OpenFile* f) { return &f->pty->slave_wq; }

long slave_stat(OpenFile* f, Stat* out) {
    const Pty* p = f->pty;
    if (f->device == kPtyAsDevTty)
        return synthetic_stat(out, ident::kDevDev, ident::kInoDevTty, S_IFCHR | 0666, ident::encode_dev(5, 0));
    synthetic_stat(out, ident::kDevPts, p->index + 3, S_IFCHR | 0620,
                   ident::encode_dev(136 + p->index / 256, p->index % 256));
    out->uid = p->uid;
    out->gid = p->gid;
    return 0;
}

long slave_release(OpenFile* f) {
    Pty* p = f->pty;
    p->slaves--;
    pty_wake(p);
    pty_maybe_free(p);
    return 0;
}

}  // namespace

long pty_open_master(uint32_t flags, OpenFile** out) {
    OpenFile* f = file_alloc(FileKind::PtyMaster, (flags & (O_ACCMODE | O_NONBLOCK)));
    if (!f)
        return -err::kNFile;
    Pty* p = pty_alloc();
    if (!p) {
        file_put(f);
        return -err::kNoSpc;  // Linux: pty/max reached
    }
    p->uid = current_process()->cred.euid;
    p->gid = kTtyGroup;
    f->pty = p;
    *out = f;
    return 0;
}

long pty_open_slave(Pty* p, uint32_t flags, OpenFile** out) {
    if (p->locked || !p->master_open)
        return -err::kIo;
    OpenFile* f = file_alloc(FileKind::PtySlave, flags & (O_ACCMODE | O_NONBLOCK));
    if (!f)
        return -err::kNFile;
    f->pty = p;
    p->slaves++;
    p->slave_opened = true;
    ctty_on_open(p, flags & O_NOCTTY);
    pty_wake(p);
    *out = f;
    return 0;
}

Pty* pty_of(const OpenFile* f) {
    return f->kind == FileKind::PtyMaster || f->kind == FileKind::PtySlave ? f->pty : nullptr;
}

const FileOps kPtyMasterOps = {
    .read = master_read,
    .write = master_write,
    .seek = nullptr,
    .stat = master_stat,
    .sync = nullptr,
    .ioctl = master_ioctl,
    .poll = master_poll,
    .wait_queue = master_queue,
    .release = master_release,
    .tty = true,
    .seekable = false,
};

const FileOps kPtySlaveOps = {
    .read = slave_read,
    .write = slave_write,
    .seek = nullptr,
    .stat = slave_stat,
    .sync = nullptr,
    .ioctl = pty_ioctl,
    .poll = slave_poll,
    .wait_queue = slave_queue,
    .release = slave_release,
    .tty = true,
    .seekable = false,
};

}  // namespace lightvm::guest

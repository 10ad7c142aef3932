#include "kernel/tty/pty_ioctl.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/open_file.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/pgrp.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/tty/ctty.hpp"
#include "kernel/tty/pty_pool.hpp"
#include "kernel/tty/termios_std.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

bool is_master(const OpenFile* f) { return f->kind == FileKind::PtyMaster; }

template <typename T>
long put(uint64_t arg, T v) {
    return copy_to_user(arg, &v, sizeof v);
}

long get_int(uint64_t arg, int32_t* v) { return copy_from_user(v, arg, sizeof *v) < 0 ? -err::kFault : 0; }

// TCSETS, TCSETSW, TCSETSF, on either end: the slave's settings, which
// drive its line discipline (Linux's tty_mode_ioctl takes the master's
// link). Output needs no draining (the master reads it whenever);
// TCSETSF drops the input.
long set_termios(Pty* p, uint64_t request, uint64_t arg) {
    termios t;
    if (copy_from_user(&t, arg, sizeof t) < 0)
        return -err::kFault;
    if (request == TCSETSF)
        ldisc_flush_input(p->ld);
    ldisc_set_termios(p->ld, t);
    pty_wake(p);
    return 0;
}

void set_size(Pty* p, const winsize& ws) {
    if (memcmp(&ws, &p->ws, sizeof ws) == 0)
        return;  // Linux neither: no SIGWINCH for the same size
    p->ws = ws;
    if (p->ctty.pgrp) {
        KSigInfo info{};
        info.signo = SIGWINCH;
        info.code = SI_KERNEL;
        signal_group(p->ctty.pgrp, SIGWINCH, info);
    }
}

long set_winsize(Pty* p, uint64_t arg) {
    winsize ws;
    if (copy_from_user(&ws, arg, sizeof ws) < 0)
        return -err::kFault;
    set_size(p, ws);
    return 0;
}

// TCFLSH: the slave's input is what the master typed, its output what
// the master has not read yet; the master's are the other way round.
long flush(OpenFile* f, Pty* p, uint64_t arg) {
    if (arg > TCIOFLUSH)
        return -err::kInval;
    const bool in = arg != TCOFLUSH, out = arg != TCIFLUSH;  // TCIOFLUSH: both
    if (is_master(f) ? out : in)
        ldisc_flush_input(p->ld);
    if (is_master(f) ? in : out)
        ldisc_flush_output(p->ld);
    pty_wake(p);
    return 0;
}

// TIOCSPGRP: only on the caller's controlling terminal, to a group of its
// session (Linux's tiocspgrp).
long set_pgrp(Pty* p, uint64_t arg) {
    int32_t pgrp;
    if (long r = get_int(arg, &pgrp))
        return r;
    return ctty_set_pgrp(p->ctty, pgrp);
}

// Requests about the session: on the slave only for the caller's own
// controlling terminal (the master may always ask, as on Linux).
long session_request(OpenFile* f, Pty* p, uint64_t request, uint64_t arg) {
    if (!is_master(f) && !ctty_is_callers(p->ctty))
        return -err::kNotTy;
    if (request == TIOCGPGRP)
        return put<int32_t>(arg, static_cast<int32_t>(p->ctty.pgrp));
    if (!p->ctty.session)
        return -err::kNotTy;
    return put<int32_t>(arg, static_cast<int32_t>(p->ctty.session));
}

long master_request(Pty* p, uint64_t request, uint64_t arg) {
    switch (request) {
    case TIOCGPTN:
        return put<uint32_t>(arg, p->index);
    case TIOCSPTLCK: {
        int32_t lock;
        if (long r = get_int(arg, &lock))
            return r;
        p->locked = lock != 0;
        return 0;
    }
    case TIOCGPTLCK:
        return put<int32_t>(arg, p->locked);
    default:
        return -err::kNotTy;
    }
}

// FIONREAD: what a read could take now. TIOCOUTQ: 0, as Linux's ptys say
// (they have no chars_in_buffer): written bytes are the other end's input
// at once.
long queue_sizes(OpenFile* f, Pty* p, uint64_t request, uint64_t arg) {
    uint32_t n = 0;
    if (request == FIONREAD)
        n = is_master(f) ? ring_used(p->ld.out) : ldisc_inq(p->ld);
    return put<int32_t>(arg, static_cast<int32_t>(n));
}

long request(OpenFile* f, Pty* p, uint64_t request, uint64_t arg) {
    switch (request) {
    case TCGETS:
        return copy_to_user(arg, &p->ld.t, sizeof(termios));
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
        return set_termios(p, request, arg);
    case TIOCGWINSZ:
        return copy_to_user(arg, &p->ws, sizeof(winsize));
    case TIOCSWINSZ:
        return set_winsize(p, arg);
    case TCFLSH:
        return flush(f, p, arg);
    case TCSBRK:
    case TCSBRKP:
        return 0;  // nothing to drain: the master reads at its own pace
    case TCXONC:
        if (arg > TCION)
            return -err::kInval;
        p->ld.stopped = arg == TCOOFF ? true : arg == TCOON ? false : p->ld.stopped;
        pty_wake(p);
        return 0;
    case FIONREAD:
    case TIOCOUTQ:
        return queue_sizes(f, p, request, arg);
    case TIOCGPGRP:
    case TIOCGSID:
        return session_request(f, p, request, arg);
    case TIOCSPGRP:
        return set_pgrp(p, arg);
    case TIOCSCTTY:
        return ctty_set(p->ctty, arg);
    case TIOCNOTTY:
        return ctty_drop(p->ctty);
    case TIOCGETD:
        return put<int32_t>(arg, 0);  // N_TTY
    case TIOCEXCL:
    case TIOCNXCL:
        return 0;
    default:
        return is_master(f) ? master_request(p, request, arg) : -err::kNotTy;
    }
}

}  // namespace

void pty_resize(Pty* p, uint16_t rows, uint16_t cols) { set_size(p, winsize{rows, cols, 0, 0}); }

long pty_ioctl(OpenFile* f, uint64_t req, uint64_t arg) {
    Pty* p = f->pty;
    if (!is_master(f) && !p->master_open)
        return req == TIOCSPGRP ? -err::kNotTy : -err::kIo;  // hung up (Linux's hung_up_tty_ioctl)
    if (!is_master(f) && tty_request_changes(req))
        if (long r = ctty_job_check(p->ctty, SIGTTOU))
            return req == TIOCSPGRP && r == -err::kIo ? -err::kNotTy : r;
    return request(f, p, req, arg);
}

}  // namespace lightvm::guest

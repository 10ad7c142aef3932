// signalfd (man 2 signalfd): pending signals in the fd's mask are read as
// signalfd_siginfo records (taken out of the reading task's and its
// process's pending sets, proc/signal.hpp signal_dequeue) instead of being
// delivered; programs block those signals first. Readiness is the reading
// task's: POLLIN while one of them is pending. Every queued signal kicks
// the kernel timers' deferred work (proc/ktimer.hpp), which (out of
// interrupt context) wakes every signalfd's queue, so poll, epoll and
// blocked reads re-check.
#include "kernel/errno.hpp"
#include "kernel/event/event_file.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/ktimer.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

#include <linux/signalfd.h>  // struct signalfd_siginfo, SFD_*

namespace lightvm::guest {

namespace {

struct SignalFd {
    bool used;
    uint64_t mask;  // never SIGKILL or SIGSTOP
    WaitQueue wq;
};

constexpr int kMaxSignalFds = 64;
SignalFd g_signalfds[kMaxSignalFds];
bool g_registered;

SignalFd* signalfd_of(OpenFile* f) { return static_cast<SignalFd*>(f->event); }

uint64_t pending_for(const Task* t, uint64_t mask) {
    return (t->sig.pending.set | t->process->sig.shared.set) & mask;
}

// Linux's signalfd_copyinfo: the fields of the siginfo's layout.
signalfd_siginfo to_ssi(int sig, const KSigInfo& i) {
    signalfd_siginfo s{};
    s.ssi_signo = static_cast<uint32_t>(sig);
    s.ssi_errno = i.err;
    s.ssi_code = i.code;
    bool fault = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP) && i.code > 0;
    if (fault) {
        s.ssi_addr = i.fault.addr;
    } else if (sig == SIGCHLD && i.code > 0) {
        s.ssi_pid = static_cast<uint32_t>(i.chld.pid);
        s.ssi_uid = i.chld.uid;
        s.ssi_status = i.chld.status;
        s.ssi_utime = static_cast<uint64_t>(i.chld.utime);
        s.ssi_stime = static_cast<uint64_t>(i.chld.stime);
    } else if (i.code == SI_TIMER) {
        s.ssi_tid = static_cast<uint32_t>(i.timer.tid);
        s.ssi_overrun = static_cast<uint32_t>(i.timer.overrun);
        s.ssi_ptr = i.timer.value;
        s.ssi_int = static_cast<int32_t>(i.timer.value);
    } else {
        s.ssi_pid = static_cast<uint32_t>(i.kill.pid);
        s.ssi_uid = i.kill.uid;
        if (i.code == SI_QUEUE || i.code == SI_MESGQ) {
            s.ssi_ptr = i.kill.value;
            s.ssi_int = static_cast<int32_t>(i.kill.value);
        }
    }
    return s;
}

long sfd_read(OpenFile* f, void* buf, size_t len, int64_t) {
    SignalFd* s = signalfd_of(f);
    size_t max = len / sizeof(signalfd_siginfo);
    if (!max)
        return -err::kInval;
    Task* t = current();
    if (!pending_for(t, s->mask)) {
        if (f->flags & O_NONBLOCK)
            return -err::kAgain;
        if (wait_event_interruptible(s->wq, [&] { return pending_for(t, s->mask) != 0; }) == WaitResult::Interrupted)
            return -ERESTARTSYS;
    }
    size_t n = 0;
    KSigInfo info;
    while (n < max) {
        int sig = signal_dequeue(t, s->mask, &info);
        if (!sig)
            break;
        signalfd_siginfo ssi = to_ssi(sig, info);
        memcpy(static_cast<char*>(buf) + n * sizeof ssi, &ssi, sizeof ssi);
        ++n;
    }
    return static_cast<long>(n * sizeof(signalfd_siginfo));
}

int sfd_poll(OpenFile* f) { return pending_for(current(), signalfd_of(f)->mask) ? POLLIN : 0; }

WaitQueue* sfd_queue(OpenFile* f) { return &signalfd_of(f)->wq; }

long sfd_release(OpenFile* f) {
    if (SignalFd* s = signalfd_of(f))
        s->used = false;
    return 0;
}

void wake_all() {
    for (auto& s : g_signalfds)
        if (s.used)
            wake_up(s.wq);
}

long do_signalfd(long fd, uint64_t mask_addr, uint64_t size, uint64_t flags) {
    if (size != sizeof(uint64_t) || (flags & ~uint64_t{SFD_CLOEXEC | SFD_NONBLOCK}))
        return -err::kInval;
    uint64_t mask;
    if (copy_from_user(&mask, mask_addr, sizeof mask) < 0)
        return -err::kFault;
    mask &= ~(sig_bit(SIGKILL) | sig_bit(SIGSTOP));
    if (fd != -1) {
        OpenFile* f = fd_get(fd);
        if (!f)
            return -err::kBadF;
        if (f->kind != FileKind::SignalFd)
            return -err::kInval;
        signalfd_of(f)->mask = mask;
        wake_up(signalfd_of(f)->wq);
        return fd;
    }
    if (!g_registered) {
        ktimer_add_deferred(wake_all);
        g_registered = true;
    }
    SignalFd* s = nullptr;
    for (auto& slot : g_signalfds)
        if (!slot.used && !s)
            s = &slot;
    if (!s)
        return -err::kNFile;
    *s = SignalFd{true, mask, {}};
    long r = event_install(FileKind::SignalFd, s, O_RDWR | (flags & SFD_NONBLOCK), flags & SFD_CLOEXEC);
    if (r < 0)
        s->used = false;
    return r;
}

}  // namespace

const FileOps kSignalFdOps = {
    .read = sfd_read,
    .write = nullptr,  // EINVAL
    .seek = nullptr,
    .stat = anon_stat,
    .sync = nullptr,
    .ioctl = nullptr,
    .poll = sfd_poll,
    .wait_queue = sfd_queue,
    .release = sfd_release,
    .tty = false,
    .seekable = false,
};

long sys_signalfd(const SyscallArgs& a) { return do_signalfd(fd_arg(a.a0), a.a1, a.a2, 0); }
long sys_signalfd4(const SyscallArgs& a) { return do_signalfd(fd_arg(a.a0), a.a1, a.a2, a.a3 & 0xffffffffu); }

}  // namespace lightvm::guest

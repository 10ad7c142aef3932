// The signal system calls (man 2 rt_sigaction, sigprocmask, sigpending,
// sigsuspend, sigtimedwait, sigaltstack, kill, tgkill, rt_sigqueueinfo,
// pause, sigreturn). State and delivery: proc/signal.cpp.
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/sigframe.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/proc/task_list.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

bool valid_sig(uint64_t sig) { return sig >= 1 && sig <= kNSig; }
int sig_arg(uint64_t reg) { return static_cast<int32_t>(static_cast<uint32_t>(reg)); }
int32_t pid_arg(uint64_t reg) { return static_cast<int32_t>(static_cast<uint32_t>(reg)); }

KSigInfo user_info(int sig, int code) {
    KSigInfo i{};
    i.signo = sig;
    i.code = code;
    i.kill.pid = static_cast<int32_t>(current_process()->pid);
    i.kill.uid = current_process()->cred.uid;
    return i;
}

struct FindTask {
    int32_t tid;
    Task* found;
};

Task* find_task(int32_t tid) {
    FindTask f{tid, nullptr};
    task_for_each(
        [](Task* t, void* arg) {
            auto* f = static_cast<FindTask*>(arg);
            if (!t->sig.kernel_only && t->state != TaskState::Dead && static_cast<int32_t>(t->tid) == f->tid)
                f->found = t;
        },
        &f);
    return f.found;
}

// kill's pid argument (man 2 kill): one process, the caller's group (0),
// a group (-pgid), or everyone but the first process and the caller (-1).
// ESRCH when nobody matched; a delivery error (an RT queue full) wins.
long kill_target(int32_t pid, int sig, const KSigInfo& info) {
    Process* self = current_process();
    if (pid > 0) {
        Process* p = process_find(static_cast<uint32_t>(pid));
        if (!p || p->state != ProcState::Alive)
            return p ? 0 : -err::kSrch;  // a zombie takes (and ignores) signals
        return sig ? signal_send(p, sig, &info) : 0;
    }
    const uint32_t group = pid == 0 ? self->pgid : static_cast<uint32_t>(-static_cast<int64_t>(pid));
    long result = -err::kSrch;
    for (Process* p = process_next(nullptr); p; p = process_next(p)) {
        bool hit = pid == -1 ? (p != self && p != process_first()) : p->pgid == group;
        if (!hit)
            continue;
        long r = (sig && p->state == ProcState::Alive) ? signal_send(p, sig, &info) : 0;
        if (result == -err::kSrch || r < 0)
            result = r;
    }
    return result;
}

long task_target(int32_t tgid, int32_t tid, int sig, const KSigInfo& info) {
    if (tid <= 0 || (tgid != -1 && tgid <= 0))
        return -err::kInval;
    if (sig && !valid_sig(static_cast<uint64_t>(sig)))
        return -err::kInval;
    Task* t = find_task(tid);
    if (!t || (tgid != -1 && static_cast<int32_t>(t->process->pid) != tgid))
        return -err::kSrch;
    return sig ? signal_send_task(t, sig, &info) : 0;
}

// rt_sigqueueinfo's rule: a program may not pretend to be the kernel or
// kill() when signalling someone else.
long queue_info(uint64_t addr, int sig, int32_t target_pid, KSigInfo* out) {
    if (copy_from_user(out, addr, sizeof *out) < 0)
        return -err::kFault;
    if ((out->code >= 0 || out->code == SI_TKILL) && target_pid != static_cast<int32_t>(current_process()->pid))
        return -err::kPerm;
    out->signo = sig;
    return 0;
}

long read_mask(uint64_t addr, uint64_t* mask) {
    return copy_from_user(mask, addr, sizeof *mask) < 0 ? -err::kFault : 0;
}

}  // namespace

long sys_rt_sigaction(const SyscallArgs& a) {
    const int sig = sig_arg(a.a0);
    if (a.a3 != sizeof(uint64_t) || !valid_sig(static_cast<uint64_t>(sig)))
        return -err::kInval;
    KSigAction next;
    if (a.a1) {
        if (sig == SIGKILL || sig == SIGSTOP)
            return -err::kInval;
        if (copy_from_user(&next, a.a1, sizeof next) < 0)
            return -err::kFault;
        next.mask &= ~kUnblockable;
    }
    KSigAction& ka = current_process()->sig.hand->action[sig - 1];
    const KSigAction old = ka;
    if (a.a2 && copy_to_user(a.a2, &old, sizeof old) < 0)
        return -err::kFault;
    if (a.a1) {
        ka = next;
        // POSIX: setting SIG_IGN (or a default of "ignore") discards pending instances.
        const bool dfl_ignores = sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
        if (ka.handler == reinterpret_cast<uint64_t>(SIG_IGN) ||
            (ka.handler == reinterpret_cast<uint64_t>(SIG_DFL) && dfl_ignores))
            signal_discard(current_process(), sig);
    }
    return 0;
}

long sys_rt_sigprocmask(const SyscallArgs& a) {
    if (a.a3 != sizeof(uint64_t))
        return -err::kInval;
    Task& t = *current();
    const uint64_t old = t.sigmask;
    if (a.a1) {
        uint64_t set;
        if (read_mask(a.a1, &set) < 0)
            return -err::kFault;
        switch (a.a0) {
        case SIG_BLOCK: t.sigmask |= set; break;
        case SIG_UNBLOCK: t.sigmask &= ~set; break;
        case SIG_SETMASK: t.sigmask = set; break;
        default: return -err::kInval;
        }
        t.sigmask &= ~kUnblockable;
    }
    if (a.a2 && copy_to_user(a.a2, &old, sizeof old) < 0) {
        t.sigmask = old;
        return -err::kFault;
    }
    return 0;
}

long sys_rt_sigpending(const SyscallArgs& a) {
    if (a.a1 > sizeof(uint64_t))
        return -err::kInval;
    const Task& t = *current();
    const uint64_t pending = (t.sig.pending.set | t.process->sig.shared.set) & t.sigmask;
    return copy_to_user(a.a0, &pending, a.a1);
}

long sys_rt_sigsuspend(const SyscallArgs& a) {
    if (a.a1 != sizeof(uint64_t))
        return -err::kInval;
    uint64_t mask;
    if (read_mask(a.a0, &mask) < 0)
        return -err::kFault;
    Task& t = *current();
    t.sig.saved_mask = t.sigmask;
    t.sig.restore_mask = true;  // after the handler's frame took the old mask
    t.sigmask = mask & ~kUnblockable;
    while (!signal_pending(&t))
        sched_block(0);
    return -ERESTARTNOHAND;
}

long sys_pause(const SyscallArgs&) {
    while (!signal_pending(current()))
        sched_block(0);
    return -ERESTARTNOHAND;
}

long sys_rt_sigtimedwait(const SyscallArgs& a) {
    if (a.a3 != sizeof(uint64_t))
        return -err::kInval;
    uint64_t set;
    if (read_mask(a.a0, &set) < 0)
        return -err::kFault;
    set &= ~kUnblockable;
    uint64_t deadline = 0;
    bool poll_only = false;
    if (a.a2) {
        __kernel_timespec ts;
        if (copy_from_user(&ts, a.a2, sizeof ts) < 0)
            return -err::kFault;
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return -err::kInval;
        uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
        poll_only = ns == 0;
        deadline = monotonic_ns() + ns;
    }
    Task& t = *current();
    KSigInfo info;
    int sig = signal_dequeue(&t, set, &info);
    if (!sig && !poll_only) {
        // The awaited signals wake us even while blocked: unblock them for
        // the wait (Linux's real_blocked), then take one.
        const uint64_t blocked = t.sigmask;
        t.sigmask &= ~set;
        while (!signal_pending(&t) && !deadline_passed(deadline))
            sched_block(deadline);
        t.sigmask = blocked;
        sig = signal_dequeue(&t, set, &info);
    }
    if (!sig)
        return poll_only || deadline_passed(deadline) ? -err::kAgain : -err::kIntr;
    if (a.a1 && copy_to_user(a.a1, &info, sizeof info) < 0)
        return -err::kFault;
    return sig;
}

long sys_sigaltstack(const SyscallArgs& a) {
    Task& t = *current();
    const uint64_t sp = current_frame()->rsp;
    const bool on = on_altstack(t, sp);
    if (a.a1) {
        stack_t old{};
        old.ss_sp = reinterpret_cast<void*>(t.sig.ss_sp);
        old.ss_size = t.sig.ss_size;
        old.ss_flags = on ? SS_ONSTACK : (t.sig.ss_flags & SS_DISABLE) || !t.sig.ss_size ? SS_DISABLE : 0;
        if (copy_to_user(a.a1, &old, sizeof old) < 0)
            return -err::kFault;
    }
    if (!a.a0)
        return 0;
    stack_t ss;
    if (copy_from_user(&ss, a.a0, sizeof ss) < 0)
        return -err::kFault;
    if (on)
        return -err::kPerm;
    constexpr int kAutodisarm = 1u << 31;  // SS_AUTODISARM: accepted, not acted on
    const int mode = ss.ss_flags & ~kAutodisarm;
    if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0)
        return -err::kInval;
    if (mode == SS_DISABLE) {
        t.sig.ss_sp = t.sig.ss_size = 0;
        t.sig.ss_flags = SS_DISABLE;
        return 0;
    }
    if (ss.ss_size < MINSIGSTKSZ)
        return -err::kNoMem;
    t.sig.ss_sp = reinterpret_cast<uint64_t>(ss.ss_sp);
    t.sig.ss_size = ss.ss_size;
    t.sig.ss_flags = 0;
    return 0;
}

long sys_kill(const SyscallArgs& a) {
    const int sig = sig_arg(a.a1);
    if (sig < 0 || sig > kNSig)
        return -err::kInval;
    return kill_target(pid_arg(a.a0), sig, user_info(sig, SI_USER));
}

long sys_tkill(const SyscallArgs& a) {
    const int sig = sig_arg(a.a1);
    return task_target(-1, pid_arg(a.a0), sig, user_info(sig, SI_TKILL));
}

long sys_tgkill(const SyscallArgs& a) {
    const int sig = sig_arg(a.a2);
    return task_target(pid_arg(a.a0), pid_arg(a.a1), sig, user_info(sig, SI_TKILL));
}

long sys_rt_sigqueueinfo(const SyscallArgs& a) {
    const int sig = sig_arg(a.a1);
    if (!valid_sig(static_cast<uint64_t>(sig)))
        return -err::kInval;
    KSigInfo info;
    if (long r = queue_info(a.a2, sig, pid_arg(a.a0), &info); r < 0)
        return r;
    const int32_t pid = pid_arg(a.a0);
    if (pid <= 0)
        return -err::kSrch;  // rt_sigqueueinfo names one process
    return kill_target(pid, sig, info);
}

long sys_rt_tgsigqueueinfo(const SyscallArgs& a) {
    const int sig = sig_arg(a.a2);
    if (!valid_sig(static_cast<uint64_t>(sig)))
        return -err::kInval;
    KSigInfo info;
    if (long r = queue_info(a.a3, sig, pid_arg(a.a0), &info); r < 0)
        return r;
    return task_target(pid_arg(a.a0), pid_arg(a.a1), sig, info);
}

long sys_rt_sigreturn(const SyscallArgs&) {
    SyscallFrame* f = current_frame();
    if (!sigframe_return(f))
        signal_force_segv();  // the delivery on this call's way out kills
    return static_cast<long>(f->rax);
}

}  // namespace lightvm::guest

// wait4 and waitid: a parent collects its children's exit statuses. A
// child that exited stays a zombie (its pid and status, nothing else)
// until then. Stopped and continued children are reported too, when asked
// (proc/jobctl.hpp).
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/cputime.hpp"
#include "kernel/proc/rusage.hpp"
#include "kernel/proc/jobctl.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// Which children a wait selects (wait4's pid argument; waitid maps to it).
struct Selector {
    enum Kind { Any, Pid, Group } kind;
    uint32_t id;
};

Selector selector_for_wait4(int32_t pid) {
    if (pid == -1)
        return {Selector::Any, 0};
    if (pid == 0)
        return {Selector::Group, current_process()->pgid};
    if (pid < 0)
        return {Selector::Group, static_cast<uint32_t>(-pid)};
    return {Selector::Pid, static_cast<uint32_t>(pid)};
}

bool selects(const Selector& s, const Process* c) {
    switch (s.kind) {
    case Selector::Any:
        return true;
    case Selector::Pid:
        return c->pid == s.id;
    case Selector::Group:
        return c->pgid == s.id;
    }
    return false;
}

// What a wait looks for besides exited children (WUNTRACED/WSTOPPED,
// WCONTINUED), and whether it leaves what it finds (WNOWAIT).
struct Want {
    bool exited, stopped, continued, keep;
};

// What a wait found: a zombie to reap, or a stop/continue report (status).
struct Found {
    Process* child;
    bool report;
    int status;
};

// A selected child with something to report; -ECHILD when no child matches
// at all, -EAGAIN when none has anything yet.
long find_ready(const Selector& s, const Want& w, Found* out) {
    bool any = false;
    for (Process* c = current_process()->children; c; c = c->sibling) {
        if (!selects(s, c) || c->exec_id)  // a process the host started is never waited for here
            continue;
        any = true;
        if (w.exited && c->state == ProcState::Zombie) {
            *out = {c, false, c->wait_status};
            return 0;
        }
        int status;
        if (jobctl_take_report(c, w.stopped, w.continued, w.keep, &status)) {
            *out = {c, true, status};
            return 0;
        }
    }
    return any ? -err::kAgain : -err::kChild;
}

// Sleeps until a selected child has something to report (or none is
// left). 0 with *out set, -ECHILD, or -EAGAIN for WNOHANG with nothing.
long wait_child(const Selector& s, const Want& w, bool nohang, Found* out) {
    long r;
    Process* me = current_process();
    WaitResult res = wait_event_interruptible(me->child_wait, [&] {
        r = find_ready(s, w, out);
        return r != -err::kAgain || nohang;
    });
    return res == WaitResult::Interrupted ? -ERESTARTSYS : r;
}

// The child's times and counts go to the parent (RUSAGE_CHILDREN) and,
// when asked, into wait4's/waitid's rusage (proc/rusage.hpp).
long reap(Process* c, uint64_t ru) {
    uint64_t user, sys;
    cputime_reap(current_process(), c, &user, &sys);
    rusage r{};
    rusage_zombie(c, &r);
    rusage_reap(current_process(), c);
    process_unlink(c);
    process_free(c);
    if (!ru)
        return 0;
    r.ru_utime = {static_cast<long>(user / 1000000000), static_cast<long>(user % 1000000000 / 1000)};
    r.ru_stime = {static_cast<long>(sys / 1000000000), static_cast<long>(sys % 1000000000 / 1000)};
    return copy_to_user(ru, &r, sizeof r);
}

}  // namespace

long sys_wait4(const SyscallArgs& a) {
    const uint64_t options = a.a2;
    if (options & ~uint64_t(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD))
        return -err::kInval;
    const Want want{true, (options & WUNTRACED) != 0, (options & WCONTINUED) != 0, false};
    Found f{};
    long r = wait_child(selector_for_wait4(static_cast<int32_t>(a.a0)), want, options & WNOHANG, &f);
    if (r == -err::kAgain)
        return 0;  // WNOHANG: children exist, none has changed
    if (r < 0)
        return r;
    if (a.a1 && UserPtr<int32_t>(a.a1).write(f.status) < 0)
        return -err::kFault;
    if (a.a3 && !access_ok_write(a.a3, sizeof(struct rusage)))
        return -err::kFault;
    long pid = f.child->pid;
    if (f.report)  // stopped or continued: the child stays; its times so far are not reported
        return a.a3 && clear_user(a.a3, sizeof(struct rusage)) < 0 ? -err::kFault : pid;
    return reap(f.child, a.a3) < 0 ? -err::kFault : pid;
}

long sys_waitid(const SyscallArgs& a) {
    const uint64_t options = a.a3;
    if (!(options & (WEXITED | WSTOPPED | WCONTINUED)) ||
        (options & ~uint64_t(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WALL | __WCLONE | __WNOTHREAD)))
        return -err::kInval;
    Selector s;
    switch (a.a0) {
    case P_ALL: s = {Selector::Any, 0}; break;
    case P_PID: s = {Selector::Pid, static_cast<uint32_t>(a.a1)}; break;
    case P_PGID: s = {Selector::Group, a.a1 ? static_cast<uint32_t>(a.a1) : current_process()->pgid}; break;
    default: return -err::kInval;
    }
    const Want want{(options & WEXITED) != 0, (options & WSTOPPED) != 0, (options & WCONTINUED) != 0,
                    (options & WNOWAIT) != 0};
    Found f{};
    long r = wait_child(s, want, options & WNOHANG, &f);
    if (r == -err::kAgain)
        return a.a2 ? clear_user(a.a2, sizeof(siginfo_t)) : 0;  // WNOHANG: si_pid 0
    if (r < 0)
        return r;
    Process* c = f.child;
    siginfo_t info{};
    info.si_signo = SIGCHLD;
    const int st = f.status;
    const bool killed = (st & 0x7f) != 0;
    if (f.report && st == 0xffff) {
        info.si_code = CLD_CONTINUED;
        info._sifields._sigchld._status = SIGCONT;
    } else if (f.report) {
        info.si_code = CLD_STOPPED;
        info._sifields._sigchld._status = (st >> 8) & 0xff;
    } else {
        info.si_code = killed ? ((st & 0x80) ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
        info._sifields._sigchld._status = killed ? (st & 0x7f) : ((st >> 8) & 0xff);
    }
    info._sifields._sigchld._pid = static_cast<int>(c->pid);
    info._sifields._sigchld._uid = c->cred.uid;
    if (a.a2 && copy_to_user(a.a2, &info, sizeof info) < 0)
        return -err::kFault;
    if (a.a4 && !access_ok_write(a.a4, sizeof(struct rusage)))
        return -err::kFault;
    if (f.report)
        return a.a4 ? clear_user(a.a4, sizeof(struct rusage)) : 0;
    if (options & WNOWAIT) {  // the child stays a zombie: report its times without taking them
        if (!a.a4)
            return 0;
        rusage r{};
        rusage_zombie(c, &r);
        uint64_t user = c->cpu.exit_user_ns + c->cpu.children_user_ns, sys = c->cpu.exit_sys_ns + c->cpu.children_sys_ns;
        r.ru_utime = {static_cast<long>(user / 1000000000), static_cast<long>(user % 1000000000 / 1000)};
        r.ru_stime = {static_cast<long>(sys / 1000000000), static_cast<long>(sys % 1000000000 / 1000)};
        return copy_to_user(a.a4, &r, sizeof r);
    }
    return reap(c, a.a4) < 0 ? -err::kFault : 0;
}

}  // namespace lightvm::guest

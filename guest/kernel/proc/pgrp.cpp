// Process groups and sessions (man 2 setpgid, setsid): what shells use for
// job control, and the terminal's foreground group (tcsetpgrp/TIOCSPGRP,
// man 4 tty_ioctl).
#include "kernel/proc/pgrp.hpp"

#include "kernel/errno.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

int32_t pid_arg(uint64_t reg) { return static_cast<int32_t>(static_cast<uint32_t>(reg)); }

// pid 0 is the caller; others must exist (ESRCH).
Process* target(int32_t pid) {
    if (pid == 0)
        return current_process();
    return pid > 0 ? process_find(static_cast<uint32_t>(pid)) : nullptr;
}

uint32_t g_foreground;  // 0: the first process's group

}  // namespace

bool group_in_session(uint32_t pgid, uint32_t sid) {
    for (Process* p = process_next(nullptr); p; p = process_next(p))
        if (p->pgid == pgid && p->sid == sid && p->state == ProcState::Alive)
            return true;
    return false;
}

uint32_t tty_foreground_pgrp() {
    if (g_foreground)
        return g_foreground;
    Process* first = process_first();
    return first ? first->pgid : 0;
}

uint32_t tty_foreground_set() { return g_foreground; }

long tty_set_foreground_pgrp(int32_t pgrp) {
    if (pgrp < 0)
        return -err::kInval;
    if (!group_in_session(static_cast<uint32_t>(pgrp), current_process()->sid))
        return -err::kPerm;
    g_foreground = static_cast<uint32_t>(pgrp);
    return 0;
}

bool signal_group(uint32_t pgid, int sig, const KSigInfo& info) {
    bool any = false;
    for (Process* p = process_next(nullptr); p; p = process_next(p)) {
        if (p->pgid != pgid || p->state != ProcState::Alive)
            continue;
        signal_send(p, sig, &info);
        any = true;
    }
    return any;
}

bool pgrp_orphaned(uint32_t pgid) {
    // The VM's first process is a parent like any other: Linux skips a
    // parent that is the global init, but ours is the program (often a
    // shell) and its jobs must stay stoppable, as a container's init's are.
    for (Process* p = process_next(nullptr); p; p = process_next(p)) {
        if (p->pgid != pgid || p->state != ProcState::Alive)
            continue;
        const Process* up = p->parent;
        if (up && up->state == ProcState::Alive && up->pgid != pgid && up->sid == p->sid)
            return false;
    }
    return true;
}

namespace {

// Linux's is_ignored(): blocked by the calling thread or SIG_IGN.
bool blocked_or_ignored(const Task* t, int sig) {
    return (t->sigmask & sig_bit(sig)) ||
           t->process->sig.hand->action[sig - 1].handler == reinterpret_cast<uint64_t>(SIG_IGN);
}

}  // namespace

// The console is the controlling terminal of the first process's session
// only: a process that left it (setsid) has none on Linux, and no
// job-control checks apply to it.
long tty_job_check(int sig) {
    const Process* first = process_first();
    return first ? tty_job_check_for(first->sid, tty_foreground_pgrp(), sig) : 0;
}

long tty_job_check_for(uint32_t sid, uint32_t fg, int sig) {
    Task* t = current();
    Process* me = t->process;
    if (me->sid != sid || !fg || me->pgid == fg)
        return 0;
    if (blocked_or_ignored(t, sig))
        return sig == SIGTTIN ? -err::kIo : 0;  // a write or a setting goes ahead; a read cannot
    if (pgrp_orphaned(me->pgid))
        return -err::kIo;  // a stop would be for ever
    KSigInfo info{};
    info.signo = sig;
    info.code = SI_KERNEL;  // Linux's kill_pgrp(..., priv = 1)
    signal_group(me->pgid, sig, info);
    return -ERESTARTSYS;
}

long sys_getpgid(const SyscallArgs& a) {
    int32_t pid = pid_arg(a.a0);
    if (pid < 0)
        return -err::kSrch;
    Process* p = target(pid);
    return p ? p->pgid : -err::kSrch;
}

long sys_getpgrp(const SyscallArgs&) { return current_process()->pgid; }

long sys_getsid(const SyscallArgs& a) {
    int32_t pid = pid_arg(a.a0);
    Process* p = pid < 0 ? nullptr : target(pid);
    return p ? p->sid : -err::kSrch;
}

// setpgid(pid, pgid): the caller or one of its children (before it
// execs: not tracked, allowed), into a new group or one in its session.
long sys_setpgid(const SyscallArgs& a) {
    int32_t pid = pid_arg(a.a0), pgid = pid_arg(a.a1);
    if (pid < 0 || pgid < 0)
        return -err::kInval;
    Process* me = current_process();
    Process* p = target(pid);
    if (!p || (p != me && p->parent != me))
        return -err::kSrch;
    if (p->sid != me->sid)
        return -err::kPerm;
    if (p->pid == p->sid)
        return -err::kPerm;  // a session leader stays in its group
    uint32_t g = pgid ? static_cast<uint32_t>(pgid) : p->pid;
    if (g != p->pid && !group_in_session(g, me->sid))
        return -err::kPerm;
    p->pgid = g;
    return 0;
}

long sys_setsid(const SyscallArgs&) {
    Process* me = current_process();
    for (Process* p = process_next(nullptr); p; p = process_next(p))
        if (p->pgid == me->pid)
            return -err::kPerm;  // already a group leader (or its id is a group)
    me->sid = me->pgid = me->pid;
    return me->sid;
}

}  // namespace lightvm::guest

// Process groups and sessions (man 2 setpgid, setsid): what shells use for
// job control, and the job-control rules that depend on groups: orphaned
// groups, and the check before a process uses its terminal.
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

}  // namespace

bool group_in_session(uint32_t pgid, uint32_t sid) {
    for (Process* p = process_next(nullptr); p; p = process_next(p))
        if (p->pgid == pgid && p->sid == sid && p->state == ProcState::Alive)
            return true;
    return false;
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

namespace {

// pgrp_orphaned, not counting `ignore` (a member on its way out).
bool orphaned_without(uint32_t pgid, const Process* ignore) {
    // The VM's first process is a parent like any other: Linux skips a
    // parent that is the global init, but ours is the program (often a
    // shell) and its jobs must stay stoppable, as a container's init's are.
    for (Process* p = process_next(nullptr); p; p = process_next(p)) {
        if (p == ignore || p->pgid != pgid || p->state != ProcState::Alive)
            continue;
        const Process* up = p->parent;
        if (up && up->state == ProcState::Alive && up->pgid != pgid && up->sid == p->sid)
            return false;
    }
    return true;
}

bool has_stopped_member(uint32_t pgid) {
    for (Process* p = process_next(nullptr); p; p = process_next(p))
        if (p->pgid == pgid && p->state == ProcState::Alive && p->stopped)
            return true;
    return false;
}

// Linux's kill_orphaned_pgrp: `member`'s group loses its link `link` (the
// exiting process, a parent outside the group in the same session).
void hup_if_orphaned(const Process* member, const Process* link, const Process* ignore) {
    const uint32_t g = member->pgid;
    if (!link || link->pgid == g || link->sid != member->sid)
        return;
    if (!orphaned_without(g, ignore) || !has_stopped_member(g))
        return;
    KSigInfo info{};
    info.code = SI_KERNEL;
    info.signo = SIGHUP;
    signal_group(g, SIGHUP, info);
    info.signo = SIGCONT;
    signal_group(g, SIGCONT, info);
}

}  // namespace

bool pgrp_orphaned(uint32_t pgid) { return orphaned_without(pgid, nullptr); }

void pgrp_child_reparented(const Process* child, const Process* gone) { hup_if_orphaned(child, gone, nullptr); }

void pgrp_exiting(const Process* p) { hup_if_orphaned(p, p->parent, p); }

namespace {

// Linux's is_ignored(): blocked by the calling thread or SIG_IGN.
bool blocked_or_ignored(const Task* t, int sig) {
    return (t->sigmask & sig_bit(sig)) ||
           t->process->sig.hand->action[sig - 1].handler == reinterpret_cast<uint64_t>(SIG_IGN);
}

}  // namespace

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
    me->ctty_gone = false;  // the new session has no terminal either way
    return me->sid;
}

}  // namespace lightvm::guest

#include "kernel/tty/ctty.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/proc/pgrp.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/tty/pty_pool.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

Pty* pty_of_session(uint32_t sid) {
    for (uint32_t i = 0; sid; ++i) {
        Pty* p = pty_nth(i);
        if (!p)
            break;
        if (p->session == sid)
            return p;
    }
    return nullptr;
}

// The console is the first process's session's terminal when it is one.
bool session_has_terminal(uint32_t sid) {
    const Process* first = process_first();
    bool console = (boot().flags & abi::kBootStdinTty) && first && first->sid == sid;
    return console || pty_of_session(sid);
}

bool is_session_leader(const Process* me) { return me->pid == me->sid; }

void signal_kernel(uint32_t pgid, int sig) {
    KSigInfo info{};
    info.signo = sig;
    info.code = SI_KERNEL;
    signal_group(pgid, sig, info);
}

void take(Pty* p, const Process* me) {
    p->session = me->sid;
    p->pgrp = me->pgid;
}

}  // namespace

Pty* ctty_of_caller() { return pty_of_session(current_process()->sid); }

void ctty_on_open(Pty* p, bool noctty) {
    const Process* me = current_process();
    if (!noctty && is_session_leader(me) && !p->session && !session_has_terminal(me->sid))
        take(p, me);
}

long ctty_set(Pty* p, uint64_t arg) {
    const Process* me = current_process();
    if (p->session == me->sid)
        return 0;
    if (!is_session_leader(me) || session_has_terminal(me->sid))
        return -err::kPerm;
    if (p->session && !(arg == 1 && capable(CAP_SYS_ADMIN)))
        return -err::kPerm;
    take(p, me);
    return 0;
}

long ctty_drop(Pty* p) {
    const Process* me = current_process();
    if (p->session != me->sid)
        return -err::kNotTy;
    if (!is_session_leader(me))
        return 0;
    if (p->pgrp) {
        signal_kernel(p->pgrp, SIGHUP);
        signal_kernel(p->pgrp, SIGCONT);
    }
    p->session = p->pgrp = 0;
    return 0;
}

void ctty_hangup(Pty* p) {
    if (!p->session)
        return;
    Process* leader = process_find(p->session);
    if (leader && leader->state == ProcState::Alive) {
        KSigInfo info{};
        info.code = SI_KERNEL;
        info.signo = SIGHUP;
        signal_send(leader, SIGHUP, &info);
        info.signo = SIGCONT;
        signal_send(leader, SIGCONT, &info);
    }
    p->session = p->pgrp = 0;
}

void ctty_session_end(uint32_t sid) {
    Pty* p = pty_of_session(sid);
    if (!p)
        return;
    if (p->pgrp)
        signal_kernel(p->pgrp, SIGHUP);
    p->session = p->pgrp = 0;
}

long ctty_job_check(Pty* p, int sig) { return p->session ? tty_job_check_for(p->session, p->pgrp, sig) : 0; }

}  // namespace lightvm::guest

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

Ctty g_console;

Pty* pty_of_session(uint32_t sid) {
    for (uint32_t i = 0; sid; ++i) {
        Pty* p = pty_nth(i);
        if (!p)
            break;
        if (p->ctty.session == sid)
            return p;
    }
    return nullptr;
}

Ctty* ctty_of_session(uint32_t sid) {
    if (sid && g_console.session == sid)
        return &g_console;
    Pty* p = pty_of_session(sid);
    return p ? &p->ctty : nullptr;
}

bool is_session_leader(const Process* me) { return me->pid == me->sid; }

void signal_kernel(uint32_t pgid, int sig) {
    KSigInfo info{};
    info.signo = sig;
    info.code = SI_KERNEL;
    signal_group(pgid, sig, info);
}

void take(Ctty& t, Process* me) {
    t.session = me->sid;
    t.pgrp = me->pgid;
    me->ctty_gone = false;
}

void release(Ctty& t) { t.session = t.pgrp = 0; }

}  // namespace

Ctty& console_ctty() { return g_console; }

void ctty_console_init(uint32_t sid) {
    g_console.session = (boot().flags & abi::kBootStdinTty) ? sid : 0;
    g_console.pgrp = 0;
}

bool ctty_is_callers(const Ctty& t) {
    const Process* me = current_process();
    return t.session && t.session == me->sid && !me->ctty_gone;
}

Pty* ctty_pty_of_caller() {
    const Process* me = current_process();
    return me->ctty_gone ? nullptr : pty_of_session(me->sid);
}

void ctty_on_open(Pty* p, bool noctty) {
    Process* me = current_process();
    if (!noctty && is_session_leader(me) && !p->ctty.session && !ctty_of_session(me->sid))
        take(p->ctty, me);
}

long ctty_set(Ctty& t, uint64_t arg) {
    Process* me = current_process();
    if (is_session_leader(me) && t.session == me->sid)
        return 0;  // already its terminal (a leader never has ctty_gone: setsid clears it)
    if (!is_session_leader(me) || ctty_of_session(me->sid))
        return -err::kPerm;
    if (t.session && !(arg == 1 && capable(CAP_SYS_ADMIN)))
        return -err::kPerm;
    take(t, me);  // a stolen terminal's old session simply has none now
    return 0;
}

long ctty_drop(Ctty& t) {
    Process* me = current_process();
    if (!ctty_is_callers(t))
        return -err::kNotTy;
    if (!is_session_leader(me)) {
        me->ctty_gone = true;
        return 0;
    }
    if (uint32_t fg = ctty_foreground(t)) {
        signal_kernel(fg, SIGHUP);
        signal_kernel(fg, SIGCONT);
    }
    release(t);
    return 0;
}

long ctty_set_pgrp(Ctty& t, int32_t pgrp) {
    if (!ctty_is_callers(t))
        return -err::kNotTy;
    if (pgrp < 0)
        return -err::kInval;
    if (!group_in_session(static_cast<uint32_t>(pgrp), t.session))
        return -err::kPerm;
    t.pgrp = static_cast<uint32_t>(pgrp);
    return 0;
}

uint32_t ctty_foreground(const Ctty& t) {
    if (t.pgrp || !t.session)
        return t.pgrp;
    const Process* first = process_first();
    return first && first->sid == t.session ? first->pgid : 0;
}

void ctty_hangup(Pty* p) {
    if (!p->ctty.session)
        return;
    Process* leader = process_find(p->ctty.session);
    if (leader && leader->state == ProcState::Alive) {
        KSigInfo info{};
        info.code = SI_KERNEL;
        info.signo = SIGHUP;
        signal_send(leader, SIGHUP, &info);
        info.signo = SIGCONT;
        signal_send(leader, SIGCONT, &info);
    }
    release(p->ctty);
}

void ctty_session_end(uint32_t sid) {
    Ctty* t = ctty_of_session(sid);
    if (!t)
        return;
    if (uint32_t fg = ctty_foreground(*t))
        signal_kernel(fg, SIGHUP);
    release(*t);
}

long ctty_job_check(const Ctty& t, int sig) {
    return t.session ? tty_job_check_for(t.session, ctty_foreground(t), sig) : 0;
}

}  // namespace lightvm::guest

#include "kernel/proc/jobctl.hpp"

#include "kernel/irq/irq.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/ktimer.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/proc/task_list.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// SIGCHLD to the parent with CLD_STOPPED or CLD_CONTINUED, unless its
// handler says SA_NOCLDSTOP; and the wake-up of its waits. Process
// context only (wait queues).
void notify_parent(Process* c, int code, int status) {
    Process* parent = c->parent;
    if (!parent || !parent->sig.hand)
        return;
    const KSigAction& chld = parent->sig.hand->action[SIGCHLD - 1];
    if (!(chld.flags & SA_NOCLDSTOP)) {
        KSigInfo info{};
        info.signo = SIGCHLD;
        info.code = code;
        info.chld.pid = static_cast<int32_t>(c->pid);
        info.chld.uid = c->cred.uid;
        info.chld.status = status;
        signal_send(parent, SIGCHLD, &info);
    }
    wake_up(parent->child_wait);
}

uint32_t g_notices;  // processes with job_notify set

bool sigkill_pending(const Task* t) {
    return ((t->sig.pending.set | t->process->sig.shared.set) & sig_bit(SIGKILL)) != 0;
}

// The signal module's stop hook: sig > 0 starts a group stop (the current
// task dequeued a stop signal with its default action); 0 joins one (another
// thread of a stopped process on its way to user mode). Returns when
// continued or when SIGKILL is pending.
void stop(int sig) {
    Task* t = current();
    Process* p = t->process;
    if (sig && !p->stopped) {
        p->stopped = true;
        p->stop_sig = static_cast<uint8_t>(sig);
        p->job_report = kJobStopped;
        notify_parent(p, CLD_STOPPED, sig);
    }
    while (p->stopped && !sigkill_pending(t))
        sched_block(0);
}

void wake_tasks_of(Task* t, void* arg) {
    if (t->process == arg)
        sched_wake(t);
}

// The signal module's continue hook: SIGCONT was sent to p. Runs masked and
// maybe in an interrupt handler (a host SIGCONT), so the parent's notice is
// deferred to the next schedule (ktimer's deferred work).
void cont(Process* p) {
    if (!p->stopped)
        return;
    p->stopped = false;
    p->job_report = kJobContinued;
    if (!p->job_notify) {
        p->job_notify = true;
        g_notices++;
    }
    task_for_each(wake_tasks_of, p);
    ktimer_kick();
}

void deferred_notices() {
    if (!g_notices)
        return;  // every signal kicks: most kicks are not ours
    g_notices = 0;
    for (Process* p = process_next(nullptr); p; p = process_next(p)) {
        if (!p->job_notify)
            continue;
        p->job_notify = false;
        if (p->state == ProcState::Alive)
            notify_parent(p, CLD_CONTINUED, SIGCONT);
    }
}

}  // namespace

void jobctl_init() {
    signal_set_hooks(SignalHooks{stop, cont});
    ktimer_add_deferred(deferred_notices);
}

bool jobctl_take_report(Process* c, bool stopped, bool continued, bool keep, int* status) {
    if (c->state != ProcState::Alive)
        return false;
    if (stopped && c->job_report == kJobStopped && c->stopped)
        *status = 0x7f | (c->stop_sig << 8);
    else if (continued && c->job_report == kJobContinued)
        *status = 0xffff;
    else
        return false;
    if (!keep)
        c->job_report = kJobNone;
    return true;
}

}  // namespace lightvm::guest

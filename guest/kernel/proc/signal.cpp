// Signal state: sending (queueing on a task or its process, waking a task
// that can take it), dequeueing, masks, handlers across fork/exec/exit, and
// the default actions. Delivery on the way back to user mode is
// proc/signal_deliver.cpp; the frame is built in proc/sigframe.cpp.
#include "kernel/proc/signal.hpp"

#include "kernel/errno.hpp"
#include "kernel/irq/irq.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/fpu.hpp"
#include "kernel/proc/ktimer.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/smp/cpus.hpp"
#include "kernel/proc/task_list.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

// Our structs have Linux's layouts.
static_assert(sizeof(KSigInfo) == sizeof(siginfo_t));
static_assert(offsetof(siginfo_t, si_pid) == offsetof(KSigInfo, kill.pid));
static_assert(offsetof(siginfo_t, si_value) == offsetof(KSigInfo, kill.value));
static_assert(offsetof(siginfo_t, si_overrun) == offsetof(KSigInfo, timer.overrun));
static_assert(offsetof(siginfo_t, si_status) == offsetof(KSigInfo, chld.status));
static_assert(offsetof(siginfo_t, si_addr) == offsetof(KSigInfo, fault.addr));
static_assert(sizeof(struct sigaction) == sizeof(KSigAction));
static_assert(offsetof(struct sigaction, sa_mask) == offsetof(KSigAction, mask));
static_assert(offsetof(struct sigaction, sa_restorer) == offsetof(KSigAction, restorer));
static_assert(kNSig == LVM_NSIG);

namespace {

SigHand g_init_hand;
SignalHooks g_hooks;

constexpr uint64_t kStopSigs = sig_bit(SIGSTOP) | sig_bit(SIGTSTP) | sig_bit(SIGTTIN) | sig_bit(SIGTTOU);

}  // namespace

SigDefault signal_default_action(int sig) {
    switch (sig) {
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
        return SigDefault::Core;
    case SIGCHLD: case SIGURG: case SIGWINCH:
        return SigDefault::Ignore;
    case SIGCONT:
        return SigDefault::Cont;
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
        return SigDefault::Stop;
    default:
        return SigDefault::Term;  // HUP INT PIPE ALRM TERM USR1 USR2 STKFLT IO PROF VTALRM PWR, RT signals
    }
}

const SignalHooks& signal_hooks() { return g_hooks; }

namespace {

bool is_rt(int sig) { return sig >= 32; }

// Linux's sig_ignored: a signal nobody will ever see is not queued at all
// (unless blocked: the handler may change before it is unblocked).
bool ignored(const Process& p, int sig) {
    const KSigAction& ka = p.sig.hand->action[sig - 1];
    if (ka.handler == reinterpret_cast<uint64_t>(SIG_IGN))
        return sig != SIGKILL && sig != SIGSTOP;
    return ka.handler == reinterpret_cast<uint64_t>(SIG_DFL) && signal_default_action(sig) == SigDefault::Ignore;
}

KSigInfo kernel_info(int sig) {
    KSigInfo i{};
    i.signo = sig;
    i.code = SI_KERNEL;
    return i;
}

// 0, or -EAGAIN when a queued (SI_QUEUE/timer) real-time signal finds no room.
long enqueue(SigPending& q, int sig, const KSigInfo& info) {
    if (!is_rt(sig) && (q.set & sig_bit(sig)))
        return 0;  // standard signals do not queue twice
    if (q.n < kSigQueueMax) {
        q.queue[q.n] = info;
        q.queue[q.n].signo = sig;
        q.n++;
    } else if (is_rt(sig) && info.code < 0 && info.code != SI_TKILL) {
        return -err::kAgain;  // sigqueue/timers: RLIMIT_SIGPENDING's EAGAIN
    }
    q.set |= sig_bit(sig);
    return 0;
}

void drop(SigPending& q, uint64_t mask) {
    uint32_t w = 0;
    for (uint32_t r = 0; r < q.n; ++r)
        if (!(sig_bit(q.queue[r].signo) & mask))
            q.queue[w++] = q.queue[r];
    q.n = w;
    q.set &= ~mask;
}

// Takes the oldest instance of sig out of q (sig is in q.set).
KSigInfo take(SigPending& q, int sig) {
    KSigInfo out{};
    bool found = false, more = false;
    uint32_t w = 0;
    for (uint32_t r = 0; r < q.n; ++r) {
        if (q.queue[r].signo == sig && !found) {
            out = q.queue[r];
            found = true;
            continue;
        }
        more |= q.queue[r].signo == sig;
        q.queue[w++] = q.queue[r];
    }
    q.n = w;
    if (!found) {  // queued without room for its info: as Linux, SI_USER with no sender
        out.signo = sig;
        out.code = SI_USER;
    }
    if (!more)
        q.set &= ~sig_bit(sig);
    return out;
}

// The lowest-numbered unblocked pending signal: synchronous faults
// (thread-directed) first, then the process's.
struct WakeArg {
    Process* p;
    int sig;
};

// A task that is about to block (it checked signal_pending a moment ago;
// an interrupt sent the signal since) must not sleep through it: kick.
// A task running user code on another vCPU would not see the signal
// before its next entry into the kernel: interrupt it (kIrqIpi, one exit;
// its interrupt's return to user code delivers the signal).
void wake(Task* t) {
    if (t->state == TaskState::Blocked) {
        sched_wake(t);
        return;
    }
    t->sig.kick = true;
    if (t->on_cpu && t->on_cpu - 1u != this_cpu().id)
        cpu_kick(t->on_cpu - 1u, 1ull << abi::kIrqIpi);
}

void wake_if_taker(Task* t, void* arg) {
    auto* w = static_cast<WakeArg*>(arg);
    if (t->process == w->p && !t->sig.kernel_only && !(t->sigmask & sig_bit(w->sig)))
        wake(t);
}

// SIGCONT and stop signals cancel each other's pending instances.
void prepare(Process& p, Task* only, int sig) {
    auto clear = [&](uint64_t mask) {
        drop(p.sig.shared, mask);
        if (only)
            drop(only->sig.pending, mask);
    };
    if (sig == SIGCONT) {
        clear(kStopSigs);
        if (g_hooks.cont)
            g_hooks.cont(&p);
    } else if (sig_bit(sig) & kStopSigs) {
        clear(sig_bit(SIGCONT));
    }
}

long send(Process* p, Task* t, int sig, const KSigInfo* info) {
    if (sig < 1 || sig > kNSig)
        return -err::kInval;
    irq::MaskGuard masked;  // timer interrupts send too
    prepare(*p, t, sig);
    // A blocked signal is kept even when ignored (a signalfd or sigwait may
    // take it); for the process, the main thread's mask decides, as
    // Linux's sig_ignored looks at the target task (script(1) blocks
    // SIGCHLD, default-ignored, and reads it from a signalfd).
    const Task* target = t ? t : p->task;
    const bool blocked = target && (target->sigmask & sig_bit(sig));
    if (!blocked && ignored(*p, sig))
        return 0;
    KSigInfo i = info ? *info : kernel_info(sig);
    long r = enqueue(t ? t->sig.pending : p->sig.shared, sig, i);
    if (r < 0)
        return r;
    ktimer_kick();  // signalfds re-check: blocked signals are what they read (event/signalfd.cpp)
    if (t) {
        if (!blocked)
            wake(t);
    } else {
        WakeArg w{p, sig};
        task_for_each(wake_if_taker, &w);
    }
    return 0;
}

}  // namespace

void signals_init_process(Process& p) {
    g_init_hand = SigHand{};
    g_init_hand.refs = 1;
    p.sig.hand = &g_init_hand;
    p.sig.shared.set = 0;
    p.sig.shared.n = 0;
}

void signals_fork(Process& child, const Process& parent, bool share_handlers) {
    child.sig.shared.set = 0;
    child.sig.shared.n = 0;
    child.sig.timers = nullptr;  // timers are not inherited (man 2 fork)
    if (share_handlers) {
        child.sig.hand = parent.sig.hand;
        child.sig.hand->refs++;
        return;
    }
    auto* h = static_cast<SigHand*>(kmem_alloc(sizeof(SigHand)));
    if (!h) {  // no memory: share rather than fail (the lead's fork checks earlier)
        child.sig.hand = parent.sig.hand;
        child.sig.hand->refs++;
        return;
    }
    memcpy(h->action, parent.sig.hand->action, sizeof h->action);
    h->refs = 1;
    child.sig.hand = h;
}

void signals_exec(Process& p) {
    SigHand* h = p.sig.hand;
    if (h->refs > 1) {  // threads shared them: exec gets its own copy
        auto* mine = static_cast<SigHand*>(kmem_alloc(sizeof(SigHand)));
        if (mine) {
            memcpy(mine->action, h->action, sizeof h->action);
            mine->refs = 1;
            h->refs--;
            p.sig.hand = h = mine;
        }
    }
    for (auto& ka : h->action) {
        if (ka.handler != reinterpret_cast<uint64_t>(SIG_IGN))
            ka.handler = reinterpret_cast<uint64_t>(SIG_DFL);
        ka.flags = 0;
        ka.restorer = 0;
        ka.mask = 0;
    }
    Task* t = current();
    if (t->process == &p) {
        t->sig.ss_sp = t->sig.ss_size = 0;
        t->sig.ss_flags = SS_DISABLE;
        fpu_exec();
    }
}

void signals_exit(Process& p) {
    SigHand* h = p.sig.hand;
    p.sig.hand = nullptr;
    if (h && --h->refs == 0 && h != &g_init_hand)
        kmem_free(h, sizeof(SigHand));
}

long signal_send(Process* p, int sig, const KSigInfo* info) { return send(p, nullptr, sig, info); }

long signal_send_task(Task* t, int sig, const KSigInfo* info) { return send(t->process, t, sig, info); }

int signal_dequeue(Task* t, uint64_t mask, KSigInfo* info) {
    irq::MaskGuard masked;
    uint64_t mine = t->sig.pending.set & mask;
    if (mine) {
        int sig = __builtin_ctzll(mine) + 1;
        *info = take(t->sig.pending, sig);
        return sig;
    }
    uint64_t shared = t->process->sig.shared.set & mask;
    if (shared) {
        int sig = __builtin_ctzll(shared) + 1;
        *info = take(t->process->sig.shared, sig);
        return sig;
    }
    return 0;
}

namespace {
void discard_in_task(Task* t, void* arg) {
    auto* w = static_cast<WakeArg*>(arg);
    if (t->process == w->p)
        drop(t->sig.pending, sig_bit(w->sig));
}
}  // namespace

void signal_discard(Process* p, int sig) {
    irq::MaskGuard masked;
    drop(p->sig.shared, sig_bit(sig));
    WakeArg w{p, sig};
    task_for_each(discard_in_task, &w);
}

long signal_epipe() {
    KSigInfo i{};
    i.signo = SIGPIPE;
    i.code = SI_USER;
    i.kill.pid = static_cast<int32_t>(current_process()->pid);
    signal_send_task(current(), SIGPIPE, &i);
    return -err::kPipe;
}

long signal_temp_mask(uint64_t user_set, uint64_t size) {
    if (!user_set)
        return 0;
    if (size != sizeof(uint64_t))
        return -err::kInval;
    uint64_t set;
    if (copy_from_user(&set, user_set, sizeof set) < 0)
        return -err::kFault;
    Task& t = *current();
    t.sig.saved_mask = t.sigmask;
    t.sig.restore_mask = true;
    t.sigmask = set & ~kUnblockable;
    return 0;
}

long signal_temp_mask_end(long result) {
    Task& t = *current();
    if (t.sig.restore_mask && !(result == -ERESTARTNOHAND && signal_pending(&t))) {
        t.sigmask = t.sig.saved_mask;
        t.sig.restore_mask = false;
    }
    return result;
}

bool signal_pending(const Task* t) {
    return ((t->sig.pending.set | t->process->sig.shared.set) & ~t->sigmask) != 0;
}

bool signal_work(const Task* t) { return t->sig.restore_mask || signal_pending(t) || t->process->stopped; }

void signal_set_hooks(const SignalHooks& hooks) { g_hooks = hooks; }

void signal_force_segv() {
    Task& t = *current();
    t.process->sig.hand->action[SIGSEGV - 1].handler = reinterpret_cast<uint64_t>(SIG_DFL);
    t.sigmask &= ~sig_bit(SIGSEGV);
    KSigInfo i = kernel_info(SIGSEGV);
    irq::MaskGuard masked;
    enqueue(t.sig.pending, SIGSEGV, i);
}

}  // namespace lightvm::guest

// Signal state: sending (queueing on a task or its process, waking a task
// that can take it), dequeueing, default actions, and the decisions made
// on the way back to user mode (restart or EINTR, which signal, which
// action). The frame itself is built in proc/sigframe.cpp.
#include "kernel/proc/signal.hpp"

#include "kernel/errno.hpp"
#include "kernel/event/signalfd.hpp"
#include "kernel/irq/irq.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/exit.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sigframe.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/syscall.hpp"
#include "kernel/uapi.hpp"

extern "C" const uint8_t lvm_vdso_start[], lvm_vdso_end[];
extern "C" char __kernel_end[];
extern "C" uint64_t lvm_fault_frame[6];  // error, rip, cs, rflags, rsp, ss (written by the CPU)
extern "C" uint64_t lvm_trap_handled;

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

constexpr uint64_t kUnblockable = sig_bit(SIGKILL) | sig_bit(SIGSTOP);
constexpr uint64_t kStopSigs = sig_bit(SIGSTOP) | sig_bit(SIGTSTP) | sig_bit(SIGTTIN) | sig_bit(SIGTTOU);

enum class Default { Term, Core, Ignore, Stop, Cont };

Default default_action(int sig) {
    switch (sig) {
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
        return Default::Core;
    case SIGCHLD: case SIGURG: case SIGWINCH:
        return Default::Ignore;
    case SIGCONT:
        return Default::Cont;
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
        return Default::Stop;
    default:
        return Default::Term;  // HUP INT PIPE ALRM TERM USR1 USR2 STKFLT IO PROF VTALRM PWR, RT signals
    }
}

bool is_rt(int sig) { return sig >= 32; }

// Linux's sig_ignored: a signal nobody will ever see is not queued at all
// (unless blocked: the handler may change before it is unblocked).
bool ignored(const Process& p, int sig) {
    const KSigAction& ka = p.sig.hand->action[sig - 1];
    if (ka.handler == reinterpret_cast<uint64_t>(SIG_IGN))
        return sig != SIGKILL && sig != SIGSTOP;
    return ka.handler == reinterpret_cast<uint64_t>(SIG_DFL) && default_action(sig) == Default::Ignore;
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
void wake(Task* t) {
    if (t->state == TaskState::Blocked)
        sched_wake(t);
    else
        t->sig.kick = true;
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
    const bool blocked = t ? (t->sigmask & sig_bit(sig)) : false;
    if (!blocked && ignored(*p, sig))
        return 0;
    KSigInfo i = info ? *info : kernel_info(sig);
    long r = enqueue(t ? t->sig.pending : p->sig.shared, sig, i);
    if (r < 0)
        return r;
    signalfd_notify();  // blocked signals are what signalfds read
    if (t) {
        if (!blocked)
            wake(t);
    } else {
        WakeArg w{p, sig};
        sched_for_each_task(wake_if_taker, &w);
    }
    return 0;
}

// Default action of a dequeued signal with SIG_DFL. Returns when the
// signal is ignored (or stopped and continued).
void default_act(int sig) {
    switch (default_action(sig)) {
    case Default::Ignore:
    case Default::Cont:
        return;
    case Default::Stop:
        if (g_hooks.stop)
            g_hooks.stop(sig);
        return;
    case Default::Term:
    case Default::Core:
        process_kill_self(static_cast<unsigned>(sig));
    }
}

// The restart decision of an interrupted call, before its handler runs
// (handler == true) or when no handler runs.
void restart(SyscallFrame* f, uint64_t nr, bool handler, uint64_t sa_flags) {
    long r = static_cast<long>(f->rax);
    if (!is_restart_code(r))
        return;
    bool again = false;
    switch (-r) {
    case ERESTARTNOHAND:
        again = !handler;
        break;
    case ERESTARTSYS:
        again = !handler || (sa_flags & SA_RESTART);
        break;
    case ERESTARTNOINTR:
        again = true;
        break;
    case ERESTART_RESTARTBLOCK:
        // nanosleep-style calls already wrote the time left: EINTR, never
        // a restart from the beginning (Linux's restart_syscall continues
        // them; we have no restart block).
        again = false;
        break;
    }
    if (again) {
        f->rax = nr;
        f->rip -= 2;  // back onto the 2-byte `syscall`
    } else {
        f->rax = static_cast<uint64_t>(-err::kIntr);
    }
}

// One signal out of the pending sets: its default action, or its handler
// set up in f. Returns true if a handler frame was built.
bool deliver_one(SyscallFrame* f, uint64_t nr, bool in_syscall) {
    Task& t = *current();
    for (;;) {
        KSigInfo info;
        int sig = signal_dequeue(&t, ~t.sigmask, &info);
        if (!sig)
            return false;
        KSigAction& ka = t.process->sig.hand->action[sig - 1];
        if (ka.handler == reinterpret_cast<uint64_t>(SIG_IGN))
            continue;
        if (ka.handler == reinterpret_cast<uint64_t>(SIG_DFL) || sig == SIGKILL) {
            default_act(sig);
            continue;
        }
        if (in_syscall)
            restart(f, nr, true, ka.flags);
        const uint64_t old_mask = t.sig.restore_mask ? t.sig.saved_mask : t.sigmask;
        if (!sigframe_setup(f, sig, info, ka, old_mask)) {
            signal_force_segv();
            continue;
        }
        t.sig.restore_mask = false;
        uint64_t add = ka.mask | ((ka.flags & SA_NODEFER) ? 0 : sig_bit(sig));
        t.sigmask = (old_mask | add) & ~kUnblockable;
        if (ka.flags & SA_RESETHAND)
            ka.handler = reinterpret_cast<uint64_t>(SIG_DFL);
        return true;
    }
}

void after_no_handler(SyscallFrame* f, uint64_t nr, bool in_syscall) {
    Task& t = *current();
    if (in_syscall)
        restart(f, nr, false, 0);
    if (t.sig.restore_mask) {
        t.sigmask = t.sig.saved_mask;
        t.sig.restore_mask = false;
    }
}

// An interrupt is about to return to user code: deliver there too, so a
// timer's signal reaches a program that computes without system calls.
bool user_code(uint64_t rip) {
    if (rip >= reinterpret_cast<uint64_t>(lvm_vdso_start) && rip < reinterpret_cast<uint64_t>(lvm_vdso_end))
        return true;
    return rip < abi::kKernelBase || rip >= reinterpret_cast<uint64_t>(__kernel_end);
}

void irq_user_return(irq::Frame* i) {
    if (!user_code(i->rip) || !current() || !signal_work(current()))
        return;
    SyscallFrame f{i->r15, i->r14, i->r13, i->r12, i->rbp, i->rbx, i->rax, i->rdi, i->rsi, i->rdx,
                   i->r10, i->r8,  i->r9,  i->rcx, i->r11, i->rip, i->cs,  i->rflags, i->rsp, i->ss};
    signal_user_return(&f);
    signal_trap_refresh(current());
    i->r15 = f.r15, i->r14 = f.r14, i->r13 = f.r13, i->r12 = f.r12, i->rbp = f.rbp, i->rbx = f.rbx;
    i->rax = f.rax, i->rdi = f.rdi, i->rsi = f.rsi, i->rdx = f.rdx, i->r10 = f.r10, i->r8 = f.r8;
    i->r9 = f.r9, i->rcx = f.rcx, i->r11 = f.r11, i->rip = f.rip, i->cs = f.cs, i->rflags = f.rflags;
    i->rsp = f.rsp, i->ss = f.ss;
}

// Signals sent to the lightvm process (BootInfo.host_signals_*, the
// monitor rings the doorbell): from "outside", SI_USER with no sender pid.
void on_host_signals(const irq::Frame*) {
    // Doorbells also carry other news (and test traffic, from boot on):
    // nothing to do without bits.
    if (!current())
        return;  // before the first task exists: taken at the next doorbell
    uint64_t bits = __atomic_exchange_n(&boot().host_signals_pending, 0, __ATOMIC_SEQ_CST);
    if (!bits)
        return;
    Process* first = process_first();
    while (bits && first) {
        const int sig = __builtin_ctzll(bits) + 1;
        bits &= bits - 1;
        KSigInfo info{};
        info.signo = sig;
        info.code = SI_USER;
        signal_send(first, sig, &info);
    }
}

// The host signals the monitor may forward (abi.h BootInfo.host_signals_*).
constexpr uint64_t kHostSignals = sig_bit(SIGHUP) | sig_bit(SIGINT) | sig_bit(SIGQUIT) | sig_bit(SIGUSR1) |
                                  sig_bit(SIGTERM) | sig_bit(SIGWINCH) | sig_bit(SIGCONT);

}  // namespace

void signals_init_process(Process& p) {
    irq::set_user_return_hook(irq_user_return);
    irq::set_handler(abi::kIrqDoorbell, on_host_signals);
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
    sched_for_each_task(discard_in_task, &w);
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

bool signal_work(const Task* t) { return t->sig.restore_mask || signal_pending(t); }

void signal_set_hooks(const SignalHooks& hooks) { g_hooks = hooks; }

bool is_restart_code(long r) {
    return r == -ERESTARTSYS || r == -ERESTARTNOINTR || r == -ERESTARTNOHAND || r == -ERESTART_RESTARTBLOCK;
}

void signal_syscall_exit(SyscallFrame* f, uint64_t nr) {
    const bool in_syscall = nr != __NR_rt_sigreturn;
    if (!deliver_one(f, nr, in_syscall))
        after_no_handler(f, nr, in_syscall);
}

void signal_user_return(SyscallFrame* f) {
    if (!deliver_one(f, 0, false))
        after_no_handler(f, 0, false);
}

void signal_force_segv() {
    Task& t = *current();
    t.process->sig.hand->action[SIGSEGV - 1].handler = reinterpret_cast<uint64_t>(SIG_DFL);
    t.sigmask &= ~sig_bit(SIGSEGV);
    KSigInfo i = kernel_info(SIGSEGV);
    irq::MaskGuard masked;
    enqueue(t.sig.pending, SIGSEGV, i);
}

bool signal_force_fault(SyscallFrame* f, int sig, int code, uint64_t addr, uint64_t trapno, uint64_t error) {
    Task& t = *current();
    KSigAction& ka = t.process->sig.hand->action[sig - 1];
    const bool handled = ka.handler != reinterpret_cast<uint64_t>(SIG_DFL) &&
                         ka.handler != reinterpret_cast<uint64_t>(SIG_IGN) && !(t.sigmask & sig_bit(sig));
    if (!handled)
        return false;  // Linux's force_sig_fault: blocked or ignored is the default action
    KSigInfo info{};
    info.signo = sig;
    info.code = code;
    info.fault.addr = addr;
    sigframe_set_fault(trapno, error, addr);
    const uint64_t old_mask = t.sigmask;
    bool ok = sigframe_setup(f, sig, info, ka, old_mask);
    sigframe_set_fault(0, 0, 0);
    if (!ok)
        return false;
    t.sigmask = (old_mask | ka.mask | ((ka.flags & SA_NODEFER) ? 0 : sig_bit(sig))) & ~kUnblockable;
    if (ka.flags & SA_RESETHAND)
        ka.handler = reinterpret_cast<uint64_t>(SIG_DFL);
    return true;
}

}  // namespace lightvm::guest

namespace lightvm::guest {

bool signal_fault_to_handler(PushedGprs& r, int sig, int code, uint64_t addr, uint64_t trapno, uint64_t error) {
    uint64_t* cpu = lvm_fault_frame;
    SyscallFrame f{r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.rax, r.rdi, r.rsi, r.rdx,
                   r.r10, r.r8,  r.r9,  r.rcx, r.r11, cpu[1], cpu[2], cpu[3], cpu[4], cpu[5]};
    if (!signal_force_fault(&f, sig, code, addr, trapno, error))
        return false;
    r.r15 = f.r15, r.r14 = f.r14, r.r13 = f.r13, r.r12 = f.r12, r.r11 = f.r11, r.r10 = f.r10;
    r.r9 = f.r9, r.r8 = f.r8, r.rbp = f.rbp, r.rdi = f.rdi, r.rsi = f.rsi, r.rdx = f.rdx;
    r.rcx = f.rcx, r.rbx = f.rbx, r.rax = f.rax;
    cpu[1] = f.rip, cpu[3] = f.rflags, cpu[4] = f.rsp;
    signal_trap_refresh(current());
    return true;
}

void signal_trap_refresh(const Task* t) {
    // Vector -> signal (Linux's do_trap/do_error_trap table for these).
    static constexpr struct {
        uint8_t vector, sig;
    } kTraps[] = {{0, SIGFPE}, {6, SIGILL}, {13, SIGSEGV}, {16, SIGFPE}, {19, SIGFPE}};
    uint64_t bits = 0;
    const SigHand* h = t->process->sig.hand;
    for (auto [vector, sig] : kTraps) {
        const uint64_t handler = h->action[sig - 1].handler;
        if (handler != reinterpret_cast<uint64_t>(SIG_DFL) && handler != reinterpret_cast<uint64_t>(SIG_IGN) &&
            !(t->sigmask & sig_bit(sig)))
            bits |= 1ull << vector;
    }
    lvm_trap_handled = bits;
    // The first process tells the monitor which host signals it takes.
    if (t->process == process_first()) {
        uint64_t host = 0;
        for (uint64_t m = kHostSignals; m; m &= m - 1) {
            const int sig = __builtin_ctzll(m) + 1;
            if (h->action[sig - 1].handler != reinterpret_cast<uint64_t>(SIG_DFL))
                host |= sig_bit(sig);
        }
        if (boot().host_signals_handled != host)
            boot().host_signals_handled = host;
    }
}

}  // namespace lightvm::guest

// Signal delivery on the way back to user mode: after a system call, an
// interrupt that stopped user code, or a fault. Decides restart or EINTR,
// runs default actions (which may end the process: this module sits above
// proc/exit.cpp), and has proc/sigframe.cpp build the handler's frame.
// Sending, queueing and masks are proc/signal.cpp.
#include "kernel/proc/host_exec.hpp"
#include "kernel/proc/signal_deliver.hpp"

#include "arch/x86_64/cpu.hpp"
#include "kernel/dev/console.hpp"

#include "kernel/irq/irq.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/exit.hpp"
#include "kernel/proc/pgrp.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/sigframe.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/tty/ctty.hpp"
#include "kernel/uapi.hpp"


namespace lightvm::guest {

namespace {

// Default action of a dequeued signal with SIG_DFL. Returns when the
// signal is ignored (or stopped and continued).
void default_act(int sig) {
    switch (signal_default_action(sig)) {
    case SigDefault::Ignore:
    case SigDefault::Cont:
        return;
    case SigDefault::Stop:
        // POSIX: a terminal stop signal to an orphaned group is discarded
        // (nobody would continue it); SIGSTOP still stops.
        if (sig != SIGSTOP && pgrp_orphaned(current_process()->pgid))
            return;
        if (signal_hooks().stop)
            signal_hooks().stop(sig);
        return;
    case SigDefault::Term:
    case SigDefault::Core:
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

// Signals sent to the lightvm process (BootInfo.host_signals_*, the
// monitor rings the doorbell): from "outside", SI_USER with no sender pid.
void on_host_signals(const irq::Frame*) {
    // Doorbells also carry other news (and test traffic, from boot on):
    // nothing to do without bits.
    if (!current())
        return;  // before the first task exists: taken at the next doorbell
    uint64_t bits = __atomic_exchange_n(&boot().host_signals_pending, 0, __ATOMIC_SEQ_CST);
    if (bits & abi::kHostExecNews)
        exec_news();
    bits &= ~abi::kHostExecNews;
    if (!bits)
        return;
    if (bits & sig_bit(SIGWINCH))
        tty_window_changed();
    Process* first = process_first();
    while (bits && first) {
        const int sig = __builtin_ctzll(bits) + 1;
        bits &= bits - 1;
        KSigInfo info{};
        info.signo = sig;
        info.code = SI_USER;
        // A job-control shell named a foreground group: the terminal's
        // signals go to that job, as a terminal's Ctrl-C does.
        const bool from_tty = sig == SIGINT || sig == SIGQUIT || sig == SIGWINCH;
        const uint32_t fg = console_ctty().pgrp;
        if (!(from_tty && fg && signal_group(fg, sig, info)))
            signal_send(first, sig, &info);
    }
}

// The host signals the monitor may forward (abi.h BootInfo.host_signals_*).
constexpr uint64_t kHostSignals = sig_bit(SIGHUP) | sig_bit(SIGINT) | sig_bit(SIGQUIT) | sig_bit(SIGUSR1) |
                                  sig_bit(SIGTERM) | sig_bit(SIGWINCH) | sig_bit(SIGCONT);

// Another thread of this process took a stop signal: this one stops too
// before it runs more user code.
void join_group_stop() {
    if (current_process()->stopped && signal_hooks().stop)
        signal_hooks().stop(0);
}

}  // namespace

void signal_delivery_init() { irq::set_handler(abi::kIrqDoorbell, on_host_signals); }

bool is_restart_code(long r) {
    return r == -ERESTARTSYS || r == -ERESTARTNOINTR || r == -ERESTARTNOHAND || r == -ERESTART_RESTARTBLOCK;
}

void signal_syscall_exit(SyscallFrame* f, uint64_t nr) {
    join_group_stop();
    const bool in_syscall = nr != __NR_rt_sigreturn;
    if (!deliver_one(f, nr, in_syscall))
        after_no_handler(f, nr, in_syscall);
}

void signal_user_return(SyscallFrame* f) {
    join_group_stop();
    if (!deliver_one(f, 0, false))
        after_no_handler(f, 0, false);
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

bool signal_fault_to_handler(PushedGprs& r, int sig, int code, uint64_t addr, uint64_t trapno, uint64_t error) {
    uint64_t* cpu = this_cpu_arch().fault_frame;  // written by the CPU: error, rip, cs, rflags, rsp, ss
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
    this_cpu_arch().trap_handled = bits;  // read by this CPU's trap stubs (percpu.S)
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

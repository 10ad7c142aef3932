// Signals: per-process handlers and pending set, per-task mask and pending
// set, delivery on the way back to user mode (after a system call or an
// interrupt that stopped user code) by building Linux's x86-64 rt_sigframe
// on the user stack (proc/sigframe.cpp), rt_sigreturn undoing it. The
// syscalls are in proc/sys_signal.cpp; docs/design.md, "Signals".
//
// This header has no uapi include: task.hpp (and so hosted unit tests)
// include it. The structs below have Linux's layouts (asserted in
// signal.cpp against the uapi headers).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

struct Process;
struct Task;
struct SyscallFrame;

inline constexpr int kNSig = 64;
inline constexpr uint64_t sig_bit(int sig) { return 1ull << (sig - 1); }

// siginfo_t as x86-64 Linux lays it out (128 bytes; the union at 16).
struct KSigInfo {
    int32_t signo, err, code, pad0;
    union {
        struct { int32_t pid; uint32_t uid; uint64_t value; } kill;  // SI_USER, SI_TKILL, SI_QUEUE
        struct { int32_t tid; int32_t overrun; uint64_t value; } timer;  // SI_TIMER
        struct { int32_t pid; uint32_t uid; int32_t status; int32_t pad; int64_t utime, stime; } chld;
        struct { uint64_t addr; } fault;  // SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP
        uint8_t raw[112];
    };
};
static_assert(sizeof(KSigInfo) == 128);

// rt_sigaction's struct on x86-64 (handler, flags, restorer, mask).
struct KSigAction {
    uint64_t handler, flags, restorer, mask;
};

// The handlers of a process: shared by threads created with CLONE_SIGHAND,
// copied by fork (signals_fork).
struct SigHand {
    uint32_t refs;
    KSigAction action[kNSig];
};

// A pending set with the siginfo of each queued instance, oldest first.
// Standard signals (1..31) are queued once; real-time signals queue every
// instance up to kSigQueueMax (then sigqueue says EAGAIN).
inline constexpr int kSigQueueMax = 16;
struct SigPending {
    uint64_t set;
    uint32_t n;
    KSigInfo queue[kSigQueueMax];
};

// A task's part (Task::sig); Task::sigmask is its blocked mask.
struct TaskSignals {
    SigPending pending;       // tkill/tgkill and synchronous faults
    uint64_t saved_mask;      // rt_sigsuspend/ppoll/pselect: the mask to restore
    bool restore_mask;        // ... after the next delivery (or at once without one)
    bool kernel_only;         // kernel threads: never receive signals
    volatile bool kick;       // a signal came while running: the next sched_block returns at once
    uint64_t ss_sp, ss_size;  // sigaltstack
    uint32_t ss_flags;        // SS_DISABLE or 0 (SS_ONSTACK is computed)
};

// A process's part (Process::sig).
struct ProcTimers;
struct ProcSignals {
    SigHand* hand;
    SigPending shared;  // kill(), process-directed timers, SIGCHLD
    ProcTimers* timers; // alarm/setitimer/timer_create (time/timers.cpp), null until used
};

// ---- The API the process model calls (keep stable) --------------------

// The first process's handlers (all SIG_DFL) and empty sets.
void signals_init_process(Process& p);
// fork/clone: a child gets a copy of the parent's handlers, or shares them
// (CLONE_SIGHAND); its pending set is empty. The caller copies the blocked
// mask and the altstack of the forking task into the child's task.
void signals_fork(Process& child, const Process& parent, bool share_handlers);
// execve: handled signals go back to SIG_DFL (ignored ones stay ignored),
// the altstack is off; mask and pending signals survive (as Linux).
void signals_exec(Process& p);
// exit: drops the process's reference to its handlers.
void signals_exit(Process& p);
// Process-directed: queued on the process; any of its tasks not blocking
// it takes it. info == nullptr: SI_KERNEL. Returns 0 or -EAGAIN (an RT
// queue full).
long signal_send(Process* p, int sig, const KSigInfo* info);
// Thread-directed (tkill, faults).
long signal_send_task(Task* t, int sig, const KSigInfo* info);
// Takes the lowest pending signal of t in `mask` (blocked or not) out of
// its sets (rt_sigtimedwait, signalfd): 0 if none.
int signal_dequeue(Task* t, uint64_t mask, KSigInfo* info);
// Drops pending instances of sig everywhere in p (its handler became
// SIG_IGN, or SIG_DFL with "ignore").
void signal_discard(Process* p, int sig);
// A write to a pipe or socket nobody reads: SIGPIPE for the current task
// (its default action ends the process), and -EPIPE for the call.
long signal_epipe();
// ppoll/pselect6: the caller's mask for the duration of the call (0 or
// -errno); the end keeps it until delivery if a signal interrupted the
// call (the handler's frame then carries the old mask, as sigsuspend).
long signal_temp_mask(uint64_t user_set, uint64_t size);
long signal_temp_mask_end(long result);
// Has t an unblocked pending signal? Interruptible waits return early then.
bool signal_pending(const Task* t);
// Anything to do on the way back to user mode (a signal or a mask to restore).
bool signal_work(const Task* t);

// Default action "stop"/"continue" (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU,
// SIGCONT): the process model installs these hooks (job control). Without
// them a stop signal is ignored (there is nobody to continue us).
struct SignalHooks {
    void (*stop)(int sig);      // the current process stops (returns when continued)
    void (*cont)(Process* p);   // p is continued (called on sending SIGCONT)
};
void signal_set_hooks(const SignalHooks& hooks);

// ---- Delivery (called by the syscall and interrupt exit paths) --------

// Internal "restart" results (uapi.hpp ERESTART*): never seen by the program.
bool is_restart_code(long result);
// The end of a system call: f->rax holds the result; nr the call (not
// __NR_rt_sigreturn: that result is a restored register). Handles
// restarts and delivers at most one handled signal (the rest go out at the
// next return, before any more user code of the interrupted flow runs).
void signal_syscall_exit(SyscallFrame* f, uint64_t nr);
// Returning from an interrupt or fault to user code: delivers one signal.
void signal_user_return(SyscallFrame* f);
// A synchronous fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) in user
// code: true if a handler will run (delivered into f), false if the
// default action applies (the caller reports and ends the process).
bool signal_force_fault(SyscallFrame* f, int sig, int code, uint64_t addr, uint64_t trapno, uint64_t error);
// What PUSH_GPRS (arch/x86_64/gprs.h) saved on the fault stack; with the
// CPU's frame in lvm_fault_frame it is the faulting program's state.
struct PushedGprs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
};
// The page-fault and trap paths: signal_force_fault on that state; true
// if the program's handler runs when the path returns.
bool signal_fault_to_handler(PushedGprs& r, int sig, int code, uint64_t addr, uint64_t trapno, uint64_t error);
// Which CPU exceptions the CPL0 trap stubs may hand to the kernel now
// (arch/x86_64/cpl0.S lvm_trap_handled): a handler for the vector's signal
// is installed and not blocked. Refreshed on every return to user mode.
void signal_trap_refresh(const Task* t);

// force_sigsegv: a bad signal frame or rt_sigreturn frame: SIGSEGV with its
// default action, whatever the handler or mask.
void signal_force_segv();

}  // namespace lightvm::guest

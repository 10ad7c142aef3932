// Signals: per-process handlers and pending set, per-task mask and pending
// set, delivery on the way back to user mode (after a system call or an
// interrupt that stopped user code) by building Linux's x86-64 rt_sigframe
// on the user stack (proc/sigframe.cpp), rt_sigreturn undoing it. The
// syscalls are in proc/sys_signal.cpp; docs/design.md, "Signals".
//
// The structs are in signal_types.hpp (task.hpp embeds them).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/proc/signal_types.hpp"

namespace lightvm::guest {

struct Process;
struct Task;
struct SyscallFrame;

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
const SignalHooks& signal_hooks();

// What SIG_DFL does with a signal (man 7 signal).
enum class SigDefault { Term, Core, Ignore, Stop, Cont };
SigDefault signal_default_action(int sig);
// Never blocked, never caught.
inline constexpr uint64_t kUnblockable = sig_bit(9) | sig_bit(19);  // SIGKILL, SIGSTOP

// force_sigsegv: a bad signal frame or rt_sigreturn frame: SIGSEGV with its
// default action, whatever the handler or mask.
void signal_force_segv();

}  // namespace lightvm::guest

// Linux's x86-64 signal frame on the user stack (proc/sigframe.cpp).
#pragma once

#include <stdint.h>

#include "kernel/proc/signal.hpp"

namespace lightvm::guest {

struct SyscallFrame;

// Builds the rt_sigframe for sig below f->rsp (or on the altstack), saves
// the FPU state into it, and points f at the handler. old_mask goes into
// uc_sigmask. false: the stack cannot take the frame (or SA_RESTORER is
// missing): the caller forces SIGSEGV.
bool sigframe_setup(SyscallFrame* f, int sig, const KSigInfo& info, const KSigAction& ka, uint64_t old_mask);
// The trap number, error code and CR2 of the fault the next frame is for
// (sigcontext's trapno/err/cr2); all zero for other signals.
void sigframe_set_fault(uint64_t trapno, uint64_t error, uint64_t cr2);
// rt_sigreturn: restores f, the FPU state, the mask and the altstack from
// the frame at f->rsp - 8. false: a bad frame (nothing changed).
bool sigframe_return(SyscallFrame* f);

// sigaltstack's "are we on it" for the user stack pointer sp.
bool on_altstack(const Task& t, uint64_t sp);

// The FPU state of user code for a fresh handler (Linux's init state);
// sigframe.cpp also probes MXCSR_MASK at boot.
void fpu_init();

// Task switches (proc/sched.cpp): the CPU's x87/SSE registers belong to the
// running user task; the switch saves prev's and loads next's. fork gives
// the child a copy of the parent's state, exec the initial state.
void fpu_switch(Task* prev, Task* next);
void fpu_fork(Task* child);
void fpu_exec();

}  // namespace lightvm::guest

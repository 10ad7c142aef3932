// Linux's x86-64 signal frame on the user stack (proc/sigframe.cpp).
#pragma once

#include <stdint.h>

#include "kernel/proc/signal_types.hpp"

namespace lightvm::guest {

struct SyscallFrame;
struct Task;

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

}  // namespace lightvm::guest

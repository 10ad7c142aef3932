// Signal delivery (proc/signal_deliver.cpp), called by the system-call
// exit, the interrupt return to user code and the fault paths.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct SyscallFrame;
struct Task;

// Installs the doorbell's handler: host signals reach the first process.
void signal_delivery_init();
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

}  // namespace lightvm::guest

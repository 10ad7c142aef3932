// Preemption: the scheduler's tick (proc/sched.cpp) sets the CPU's
// need_resched; the switch happens on the way back to user mode. After a
// system call the exit path yields; after an interrupt that stopped user
// code, the interrupt's return is redirected into the kernel: the
// interrupted registers become a SyscallFrame on the task's kernel stack
// (where a system call would have put them), lvm_preempt_entry yields and
// returns to the program through the system-call exit. The kernel itself
// is never preempted (a tick during a system call waits for its end).
#pragma once

namespace lightvm::guest {

// Installs the interrupt-return hook (which also delivers signals).
void preempt_init();

}  // namespace lightvm::guest

// CPU time per task, split into user and system time, for
// CLOCK_THREAD_CPUTIME_ID / CLOCK_PROCESS_CPUTIME_ID, times() and
// getrusage(). Accounted from the TSC at the points where a task changes
// sides: system-call entry (user time ends) and exit (system time ends),
// and the scheduler (a task that stops running stops being charged; the
// CPU idling in the monitor is nobody's time). Precision: the clock is the
// TSC in ns; interrupts and page faults taken while in user mode count as
// user time (their handlers do not account), as does the monitor's time
// for an exit made on the task's behalf (a host file read counts as the
// system time of the call that made it), and so does time the host takes
// the vCPU away while the task runs (there is no steal-time clock: on a
// loaded host this adds a few ms here and there, which Linux would not
// count).
#pragma once

#include <stdint.h>

#include "kernel/proc/cputime_types.hpp"

namespace lightvm::guest {

struct Task;
struct Process;

// System-call entry and exit of the current task.
void cputime_syscall_enter(Task* t);
void cputime_syscall_exit(Task* t);
// The scheduler: t stops running (it is in the kernel: system time), or
// starts/resumes.
void cputime_stop(Task* t);
void cputime_start(Task* t);

// A task's times up to now (its running stretch included).
void cputime_task(const Task* t, uint64_t* user_ns, uint64_t* sys_ns);
// The sum over the process's tasks (kernel threads excluded).
void cputime_process(const Process* p, uint64_t* user_ns, uint64_t* sys_ns);
// The process is exiting (its last task is current): its times are kept.
void cputime_exit(Process* p);
// A zombie child is reaped: its times and its children's become the
// parent's children's times (RUSAGE_CHILDREN, tms_cutime); *user_ns and
// *sys_ns are what wait4's rusage reports (the child's, its children's
// included, as Linux).
void cputime_reap(Process* parent, const Process* child, uint64_t* user_ns, uint64_t* sys_ns);

}  // namespace lightvm::guest

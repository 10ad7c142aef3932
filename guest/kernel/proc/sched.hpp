// The scheduler: which task runs on the CPU. Tasks are Running (on the run
// queue), Blocked (waiting on a WaitQueue and/or a deadline) or Dead. A
// task gives up the CPU by blocking or exiting, or is preempted at its next
// return to user mode when its 10 ms slice ends while another task can run
// or a blocked task's deadline passes (proc/preempt.cpp). When nothing can run, the CPU idles
// in the monitor with one exit, until the earliest deadline — or forever,
// as a Linux process blocked with nobody to wake it would (--timeout and
// Ctrl-C still stop the VM).
#pragma once

#include <stdint.h>

#include "kernel/proc/task.hpp"

namespace lightvm::guest {

// The current task sleeps until made runnable (sched_wake) or until the
// monotonic deadline_ns passes (0: no deadline).
void sched_block(uint64_t deadline_ns);
// Makes a blocked task runnable.
void sched_wake(Task* t);
// Lets another runnable task run, if any.
void sched_yield();
bool deadline_passed(uint64_t deadline_ns);
// Sleeps the current task until the deadline (nanosleep).
void sched_sleep_until(uint64_t deadline_ns);

// Kernel threads: run fn(arg) on a task of their own in the current
// process, then die. For kernel work that must wait (and for tests of the
// wait paths); nullptr when no task slot or stack is free.
Task* kthread_create(void (*fn)(void*), void* arg, const char* name);

// Makes t known to the scheduler (the first task, forked ones;
// kthread_create does it for its own).
void sched_add_task(Task* t);
// The current user task is gone (its process exited): never runs again;
// its stack and Task are freed after the switch away, and so is `reaped`
// (its process, when nobody will wait for it). Nothing else of the
// process is touched then: its parent may have reaped it meanwhile (the
// switch away from a dead task may come much later, on a CPU that idles
// on its stack).
[[noreturn]] void sched_exit_task(Process* reaped = nullptr);
// A CLONE_VFORK child execs or exits: its parent may run again.
void sched_release_vfork(Task* t);
// The current task's FS base (TLS), in the task and in the CPU.
void sched_set_user_fs_base(uint64_t base);
// Called first after every switch (and by a new task's first code).
void sched_finish_switch();
// Called before the CPU idles in the monitor (the file cache flushes its
// write-behind data, so the host sees current files while we sleep).
void sched_set_idle_hook(void (*hook)());

// Networking's idle: when set, it is offered each idle first (ns from now,
// or forever) and returns true if it slept in the monitor itself (polling
// host sockets somebody waits on).
void sched_set_idle_poller(bool (*poller)(uint64_t ns, bool forever));
// May the current task wait inside the monitor (a blocking host-socket
// call in one exit)? Only if no other task can run; *wait_ns is how long
// (-1: no other deadline). Runs the idle hook, as an idle would.
bool sched_monitor_may_wait(int64_t* wait_ns);

// A started CPU's life (smp/cpus.cpp): schedules from its idle task.
[[noreturn]] void sched_run_cpu();

// How many times the CPU idled in the monitor (each is one exit).
uint64_t sched_idle_count();

}  // namespace lightvm::guest

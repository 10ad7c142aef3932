// Processes the host starts in the running VM (lightvm-oci exec; abi.h
// "Exec", docs/design.md "Exec"): the calls the scheduler, fork, exit and
// signal delivery make into exec/spawn.cpp, declared here, on their side,
// so that exec/ depends on proc/ and never the other way. The doorbell brings the news; the next
// schedule() takes the monitor's queue: each request becomes a process
// made from nothing (no fork: an empty address space, its own fd table
// with the request's three host sockets as stdin/stdout/stderr, its own
// session, the request's ids and working directory), a child of the VM's
// first process that is reaped at once when it ends (no SIGCHLD, no
// zombie: its status goes to the host instead). Its task runs the program
// through execve's own path, in its own context, as Linux's kernel_execve.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

// The doorbell's kHostExecNews (interrupt context): take the queue soon.
void exec_news();
// From schedule(): takes the queue if there is news (cheap otherwise).
void exec_serve();
// A spawned task's first code (proc/fork.cpp lvm_fork_tail), in its own
// process: stdio, working directory, then the program. Never returns on
// failure (the process exits 127 or 126, as a shell says).
void exec_spawned_start(void* request);
// The process of a host exec ends with this wait status (proc/exit.cpp).
void exec_report_exit(uint32_t id, int wait_status);

}  // namespace lightvm::guest

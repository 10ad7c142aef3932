// How a process ends: by exit/exit_group, or killed by a signal's default
// action. The VM's first process ending ends the VM with its status (and
// every other process with it, as a container's); any other process
// becomes a zombie until its parent reaps it (proc/exit.cpp, wait.cpp).
#pragma once

namespace lightvm::guest {

struct Process;

// exit_group(code): the current process ends with status `code & 0xff`
// (its other threads are killed; the last one out ends it).
[[noreturn]] void process_exit(int code);
// exit(code): only the calling thread ends; the last thread's exit ends
// the process with its code.
[[noreturn]] void process_thread_exit(int code);
// execve from a multi-threaded process: kills the other threads and waits
// until they are gone (0), or -EAGAIN when the group is already exiting.
long process_single_thread();
// The current process is killed by `sig` (a default action "terminate" or
// "core"): its parent sees WIFSIGNALED; the VM's first process gives the
// VM status 128 + sig.
[[noreturn]] void process_kill_self(unsigned sig);

// Drops what a process holds (address space, descriptors, filesystem
// context); for exit and for a fork that failed half-way.
void process_release_resources(Process* p);

// A child became a zombie: its parent gets its exit signal (SIGCHLD) and
// waiters wake. True when the parent ignores SIGCHLD: no zombie is kept.
bool process_notify_parent(Process* child);

}  // namespace lightvm::guest

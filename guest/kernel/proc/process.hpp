// The process table and tree. Processes are found by pid (kill, wait4,
// /proc) and linked to their parent; the VM's first process is the
// reaper of orphans (as init is) and its exit ends the VM.
#pragma once

#include <stdint.h>

#include "kernel/proc/task.hpp"

namespace lightvm::guest {

// Room in the process table. The VM's limit (processes alive or zombie at
// once, fork beyond: EAGAIN) is --pids (BootInfo.max_procs), at most this;
// it is also RLIMIT_NPROC's default.
inline constexpr uint32_t kMaxProcs = abi::kMaxPids;

// Registers the first process (proc_init).
void process_table_init(Process* first);
// The process with this pid (alive or zombie), or nullptr.
Process* process_find(uint32_t pid);
// The VM's first process.
Process* process_first();
// Iteration in pid-table order: nullptr starts, nullptr ends.
Process* process_next(Process* prev);
uint32_t process_count();
// The VM's process limit (--pids).
uint32_t process_limit();
// The n-th process in table order (/proc's listing), or nullptr.
Process* process_nth(uint32_t n);
// The pid handed out last (/proc/loadavg).
uint32_t process_last_pid();

// A zeroed process with a fresh pid, registered; nullptr at the limit or
// out of memory. Its tree links are made by process_adopt.
Process* process_alloc();
// Unregisters and frees a reaped process (its resources are gone).
void process_free(Process* p);
// Makes child a child of parent (ppid too).
void process_adopt(Process* parent, Process* child);
// Removes p from its parent's list of children.
void process_unlink(Process* p);

// A free id for a new thread (the pid space: tids and pids are one).
uint32_t pid_alloc();

// Tasks: zeroed objects; their kernel stacks come from mm/kstack.
Task* task_alloc();
void task_free(Task* t);
// A zeroed task with its kernel stack (a forked child's, a host-started
// process's); nullptr when either runs out.
Task* task_with_kstack();
// Its first switch goes to lvm_fork_child (arch/x86_64/switch.S), which
// returns to user space through the SyscallFrame the caller filled in at
// the top of its kernel stack: how a forked child and a host-started
// process first run.
void task_start_from_frame(Task* t);

}  // namespace lightvm::guest

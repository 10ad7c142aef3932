// getrusage() and wait4()'s rusage beyond CPU times: the largest resident
// set (ru_maxrss, KiB), page faults (ru_minflt; ru_majflt stays 0: no
// fault waits for a disk here, file pages are read by the system call that
// maps them or the page cache), voluntary and involuntary context switches
// (ru_nvcsw, ru_nivcsw). Linux's rules: a thread's counts stay with the
// process when it exits, an exec keeps the largest resident set so far,
// RUSAGE_CHILDREN sums reaped children's counts and takes the largest of
// their resident sets. The other fields are 0, as on Linux.
#pragma once

#include <stdint.h>

#include "kernel/proc/rusage_types.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

struct Task;
struct Process;
struct AddressSpace;

// The scheduler switches away from prev: it blocked (voluntary) or not.
void rusage_switch(Task* prev, bool still_runnable);
// A task leaves its process (not the last one: process_end takes those).
void rusage_task_exit(Task* t);
// The address space goes (exec, or the process ends): its peak stays.
void rusage_note_mm(Process* p, const AddressSpace& mm);
// The process ends (its last task is current): its tasks' counts are kept.
void rusage_exit(Process* p);
// A zombie child is reaped: its counts go to the parent's children's.
void rusage_reap(Process* parent, const Process* child);

// The counts for getrusage(who) or a zombie's wait4 rusage, without the
// CPU times (the caller fills ru_utime and ru_stime).
void rusage_self(const Process* p, rusage* r);
void rusage_thread(const Task* t, rusage* r);
void rusage_children(const Process* p, rusage* r);
void rusage_zombie(const Process* child, rusage* r);

}  // namespace lightvm::guest

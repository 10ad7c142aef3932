// Every task of the VM, in one array: the scheduler scans it for runnable
// tasks and deadlines, and signals, pid allocation and CPU-time sums walk
// it. Its own module below the scheduler, so those walkers need not
// include sched.hpp. A scan is cheap next to a switch that loads CR3
// (~7-10 us on PVM, docs/platform.md); a run queue replaces the scan for
// picking when threads make runnable tasks many.
#pragma once

#include "kernel/proc/task.hpp"

namespace lightvm::guest {

// Adds t (once); false when the array is full.
bool tasks_add(Task* t);
void tasks_remove(Task* t);
int tasks_count();
Task* tasks_at(int i);
// Calls fn(t, arg) for every task.
void task_for_each(void (*fn)(Task* t, void* arg), void* arg);

}  // namespace lightvm::guest

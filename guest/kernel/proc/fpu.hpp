// The user's x87/SSE state. The kernel is built -mgeneral-regs-only, so
// the CPU's FPU registers always hold the running user task's state; a
// task switch saves prev's and loads next's (fxsave: the monitor hides
// XSAVE, docs/design.md "Signals"). Signal frames (proc/sigframe.cpp)
// save and restore it through the same primitives.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct Task;

inline constexpr uint64_t kFpuStateSize = 512;  // the fxsave image

// Probes MXCSR_MASK and builds Linux's initial state (boot).
void fpu_init();

// Task switches (proc/sched.cpp): saves prev's registers, loads next's.
// fork gives the child a copy of the parent's state, exec the initial one.
void fpu_switch(Task* prev, Task* next);
void fpu_fork(Task* child);
void fpu_exec();

// The CPU's state into buf (64-byte aligned, kFpuStateSize), and back.
void fpu_save(uint8_t* buf);
void fpu_load(const uint8_t* buf);
// Linux's initial state (FCW 0x37f, MXCSR 0x1f80, registers zero).
void fpu_load_init();
// The MXCSR bits this CPU accepts (a restored MXCSR outside it would #GP).
uint32_t fpu_mxcsr_mask();

}  // namespace lightvm::guest

// Per-CPU data, reached from the syscall entry path without a free
// register: it sits at a fixed kernel address (lvm_cpu0). Under PVM the
// entry runs at CPL3, where swapgs faults, and the user owns FS/GS bases,
// so neither can point at it. With several vCPUs each vCPU's page tables
// map its own copy of this page at the same address (one differing entry),
// which keeps the entry path unchanged (docs/design.md, "Tasks and CPUs").
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lightvm/abi.h"

namespace lightvm::guest {

struct Task;

struct Cpu {
    Cpu* self;            // entry.S: CPU_SELF
    uint64_t user_rsp;    // entry.S: CPU_USER_RSP, the interrupted user RSP
    uint64_t kstack_top;  // entry.S: CPU_KSTACK_TOP, the current task's kernel stack
    Task* current;        // entry.S: CPU_CURRENT
    uint32_t id;
    // The time slice ran out or a deadline passed while a task ran
    // (proc/sched.cpp's tick): switch at the next return to user mode.
    volatile uint8_t need_resched;
    uint8_t pad[3];
    uint64_t syscalls;    // handled on this CPU (--stats sums them)
    // Hypercall argument blocks: a hypercall is one synchronous exit of
    // this vCPU, so one set per CPU is never in use twice.
    abi::HcFs hc_fs;
    abi::HcFs hc_fs_batch[abi::kMaxFsBatch];
    abi::HcBlock hc_block;
    abi::HcNet hc_net;
};

// Offsets used by arch/x86_64/entry.S.
static_assert(offsetof(Cpu, self) == 0);
static_assert(offsetof(Cpu, user_rsp) == 8);
static_assert(offsetof(Cpu, kstack_top) == 16);
static_assert(offsetof(Cpu, current) == 24);

extern "C" Cpu lvm_cpu0;

inline Cpu& this_cpu() { return lvm_cpu0; }

}  // namespace lightvm::guest

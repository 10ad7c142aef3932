// Per-CPU data. Each vCPU has its own entry code (arch/x86_64/percpu.S),
// which reaches its CpuArch in lvm_percpu RIP-relative and passes its CPU
// number to C; kernel C code runs under the kernel lock (kernel/smp/bkl.hpp),
// whose owner is the CPU this_cpu() names (docs/design.md, "Several vCPUs").
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/percpu_layout.h"
#include "lightvm/abi.h"

namespace lightvm::guest {

struct Task;

// What the entry code reaches without a register: layout in percpu_layout.h.
struct alignas(4096) CpuArch {
    abi::IrqState irq;
    uint8_t pad0[PC_SVC_REQUEST - sizeof(abi::IrqState)];
    volatile uint64_t svc_request;  // a CR3 value, or 1: invlpg svc_pages[0, svc_count)
    volatile uint64_t svc_count;
    volatile uint64_t svc_pages[16];
    uint64_t pf_cr2;
    uint64_t pf_busy;
    uint64_t trap_vector;
    uint64_t trap_handled;
    uint64_t user_rsp;
    uint64_t kstack_top;            // the current task's kernel stack
    uint8_t fault_room[256];
    uint64_t fault_frame[6];        // error, rip, cs, rflags, rsp, ss (written by the CPU)
    uint8_t pad1[PC_SVC_STACK - PC_FAULT_FRAME_TOP];
    uint8_t svc_stack[PC_SVC_STACK_TOP - PC_SVC_STACK];  // the interrupt stack follows at once
    uint8_t irq_stack[PC_IRQ_STACK_TOP - PC_IRQ_STACK];
    uint8_t pf_stack[PC_PF_STACK_TOP - PC_PF_STACK];
};
static_assert(offsetof(abi::IrqState, pending) == 0 && offsetof(abi::IrqState, busy) == 8);  // percpu.S
static_assert(sizeof(abi::IrqState) <= PC_SVC_REQUEST);
static_assert(offsetof(CpuArch, svc_request) == PC_SVC_REQUEST && offsetof(CpuArch, svc_count) == PC_SVC_COUNT);
static_assert(offsetof(CpuArch, svc_pages) == PC_SVC_PAGES && offsetof(CpuArch, pf_cr2) == PC_PF_CR2);
static_assert(offsetof(CpuArch, pf_busy) == PC_PF_BUSY && offsetof(CpuArch, trap_vector) == PC_TRAP_VECTOR);
static_assert(offsetof(CpuArch, trap_handled) == PC_TRAP_HANDLED && offsetof(CpuArch, user_rsp) == PC_USER_RSP);
static_assert(offsetof(CpuArch, kstack_top) == PC_KSTACK_TOP && offsetof(CpuArch, fault_room) == PC_FAULT_ROOM);
static_assert(offsetof(CpuArch, fault_frame) == PC_FAULT_FRAME && offsetof(CpuArch, svc_stack) == PC_SVC_STACK);
static_assert(offsetof(CpuArch, irq_stack) == PC_IRQ_STACK && offsetof(CpuArch, pf_stack) == PC_PF_STACK);
static_assert(sizeof(CpuArch) == PC_SIZE && PC_SIZE % 4096 == 0 && LVM_MAX_CPUS == abi::kMaxCpus);
static_assert(PC_IRQ_STACK == PC_SVC_STACK_TOP);

extern "C" CpuArch lvm_percpu[abi::kMaxCpus];
extern "C" abi::CpuEntries lvm_cpu_table[abi::kMaxCpus];

struct Cpu {
    Task* current;
    uint32_t id;
    // The time slice ran out or a deadline passed while a task ran
    // (proc/sched.cpp's tick): switch at the next return to user mode.
    volatile uint8_t need_resched;
    volatile uint8_t online;  // started (CPU 0 always)
    volatile uint8_t idle;    // sleeping in the monitor, or about to (proc/sched.cpp)
    volatile uint8_t kicked;  // woken for a task, not yet awake (kernel/smp/cpus.cpp)
    uint64_t loaded_root;     // the page-table root this CPU uses (mm/tlb.cpp)
    // Interrupt masking (kernel/irq): depth and sources deferred meanwhile.
    volatile uint32_t mask_depth;
    // Its TLB may hold entries a shootdown changed while it slept (it was
    // not asked: kernel/smp/tlb_shootdown.cpp): flushed when it wakes.
    volatile uint8_t tlb_stale;
    // Idle, spinning before it sleeps in the monitor (kernel/smp/cpus.hpp,
    // kIdlePollNs): kPollSpinning, or kPollWoken by a waker that then sent
    // no kick.
    volatile uint8_t poll;
    uint8_t pad3[2];
    uint64_t irq_deferred;
    uint64_t syscalls;        // handled on this CPU (--stats sums them)
    Task* idle_task;          // an AP's first context (kernel/smp/cpus.cpp)
    // Hypercall argument blocks: a hypercall is one synchronous exit of
    // this vCPU, so one set per CPU is never in use twice.
    abi::HcFs hc_fs;
    abi::HcFs hc_fs_batch[abi::kMaxFsBatch];
    abi::HcBlock hc_block;
    abi::HcNet hc_net;
    abi::HcTimer hc_timer;
    abi::HcSleep hc_sleep;
    abi::HcCpu hc_cpu;
    abi::HcCpu hc_yield;  // kernel/smp/bkl.hpp: used without the lock
};

extern Cpu g_cpus[abi::kMaxCpus];

// The kernel lock: 0 when free, else its owner's CPU number + 1. CPU 0
// holds it from boot (so do hosted unit tests, which never release it).
extern "C" volatile uint32_t lvm_bkl;

// The CPU running kernel code now: the lock's owner.
inline Cpu& this_cpu() { return g_cpus[lvm_bkl - 1]; }
inline CpuArch& this_cpu_arch() { return lvm_percpu[lvm_bkl - 1]; }

}  // namespace lightvm::guest

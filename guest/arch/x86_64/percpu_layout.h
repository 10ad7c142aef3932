/* One CPU's architectural data: what its entry code (percpu.S) reaches
   RIP-relative with no free register, its interrupt, service and fault
   stacks. lvm_percpu holds LVM_MAX_CPUS of these back to back; struct
   CpuArch (cpu.hpp) asserts every offset. Shared by assembly and C++. */
#pragma once

#define LVM_MAX_CPUS 8               /* abi::kMaxCpus */
#define PC_IRQ_STATE 0               /* abi::IrqState (88 bytes) */
#define PC_SVC_REQUEST 128           /* a CR3 value, or 1: invlpg the pages below */
#define PC_SVC_COUNT 136
#define PC_SVC_PAGES 144             /* AddressSpace::kStalePages quads */
#define PC_PF_CR2 272
#define PC_PF_BUSY 280               /* the fault record is in use */
#define PC_TRAP_VECTOR 288
#define PC_TRAP_HANDLED 296          /* bit v: a handler takes vector v now */
#define PC_USER_RSP 304              /* the syscall entry's scratch: the user's rsp */
#define PC_KSTACK_TOP 312            /* the current task's kernel stack */
#define PC_FAULT_ROOM 320            /* 256 bytes: the monitor's stubs push (vector, error) here */
#define PC_FAULT_FRAME 576           /* error, rip, cs, rflags, rsp, ss: written by the CPU */
#define PC_FAULT_FRAME_TOP 624       /* TSS.RSP0 */
#define PC_SVC_STACK 1024
#define PC_SVC_STACK_TOP 5120        /* TSS.IST2 */
#define PC_IRQ_STACK 5120             /* 16 KiB */
#define PC_IRQ_STACK_TOP 21504       /* TSS.IST1 */
#define PC_PF_STACK 21504            /* 15 KiB: 8 CPUs' data must fit below kKernelLimit */
#define PC_PF_STACK_TOP 36864
#define PC_SIZE 36864

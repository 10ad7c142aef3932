/* Every CPU's own entry code: system calls, interrupts, the CPL0 service,
   page faults and the traps a program may handle. One copy per CPU
   (PERCPU below, LVM_MAX_CPUS times), each reaching its CPU's data in
   lvm_percpu RIP-relative: under PVM the kernel runs at CPL3, where swapgs
   faults and the program owns FS and GS, and `syscall` leaves no free
   register, so "which CPU am I" is answered by which copy runs. Each vCPU's
   LSTAR and IDT point at its own copy (the monitor reads KernelHeader's
   cpu_table), its TSS at its own stacks. The C code each copy calls gets
   the CPU number as its last argument. docs/design.md, "Several vCPUs". */
#include "arch/x86_64/gprs.h"
#include "arch/x86_64/percpu_layout.h"

    .set IRQ_PENDING, 0         /* offsetof(IrqState, pending); asserted in cpu.hpp */
    .set IRQ_BUSY, 8            /* offsetof(IrqState, busy) */

/* A trap stub: the same frame for every vector (vector, error code on top
   of the CPU's frame, which lands in the CPU's fault record at TSS.RSP0). */
.macro TRAP_STUB k, v, err
    .org lvm_trap_stubs\k + \v * 32
    .if \err == 0
    pushq $0
    .endif
    pushq $\v
    jmp lvm_trap_common\k
.endm

/* CPL3, on CPU k's fault stack: call fn(the program's registers, k), then
   resume the program with the frame in CPU k's fault record (which fn may
   have rewritten to enter a signal handler) and free the record. */
.macro FAULT_CALL k, fn
    PUSH_GPRS
    movq %rsp, %rdi
    movl $\k, %esi
    subq $8, %rsp             /* 15 pushes: realign to 16 for the call */
    cld
    call \fn
    addq $8, %rsp
    POP_GPRS
    pushq lvm_pc\k+PC_FAULT_FRAME+40(%rip)  /* ss */
    pushq lvm_pc\k+PC_FAULT_FRAME+32(%rip)  /* rsp */
    pushq lvm_pc\k+PC_FAULT_FRAME+24(%rip)  /* rflags */
    pushq lvm_pc\k+PC_FAULT_FRAME+16(%rip)  /* cs */
    pushq lvm_pc\k+PC_FAULT_FRAME+8(%rip)   /* rip */
    movq $0, lvm_pc\k+PC_PF_BUSY(%rip)      /* the record is free again */
    iretq
.endm

.macro PERCPU k
    .set lvm_pc\k, lvm_percpu + \k * PC_SIZE
    .text
/* System calls. The frame layout must match SyscallFrame in
   kernel/syscalls/frame.hpp: every general-purpose register of the caller,
   so fork, signal delivery and rt_sigreturn can use them all. The task's
   kernel stack is switched to without touching the user stack. */
    .globl lvm_syscall_entry\k
lvm_syscall_entry\k:
    movq %rsp, lvm_pc\k+PC_USER_RSP(%rip)
    movq lvm_pc\k+PC_KSTACK_TOP(%rip), %rsp
    pushq $0x2b               /* iret: ss */
    pushq lvm_pc\k+PC_USER_RSP(%rip)  /* iret: rsp */
    pushq %r11                /* iret: rflags */
    pushq $0x33               /* iret: cs */
    pushq %rcx                /* iret: rip */
    pushq %r11
    pushq %rcx
    pushq %r9
    pushq %r8
    pushq %r10
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rax
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    movl $\k, %esi
    cld
    call lvm_syscall
    jmp lvm_syscall_exit

/* Interrupts (abi.h, "Interrupts"): a trap gate with IST1 to this CPL3
   code, so the frame never lands on the interrupted stack and IF stays set.
   Only general-purpose registers are saved (the C handler is built with
   -mgeneral-regs-only). No nesting: the monitor injects only while
   IrqState.busy is 0 and sets it; the tail clears it. */
    .globl lvm_irq_entry\k, lvm_irq_tail\k, lvm_irq_tail_end\k
lvm_irq_entry\k:              /* rsp = IST1 top - 40: rip cs rflags rsp ss */
    PUSH_GPRS                 /* 20 quads: rsp is 16-byte aligned for the call */
    movq %rsp, %rdi           /* irq::Frame* */
    movl $\k, %esi
    cld
    call lvm_irq
    POP_GPRS
/* Every register is the interrupted code's again: a vCPU stopped here with
   busy == 0 is restarted by the monitor at the entry with busy = 1. */
lvm_irq_tail\k:
    movl $0, lvm_pc\k+PC_IRQ_STATE+IRQ_BUSY(%rip)
    cmpq $0, lvm_pc\k+PC_IRQ_STATE+IRQ_PENDING(%rip)
    jne 1f
    iretq
1:  movl $1, lvm_pc\k+PC_IRQ_STATE+IRQ_BUSY(%rip)  /* the monitor added a source meanwhile */
lvm_irq_tail_end\k:
    jmp lvm_irq_entry\k

/* The CPL0 service (`int3`, IST2): a posted CR3 value is loaded (switch
   and TLB flush, which CPL3 cannot do); an odd request invalidates the
   listed pages. No request: the program's breakpoint, reported exactly as
   the monitor's stub for vector 3 would. CPL0 code is emulated under PVM
   (~0.6 us an instruction): keep it short. */
    .globl lvm_svc_entry\k
lvm_svc_entry\k:
    cmpq $0, lvm_pc\k+PC_SVC_REQUEST(%rip)
    je 1f
    pushq %rax
    movq lvm_pc\k+PC_SVC_REQUEST(%rip), %rax
    testq $1, %rax
    jnz 3f
    movq %rax, %cr3
2:  movq $0, lvm_pc\k+PC_SVC_REQUEST(%rip)
    popq %rax
    iretq
3:  pushq %rcx
    movq lvm_pc\k+PC_SVC_COUNT(%rip), %rcx
4:  movq lvm_pc\k+PC_SVC_PAGES-8(,%rcx,8), %rax  /* absolute: the kernel sits below 2 GiB */
    invlpg (%rax)
    loop 4b
    popq %rcx
    jmp 2b
1:  pushq $0                  /* error code */
    pushq $3                  /* vector: the frame the monitor's report reads */
    movw $0x5ff, %dx          /* abi::kFaultPort */
    outb %al, %dx
    hlt
    jmp 1b

/* Page faults: CR2 is readable only at CPL0, so vector 14 enters here (an
   interrupt gate, no IST): from CPL3 the CPU writes the faulting frame into
   this CPU's fault record (TSS.RSP0). The stub saves CR2 and leaves CPL0 at
   once for the CPL3 handler on this CPU's fault stack. A fault at CPL0 or
   inside the handler itself is reported as the monitor's stubs report. */
    .globl lvm_pf_entry\k
lvm_pf_entry\k:
    testb $3, 16(%rsp)        /* cs: from CPL0? */
    jz 2f
    btsq $0, lvm_pc\k+PC_PF_BUSY(%rip)
    jc 2f
    pushq %rax
    movq %cr2, %rax
    movq %rax, lvm_pc\k+PC_PF_CR2(%rip)
    popq %rax
    pushq $0x2b               /* iret to CPL3: ss */
    pushq $lvm_pc\k+PC_PF_STACK_TOP  /* rsp */
    pushq lvm_pc\k+PC_FAULT_FRAME+24(%rip)  /* rflags as the program had them */
    pushq $0x33               /* cs */
    pushq $lvm_pf_entry3_\k   /* rip */
    iretq
2:  pushq $14                 /* vector, on top of the CPU's error code */
    movw $0x5ff, %dx
    outb %al, %dx
    hlt
    jmp 2b
lvm_pf_entry3_\k:
    FAULT_CALL \k, lvm_page_fault

/* CPU exceptions a program may handle (#DE #UD #GP #MF #XM -> SIGFPE,
   SIGILL, SIGSEGV): a 32-byte stub per vector. The common part leaves CPL0
   for the CPL3 handler only if the fault came from the program (not kernel
   code, which shares CPL3 under PVM: told by RIP), the fault record is free
   and the kernel marked the vector's signal as handled; otherwise it
   reports exactly as the monitor's own stub for the vector. */
    .balign 32
    .globl lvm_trap_stubs\k
lvm_trap_stubs\k:
    TRAP_STUB \k, 0, 0
    TRAP_STUB \k, 6, 0
    TRAP_STUB \k, 13, 1
    TRAP_STUB \k, 16, 0
    TRAP_STUB \k, 19, 0
    .org lvm_trap_stubs\k + 32 * 32
lvm_trap_common\k:            /* rsp: vector, error, rip, cs, rflags, rsp, ss */
    testb $3, 24(%rsp)        /* from CPL0? */
    jz 2f
    cmpq $__kernel_end, 16(%rsp)
    jae 1f
    cmpq $0x100000, 16(%rsp)  /* abi::kKernelBase: kernel code at CPL3 */
    jae 2f
1:  pushq %rax
    movq 8(%rsp), %rax        /* vector */
    btq %rax, lvm_pc\k+PC_TRAP_HANDLED(%rip)
    jnc 3f
    btsq $0, lvm_pc\k+PC_PF_BUSY(%rip)
    jc 3f
    movq %rax, lvm_pc\k+PC_TRAP_VECTOR(%rip)
    popq %rax
    addq $8, %rsp             /* the vector; the record keeps the rest */
    pushq $0x2b               /* iret to CPL3: ss */
    pushq $lvm_pc\k+PC_PF_STACK_TOP  /* rsp: the fault stack (the busy bit is shared) */
    pushq lvm_pc\k+PC_FAULT_FRAME+24(%rip)  /* rflags as the program had them */
    pushq $0x33               /* cs */
    pushq $lvm_trap_entry3_\k /* rip */
    iretq
3:  popq %rax
2:  movw $0x5ff, %dx          /* abi::kFaultPort: the monitor's report */
    outb %al, %dx
    hlt
    jmp 2b
lvm_trap_entry3_\k:
    FAULT_CALL \k, lvm_trap

/* KernelHeader.cpu_table entry (abi::CpuEntries). */
    .data
    .quad lvm_syscall_entry\k, lvm_irq_entry\k, lvm_irq_tail\k, lvm_irq_tail_end\k
    .quad lvm_pc\k+PC_IRQ_STACK_TOP, lvm_pc\k+PC_IRQ_STATE, lvm_svc_entry\k, lvm_pc\k+PC_SVC_STACK_TOP
    .quad lvm_pf_entry\k, lvm_pc\k+PC_FAULT_FRAME_TOP, lvm_trap_stubs\k, 0
.endm

    .data
    .balign 8
    .globl lvm_cpu_table
lvm_cpu_table:
    .irp k, 0, 1, 2, 3, 4, 5, 6, 7
    PERCPU \k
    .endr
    .globl lvm_cpu_table_end
lvm_cpu_table_end:

/* A vCPU the kernel started (kHcCpu): rdi = its number, rsp = its
   CpuEntries.boot_stack_top (the stack of its idle task). */
    .text
    .globl lvm_ap_entry
lvm_ap_entry:
    xorl %ebp, %ebp
    call lvm_ap_main
    ud2

    .bss
    .balign 4096
    .globl lvm_percpu
lvm_percpu:
    .skip PC_SIZE * LVM_MAX_CPUS

    .section .note.GNU-stack,"",@progbits

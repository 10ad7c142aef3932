#include "arch/x86_64/gprs.h"
/* The guest kernel's only CPL0 code besides the monitor's fault stubs.
   The kernel runs at CPL3 under PVM, where `mov %cr3` is a #GP; CPL0 code
   is emulated there (~0.6 us an instruction, docs/platform.md), so this
   path is a handful of instructions and the kernel batches its calls
   (one per munmap/mprotect, not one per page).

   Reached with `int3` through a DPL3 trap gate on its own stack (IST2: a
   service request from the page-fault path must not land on the fault
   stack). A posted request (lvm_svc_request != 0) is a new CR3: it switches
   address space and flushes the TLB, which is what a changed present PTE
   needs on PVM. No request: the program's own breakpoint, reported
   exactly as the monitor's stub for vector 3 would. */
    .bss
    .balign 16
lvm_svc_stack:
    .skip 4096
    .globl lvm_svc_stack_top
lvm_svc_stack_top:
    /* SMP: one per CPU (with the IST stack), reached through the per-CPU page. */
    .globl lvm_svc_request
    .balign 8
lvm_svc_request:              /* a CR3 value, or 1: invlpg the pages below */
    .skip 8
    .globl lvm_svc_count
lvm_svc_count:
    .skip 8
    .globl lvm_svc_pages
lvm_svc_pages:                /* AddressSpace::kStalePages entries */
    .skip 8 * 16

    .text
    .globl lvm_svc_entry
lvm_svc_entry:
    cmpq $0, lvm_svc_request(%rip)
    je 1f
    pushq %rax
    movq lvm_svc_request(%rip), %rax
    testq $1, %rax
    jnz 3f
    movq %rax, %cr3
2:  movq $0, lvm_svc_request(%rip)
    popq %rax
    iretq
3:  pushq %rcx
    movq lvm_svc_count(%rip), %rcx
4:  movq lvm_svc_pages-8(,%rcx,8), %rax  /* absolute: the kernel sits below 2 GiB */
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

/* Page faults. CR2 can only be read at CPL0, so vector 14 enters here (an
   interrupt gate, no IST): the CPU, coming from CPL3, switches to TSS.RSP0
   = lvm_fault_frame_top and writes the faulting frame (error, rip, cs,
   rflags, rsp, ss) into lvm_fault_frame. The stub saves CR2 and leaves
   CPL0 at once for the kernel's CPL3 handler on its own stack: ~10
   emulated instructions on PVM. A fault at CPL0 (kernel code on hardware
   KVM) or inside the handler itself is reported to the monitor the way
   its own stubs report (vector and error on the frame, port 0x5ff). */
    .bss
    .balign 16
    .skip 256                 /* room below: the monitor's stubs push (vector, error) here */
    .globl lvm_fault_frame
lvm_fault_frame:              /* error, rip, cs, rflags, rsp, ss */
    .skip 48
    .globl lvm_fault_frame_top
lvm_fault_frame_top:
    .globl lvm_pf_cr2
lvm_pf_cr2:
    .skip 8
    .globl lvm_pf_busy
lvm_pf_busy:
    .skip 8
    .balign 16
lvm_pf_stack:
    .skip 16384
lvm_pf_stack_top:

    .text
    .globl lvm_pf_entry0
lvm_pf_entry0:
    testb $3, 16(%rsp)        /* cs: from CPL0? */
    jz 2f
    btsq $0, lvm_pf_busy(%rip)
    jc 2f
    pushq %rax
    movq %cr2, %rax
    movq %rax, lvm_pf_cr2(%rip)
    popq %rax
    pushq $0x2b               /* iret to CPL3: ss */
    pushq $lvm_pf_stack_top   /* rsp */
    pushq lvm_fault_frame+24(%rip)  /* rflags as the program had them */
    pushq $0x33               /* cs */
    pushq $lvm_pf_entry3      /* rip */
    iretq
2:  pushq $14                 /* vector, on top of the CPU's error code */
    movw $0x5ff, %dx
    outb %al, %dx
    hlt
    jmp 2b

/* CPL3: run the C handler, then resume the program with the frame the CPU
   saved (which the handler rewrites to enter a SIGSEGV handler). Registers are the program's; the kernel uses no vector registers
   (-mgeneral-regs-only). */
lvm_pf_entry3:
    PUSH_GPRS
    movq %rsp, %rdi           /* the program's registers: a SIGSEGV handler's frame needs them */
    subq $8, %rsp             /* 15 pushes: realign to 16 for the call */
    cld
    call lvm_page_fault
    addq $8, %rsp
    POP_GPRS
    pushq lvm_fault_frame+40(%rip)  /* ss */
    pushq lvm_fault_frame+32(%rip)  /* rsp */
    pushq lvm_fault_frame+24(%rip)  /* rflags */
    pushq lvm_fault_frame+16(%rip)  /* cs */
    pushq lvm_fault_frame+8(%rip)   /* rip */
    movq $0, lvm_pf_busy(%rip)      /* the record is free again */
    iretq

/* CPU exceptions a program may handle (#DE #UD #GP #MF #XM -> SIGFPE,
   SIGILL, SIGSEGV): a 32-byte stub per vector (KernelHeader.trap_entry +
   v * 32) gives every vector the same frame, vector and error code on top
   of the CPU's frame in lvm_fault_frame (TSS.RSP0, as for page faults).
   lvm_trap_common leaves CPL0 for lvm_trap_entry3 only if the fault came
   from the program (not kernel code, which shares CPL3 under PVM: told by
   RIP), the fault record is free and the kernel marked the vector's signal
   as handled (lvm_trap_handled, kept by proc/signal.cpp); otherwise it
   reports exactly as the monitor's own stub for the vector (same stack,
   same port), so unhandled faults keep their report and status. */
    .bss
    .balign 8
    .globl lvm_trap_handled, lvm_trap_vector
lvm_trap_handled:             /* bit v: a handler will take vector v now */
    .skip 8
lvm_trap_vector:
    .skip 8

    .text
.macro TRAP_STUB v, err
    .org lvm_trap_stubs + \v * 32
    .if \err == 0
    pushq $0                  /* error code slot, as the monitor's stubs */
    .endif
    pushq $\v
    jmp lvm_trap_common
.endm
    .balign 32
    .globl lvm_trap_stubs
lvm_trap_stubs:
    TRAP_STUB 0, 0
    TRAP_STUB 6, 0
    TRAP_STUB 13, 1
    TRAP_STUB 16, 0
    TRAP_STUB 19, 0
    .org lvm_trap_stubs + 32 * 32

/* rsp: vector, error, rip, cs, rflags, rsp, ss (the fault record at
   lvm_fault_frame, vector just below). */
lvm_trap_common:
    testb $3, 24(%rsp)        /* from CPL0? */
    jz 2f
    cmpq $__kernel_end, 16(%rsp)
    jae 1f
    cmpq $0x100000, 16(%rsp)  /* abi::kKernelBase: kernel code at CPL3 */
    jae 2f
1:  pushq %rax
    movq 8(%rsp), %rax        /* vector */
    btq %rax, lvm_trap_handled(%rip)
    jnc 3f
    btsq $0, lvm_pf_busy(%rip)
    jc 3f
    movq %rax, lvm_trap_vector(%rip)
    popq %rax
    addq $8, %rsp             /* the vector; the record keeps the rest */
    pushq $0x2b               /* iret to CPL3: ss */
    pushq $lvm_pf_stack_top   /* rsp: the page-fault stack (the busy bit is shared) */
    pushq lvm_fault_frame+24(%rip)  /* rflags as the program had them */
    pushq $0x33               /* cs */
    pushq $lvm_trap_entry3    /* rip */
    iretq
3:  popq %rax
2:  movw $0x5ff, %dx          /* abi::kFaultPort: the monitor's report */
    outb %al, %dx
    hlt
    jmp 2b

lvm_trap_entry3:
    PUSH_GPRS
    movq %rsp, %rdi
    subq $8, %rsp
    cld
    call lvm_trap
    addq $8, %rsp
    POP_GPRS
    pushq lvm_fault_frame+40(%rip)  /* ss */
    pushq lvm_fault_frame+32(%rip)  /* rsp */
    pushq lvm_fault_frame+24(%rip)  /* rflags */
    pushq lvm_fault_frame+16(%rip)  /* cs */
    pushq lvm_fault_frame+8(%rip)   /* rip */
    movq $0, lvm_pf_busy(%rip)
    iretq

#include "arch/x86_64/gprs.h"
/* Interrupt entry for every vector beyond the exceptions (abi.h,
   "Interrupts"). The gate is a trap gate with IST1 to this CPL3 code:
   - IST: the CPU pushes its frame at lvm_irq_stack_top, never on the
     interrupted stack, so the app's red zone below its RSP stays intact;
   - trap gate: IF stays set (iretq at CPL3 could not set it again).
   Only the general-purpose registers are saved: the C handler is compiled
   with -mgeneral-regs-only, so the app's x87/SSE/AVX state is never touched.
   rflags (incl. DF, cleared for C) comes back from the CPU frame by iretq.
   No nesting: the monitor injects only while IrqState.busy is 0 and sets it;
   this code clears it in the tail (see abi.h for the protocol). */
    .set IRQ_PENDING, 0         /* offsetof(IrqState, pending); asserted in irq.cpp */
    .set IRQ_BUSY, 8            /* offsetof(IrqState, busy) */

    .text
    .globl lvm_irq_entry, lvm_irq_tail, lvm_irq_tail_end
lvm_irq_entry:                  /* rsp = IST1 top - 40: rip cs rflags rsp ss */
    PUSH_GPRS                   /* 20 quads: rsp is 16-byte aligned for the call */
    movq %rsp, %rdi             /* IrqFrame*, layout in kernel/irq/irq.hpp */
    cld
    call lvm_irq
    POP_GPRS
/* The tail: every register is the interrupted code's again and rsp points at
   the CPU frame. A vCPU stopped here with busy == 0 is restarted by the
   monitor at lvm_irq_entry with busy = 1, never interrupted (the frame is
   still needed). */
lvm_irq_tail:
    movl $0, lvm_irq_state+IRQ_BUSY(%rip)
    cmpq $0, lvm_irq_state+IRQ_PENDING(%rip)
    jne 1f
    iretq
1:  movl $1, lvm_irq_state+IRQ_BUSY(%rip)  /* the monitor added a source meanwhile */
lvm_irq_tail_end:
    jmp lvm_irq_entry

    .bss
    .globl lvm_irq_state, lvm_irq_stack_top
    .balign 64
lvm_irq_state:
    .skip 80                    /* abi::IrqState; size asserted in irq.cpp */
    .balign 4096
lvm_irq_stack:
    .skip 16384
lvm_irq_stack_top:

    .section .note.GNU-stack,"",@progbits

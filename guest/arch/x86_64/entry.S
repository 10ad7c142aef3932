/* Guest kernel entry points. Work whether `syscall` lands here at CPL0
   (hardware KVM) or stays at CPL3 (PVM): both paths return with iretq,
   which is valid at either CPL and never touches the user stack (the
   red zone below the user's RSP stays intact). */
#include "arch/x86_64/kstack_layout.h"
    .section .lvm_header, "a"
    .long 0x4b4d564c          /* kKernelMagic; C++ asserts it matches abi.h */
    .long 3                   /* kAbiVersion */
    .quad lvm_start
    .quad lvm_syscall_entry
    .quad __kernel_end
    .quad lvm_kstacks            /* KernelHeader.kstack_area: guard pages left unmapped */
    .long LVM_KSTACK_SLOT        /* kstack_slot_size */
    .long LVM_KSTACK_SLOTS       /* kstack_slots */
    .quad lvm_irq_entry          /* interrupts: arch/x86_64/vectors.S */
    .quad lvm_irq_tail
    .quad lvm_irq_tail_end
    .quad lvm_irq_stack_top
    .quad lvm_irq_state
    .quad lvm_svc_entry          /* CPL0 service: arch/x86_64/cpl0.S */
    .quad lvm_svc_stack_top
    .quad lvm_pf_entry0          /* page faults: arch/x86_64/cpl0.S */
    .quad lvm_fault_frame_top
    .quad lvm_trap_stubs         /* #DE #UD #GP #MF #XM: arch/x86_64/cpl0.S */
    .quad (1 << 0) | (1 << 6) | (1 << 13) | (1 << 16) | (1 << 19)

/* Offsets into struct Cpu (arch/x86_64/cpu.hpp asserts them). */
    .equ CPU_USER_RSP, 8
    .equ CPU_KSTACK_TOP, 16

    .text
    .globl lvm_start
lvm_start:                    /* rdi = BootInfo; CPL3, interrupts off */
    leaq lvm_kstacks+LVM_KSTACK_SLOT(%rip), %rsp  /* slot 0: the boot task */
    xorl %ebp, %ebp
    call lvm_main
    ud2

/* Frame layout must match SyscallFrame in kernel/syscalls/syscall.hpp:
   every general-purpose register of the caller is in it, so fork can give
   a child the parent's registers, signal delivery can save and change them,
   and rt_sigreturn can restore them all. lvm_syscall leaves the result in
   the rax slot. */
    .globl lvm_syscall_entry, lvm_syscall_exit
lvm_syscall_entry:
    /* One CPU today: lvm_cpu0 is this CPU (see cpu.hpp for SMP). The
       current task's kernel stack is switched to without touching the user
       stack. */
    movq %rsp, lvm_cpu0+CPU_USER_RSP(%rip)
    movq lvm_cpu0+CPU_KSTACK_TOP(%rip), %rsp
    pushq $0x2b               /* iret: ss */
    pushq lvm_cpu0+CPU_USER_RSP(%rip)  /* iret: rsp */
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
    cld
    call lvm_syscall
/* rsp points at a complete SyscallFrame: back to user mode with it. A
   forked child's first instruction in the kernel jumps here too. */
lvm_syscall_exit:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    popq %rax
    popq %rdi
    popq %rsi
    popq %rdx
    popq %r10
    popq %r8
    popq %r9
    popq %rcx
    popq %r11
    iretq

/* An interrupt that stopped user code returns here instead when the task
   must give up the CPU (kernel/proc/preempt.cpp): rsp = a SyscallFrame with
   the program's registers at the top of the task's kernel stack, as
   lvm_syscall_entry builds it (rsp is 16-byte aligned for the call). */
    .globl lvm_preempt_entry
lvm_preempt_entry:
    movq %rsp, %rdi
    cld
    call lvm_preempt
    jmp lvm_syscall_exit

/* lvm_enter_app(entry, sp): start the application like execve does:
   clean registers, the prepared stack, CPL3. */
    .globl lvm_enter_app
lvm_enter_app:
    pushq $0x2b
    pushq %rsi
    pushq $0x202
    pushq $0x33
    pushq %rdi
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %edi, %edi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    iretq

/* The kernel stacks, first in .bss (kernel.ld) so that their guard pages
   lie in the 4 KiB-mapped first 2 MiB, where the monitor can leave them
   unmapped: an overflow faults instead of corrupting .data. */
    .section .bss.kstack, "aw", @nobits
    .balign 4096
    .globl lvm_kstacks
lvm_kstacks:
    .skip LVM_KSTACK_SLOT * LVM_KSTACK_SLOTS

    .section .note.GNU-stack,"",@progbits

/* Guest kernel entry points. Work whether `syscall` lands here at CPL0
   (hardware KVM) or stays at CPL3 (PVM): both paths return with iretq,
   which is valid at either CPL and never touches the user stack (the
   red zone below the user's RSP stays intact). */
#include "arch/x86_64/kstack_layout.h"
#include "arch/x86_64/percpu_layout.h"
    .section .lvm_header, "a"
    .long 0x4b4d564c          /* kKernelMagic; C++ asserts it matches abi.h */
    .long 5                   /* kAbiVersion */
    .quad lvm_start
    .quad lvm_syscall_entry0     /* CPU 0's entry points (arch/x86_64/percpu.S) */
    .quad __kernel_end
    .quad lvm_kstacks            /* KernelHeader.kstack_area: guard pages left unmapped */
    .long LVM_KSTACK_SLOT        /* kstack_slot_size */
    .long LVM_KSTACK_SLOTS       /* kstack_slots */
    .quad lvm_irq_entry0         /* interrupts */
    .quad lvm_irq_tail0
    .quad lvm_irq_tail_end0
    .quad lvm_percpu+PC_IRQ_STACK_TOP
    .quad lvm_percpu+PC_IRQ_STATE
    .quad lvm_svc_entry0         /* CPL0 service */
    .quad lvm_percpu+PC_SVC_STACK_TOP
    .quad lvm_pf_entry0          /* page faults */
    .quad lvm_percpu+PC_FAULT_FRAME_TOP
    .quad lvm_trap_stubs0        /* #DE #UD #GP #MF #XM */
    .quad (1 << 0) | (1 << 6) | (1 << 13) | (1 << 16) | (1 << 19)
    .quad lvm_cpu_table          /* ABI v4: every CPU's entry points */
    .quad lvm_ap_entry
    .long LVM_MAX_CPUS
    .long 96                     /* sizeof(abi::CpuEntries) */

    .text
    .globl lvm_start
lvm_start:                    /* rdi = BootInfo; CPL3, interrupts off */
    leaq lvm_kstacks+LVM_KSTACK_SLOT(%rip), %rsp  /* slot 0: the boot task */
    xorl %ebp, %ebp
    call lvm_main
    ud2

/* Back to user mode with the SyscallFrame at rsp (percpu.S builds it at
   a system call's entry; a forked child's first instruction and a
   preempted task come here too). The caller released the kernel lock. */
    .globl lvm_syscall_exit
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

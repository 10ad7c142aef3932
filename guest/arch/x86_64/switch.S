/* Context switch between kernel stacks. Only the callee-saved registers
   need saving: the switch is an ordinary C call for both sides. User
   registers are on each task's kernel stack already (syscall frame). */
    .text
/* void lvm_switch(uint64_t* save_rsp, uint64_t next_rsp) */
    .globl lvm_switch
lvm_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* First instruction of a kernel thread: its initial stack (sched.cpp)
   makes lvm_switch "return" here with r12 = fn, r13 = arg. */
    .globl lvm_kthread_start
lvm_kthread_start:
    movq %r13, %rdi
    call *%r12
    call lvm_kthread_exit
    ud2

/* A forked child's first instruction (proc/fork.cpp builds its stack):
   lvm_switch "returns" here with rsp at the copy of the parent's syscall
   frame; the C tail runs, then the frame goes back to user mode. */
    .globl lvm_fork_child
lvm_fork_child:
    call lvm_fork_tail
    jmp lvm_syscall_exit

    .section .note.GNU-stack,"",@progbits

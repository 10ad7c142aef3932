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
lvm_svc_request:
    .skip 8

    .text
    .globl lvm_svc_entry
lvm_svc_entry:
    cmpq $0, lvm_svc_request(%rip)
    je 1f
    pushq %rax
    movq lvm_svc_request(%rip), %rax
    movq %rax, %cr3
    movq $0, lvm_svc_request(%rip)
    popq %rax
    iretq
1:  pushq $0                  /* error code */
    pushq $3                  /* vector: the frame the monitor's report reads */
    movw $0x5ff, %dx          /* abi::kFaultPort */
    outb %al, %dx
    hlt
    jmp 1b

/* The guest kernel ELF, embedded so that `lightvm` is one self-contained
   binary. LIGHTVM_KERNEL_PATH comes from CMake. */
    .section .rodata
    .balign 4096  /* page-aligned in the file too: VMs map its text from there (kernel_file.hpp) */
    .globl lightvm_kernel_start
    .globl lightvm_kernel_end
lightvm_kernel_start:
    .incbin LIGHTVM_KERNEL_PATH
lightvm_kernel_end:
    .section .note.GNU-stack,"",@progbits

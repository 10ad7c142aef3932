/* The vDSO (vdso.cpp), embedded page-aligned in the guest kernel image: the
   kernel's low region is mapped user-readable and executable in every
   address space, so programs use it in place (vdso.hpp, AT_SYSINFO_EHDR).
   LIGHTVM_VDSO_PATH comes from CMake. */
    .section .rodata.vdso, "a"
    .balign 4096
    .globl lvm_vdso_start
    .globl lvm_vdso_end
lvm_vdso_start:
    .incbin LIGHTVM_VDSO_PATH
lvm_vdso_end:
    .balign 4096
    .section .note.GNU-stack,"",@progbits

// The ELF64 and auxiliary-vector constants and structs, from one source:
// the kernel's uapi headers (Debian's linux-libc-dev). They need nothing but
// compiler-provided headers, so they compile with the guest kernel's
// freestanding flags as well as on the host.
//
// Do not include glibc's <elf.h> (or <link.h>, <sys/auxv.h>) in the same
// translation unit: both define Elf64_Ehdr & co. and the build would fail.
#pragma once

#include <linux/auxvec.h>  // AT_* (and asm/auxvec.h: AT_SYSINFO_EHDR)
#include <linux/elf.h>     // Elf64_Ehdr, Elf64_Phdr, ET_*, PT_*, PF_*, EM_* (elf-em.h)

static_assert(sizeof(Elf64_Ehdr) == 64, "ELF64 file header (System V gABI)");
static_assert(sizeof(Elf64_Phdr) == 56, "ELF64 program header (System V gABI)");

// Maps an ELF executable's PT_LOAD segments into the current address space
// with its protections: from the boot image (read-only pages shared with
// it, writable ones copied) or from an open file (file mappings, as ld.so
// would make them). Used for the program, its interpreter, and (processes
// issue) execve.
#pragma once

#include <stdint.h>

#include "freestanding/elf/elf.hpp"

namespace lightvm::guest {

struct OpenFile;

struct ElfSource {
    OpenFile* file;  // nullptr: the boot image (BootInfo.image_gpa)
};

// Maps every segment of a placed image. 0 or -errno (-ENOMEM typically).
long elf_map_segments(const elf::Image& img, ElfSource src);

}  // namespace lightvm::guest

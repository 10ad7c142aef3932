// Starting the first program: the ELF the monitor mapped at
// BootInfo.image_gpa is mapped into the first address space (read-only
// segments share the image's frames, writable ones get private copies),
// and its Linux initial stack is built from BootInfo's argv/envp block.
// execve (processes issue) reuses the same steps with a file instead of
// the image.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct ProgramStart {
    uint64_t entry;  // where the program (or its interpreter) starts
    uint64_t sp;     // argc at [sp]
};

// On failure the VM ends with a one-line report (the monitor checked the
// executable already, so this is a kernel or memory problem).
ProgramStart exec_boot_program();

}  // namespace lightvm::guest

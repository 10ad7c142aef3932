// Starting the first program: the ELF the monitor mapped at
// BootInfo.image_gpa is loaded (exec/loader.hpp) into the first address
// space with the argv/envp block of the boot page.
#pragma once

#include "kernel/exec/loader.hpp"

namespace lightvm::guest {

// On failure the VM ends with a one-line report (the monitor checked the
// executable already, so this is a kernel or memory problem).
ProgramStart exec_boot_program();

}  // namespace lightvm::guest

#pragma once

#include "cli/options.hpp"
#include "common/exit_codes.hpp"

namespace lightvm::cli {

// Runs the VM and returns the process exit status for lightvm.
int run_command(const RunCommand& cmd, uint64_t process_start_ns);

}  // namespace lightvm::cli

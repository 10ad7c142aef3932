#pragma once

#include "cli/options.hpp"

namespace lightvm::cli {

// Runs the VM and returns the process exit status for lightvm.
int run_command(const RunCommand& cmd, uint64_t process_start_ns);

// Exit status for a lightvm-side error (125/126/127 like env(1) and docker).
int exit_code_for(const Error& e);

}  // namespace lightvm::cli

// The CLI's daemon subcommands: create, run -d, start, wait, ps, logs,
// stop, kill, rm, inspect, pause, resume, pool, snapshot create|restore,
// clone. Each is one or a few
// requests to lightvmd (docs/api.md) and a human table or --json.
#pragma once

#include <string_view>

#include "cli/options.hpp"

namespace lightvm::cli {

// Is argv[1] one of the daemon subcommands handled by vm_command_main?
bool is_vm_command(std::string_view word);
int vm_command_main(int argc, char** argv);

// `lightvm create ...` and `lightvm run -d ...`.
int create_through_daemon(const RunCommand& cmd);

}  // namespace lightvm::cli

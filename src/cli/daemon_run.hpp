// `lightvm run` through lightvmd, when one is reachable: the VM comes from
// the daemon's warm pool and the guest's stdin/stdout/stderr are ours,
// passed with SCM_RIGHTS (protocol: src/daemon/attach.cpp).
#pragma once

#include <optional>

#include "cli/options.hpp"

namespace lightvm::cli {

// Whether this run may go through the daemon at all: the monitor there is
// sandboxed as the daemon configures it and reports no --stats, so runs
// that ask for --no-sandbox, --uid/--gid or --stats stay local, as do
// networked runs (--net, -p: not handed over yet) and --no-daemon.
bool daemon_run_possible(const RunCommand& cmd);

// The VM's exit status, or nullopt when no daemon answers on the run
// socket (the caller then runs the VM itself).
std::optional<int> run_through_daemon(const RunCommand& cmd);

}  // namespace lightvm::cli

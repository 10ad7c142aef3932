// The container's process. `create` forks it; it builds the whole VM
// (workload checked, KVM shell, app loaded: everything but the first
// instruction), says so on `ready_fd`, then blocks opening exec.fifo until
// `start` opens the other end, and runs the guest. Its exit status is the
// guest's (128+N when the guest was killed by signal N), so containerd's
// shim, which reaps it, reports what runc's would.
#pragma once

#include <string>

#include "oci/cgroups/cgroup.hpp"
#include "oci/spec.hpp"

namespace lightvm::oci {

struct InitArgs {
    ContainerSpec spec;
    std::string fifo;
    std::string console_socket;  // non-empty with process.terminal
    std::string exec_socket;     // where the monitor's exec channel listens (state.hpp)
    cgroups::Cgroup cgroup;      // joined first, before any guest memory exists
    int ready_fd = -1;           // "ok" or a one-line error, then closed
};

[[noreturn]] void container_init(InitArgs args);

// A new pseudo-terminal: its master to the console socket (the shim), its
// slave this process's stdin/stdout/stderr and controlling terminal.
Result<void> attach_console(const std::string& socket_path);

}  // namespace lightvm::oci

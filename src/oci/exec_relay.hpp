// The host side of one exec'd process: the process whose pid the shim
// watches (runc's exec pid). It copies its own stdin to the guest
// process's stdin socket and the guest's stdout/stderr sockets to its own
// stdout/stderr, forwards the signals it gets (SIGKILL cannot be caught:
// then its hang-up makes the monitor kill the guest process), and exits
// with the guest process's status: the exit code, 128+N for signal N, 137
// when the VM ended under it.
#pragma once

namespace lightvm::oci {

struct RelayFds {
    int control;  // the exec channel connection (monitor/exec_channel.hpp)
    int in, out, err;  // our ends of the guest's stdin, stdout, stderr
};

[[noreturn]] void relay_exec(RelayFds fds);

}  // namespace lightvm::oci

// The host side of one exec'd process: the process whose pid the shim
// watches (runc's exec pid). It copies its own stdin to the guest
// process's stdin socket and the guest's stdout/stderr sockets to its own
// stdout/stderr, forwards the signals it gets (SIGKILL cannot be caught:
// then its hang-up makes the monitor kill the guest process), and exits
// with the guest process's status: the exit code, 128+N for signal N, 137
// when the VM ended under it. With a terminal (process.terminal), its
// stdio are the console socket's pty, in raw mode: the terminal's line
// discipline is the guest's (abi.h kExecTty), which gets the size at the
// start and at every SIGWINCH instead of the signal.
#pragma once

namespace lightvm::oci {

struct RelayFds {
    int control;  // the exec channel connection (monitor/exec_channel.hpp)
    int in, out, err;  // our ends of the guest's stdin, stdout, stderr
    bool tty;          // the guest has a terminal: our stdin is a pty
};

[[noreturn]] void relay_exec(RelayFds fds);

}  // namespace lightvm::oci

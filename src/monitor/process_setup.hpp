// What a process that runs a VM sets up before the first guest instruction,
// shared by `lightvm run` and lightvmd's lightvm-monitor.
#pragma once

namespace lightvm {

// SIGPIPE ignored (guest output to a closed pipe comes back as EPIPE);
// SIGHUP/SIGINT/SIGQUIT/SIGUSR1/SIGTERM/SIGWINCH/SIGCONT go through
// request_signal() (to the guest's first process if it handles them, else
// SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1 stop the VM); umask 0 (the
// guest applies its own umask to files it creates in shares: ours must not
// mask them again); the soft fd limit raised to the hard one (the fs device
// may hold up to 4096 host fds).
void prepare_monitor_process();

}  // namespace lightvm

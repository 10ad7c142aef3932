// What a process that runs a VM sets up before the first guest instruction,
// shared by `lightvm run` and lightvmd's lightvm-monitor.
#pragma once

namespace lightvm {

// SIGPIPE ignored (guest output to a closed pipe comes back as EPIPE);
// SIGINT/SIGTERM/SIGHUP stop the VM through request_stop(); umask 0 (the
// guest applies its own umask to files it creates in shares: ours must not
// mask them again); the soft fd limit raised to the hard one (the fs device
// may hold up to 4096 host fds).
void prepare_monitor_process();

}  // namespace lightvm

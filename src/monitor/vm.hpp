// One VM, start to finish, in one call: the phases of lightvm::Vm
// (include/lightvm/vm.hpp) run back to back. `lightvm run` uses this.
#pragma once

#include <functional>

#include "common/result.hpp"
#include "lightvm/vm.hpp"
#include "monitor/config.hpp"
#include "monitor/run_report.hpp"

namespace lightvm {

struct RunHooks {
    // Called between load and run, when the app is loaded and every host
    // resource the VM needs is open: the place to confine the monitor
    // process (seccomp). An error stops the VM before its first instruction.
    std::function<Result<void>(Vm&)> before_run;
};

Result<RunReport> run_vm(const VmConfig& config, const RunHooks& hooks = {});

// Async-signal-safe: stop the VM running in this process as if killed by
// `signal` (the CLI's SIGINT/SIGTERM handlers call this).
void request_stop(int signal);
// Async-signal-safe: a signal sent to this process (SIGHUP, SIGINT,
// SIGQUIT, SIGUSR1, SIGTERM, SIGWINCH, SIGCONT). A running VM whose first
// process catches or ignores it gets it (BootInfo.host_signals_*);
// otherwise SIGWINCH/SIGCONT are dropped and the others stop the VM as
// request_stop does (or are dropped too, with VmConfig::ignore_unhandled_signals).
void request_signal(int signal);
// Async-signal-safe: save the VM running in this process now (at the next
// exit where no I/O is half done), into the files config.save.fetch gives.
// Ignored by a run without a fetch callback. Made before the run starts,
// the request waits for it.
void request_save();
// Thread-safe: the exec channel (monitor/exec_channel.hpp) has requests
// for the running guest; it rings the doorbell (abi.h kHostExecNews).
// Without a running VM nothing happens: the channel rings again.
void request_exec_news();

}  // namespace lightvm

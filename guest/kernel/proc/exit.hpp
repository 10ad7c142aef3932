// How a process ends: by exit/exit_group, or killed by a signal's default
// action. The VM's first process ending ends the VM with its status (and
// every other process with it, as a container's); any other process
// becomes a zombie until its parent reaps it (proc/exit.cpp).
#pragma once

namespace lightvm::guest {

// exit_group(code): the current process ends with status `code & 0xff`.
[[noreturn]] void process_exit(int code);
// The current process is killed by `sig` (a default action "terminate" or
// "core"): its parent sees WIFSIGNALED; the VM's first process gives the
// VM status 128 + sig.
[[noreturn]] void process_kill_self(unsigned sig);

}  // namespace lightvm::guest

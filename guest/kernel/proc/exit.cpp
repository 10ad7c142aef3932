#include "kernel/proc/exit.hpp"

#include "kernel/kernel.hpp"

namespace lightvm::guest {

void process_exit(int code) { exit_vm(code & 0xff, 0); }

void process_kill_self(unsigned sig) { exit_vm(128 + static_cast<int>(sig), sig); }

}  // namespace lightvm::guest

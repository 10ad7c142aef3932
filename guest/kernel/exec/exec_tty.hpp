// A host exec with a terminal (abi.h kExecTty; lightvm-oci exec -t,
// docs/design.md "Exec with a terminal"): the new process's stdin, stdout
// and stderr are the slave of a new pty, its controlling terminal; a
// kernel thread copies what the client types (stdio[0]) into the master
// and what the terminal shows from the master to the client (stdio[1]),
// until every slave is closed and the output is drained. The line
// discipline (echo, ^C's SIGINT, \r\n) is the guest's, as in runc's
// container, where the terminal is the container's own.
#pragma once

#include <stdint.h>

#include "lightvm/abi.h"

namespace lightvm::guest {

// In the new process (exec/spawn.cpp): fds 0-2 and the pump. False when
// memory, ptys or kernel threads ran out (the sockets are closed then).
bool exec_tty_setup(const abi::ExecRequest& r);
// kExecResize: the client's terminal has a new size; it may come before
// the process has set its terminal up (kept until then).
void exec_tty_resize(uint32_t exec_id, uint16_t rows, uint16_t cols);

}  // namespace lightvm::guest

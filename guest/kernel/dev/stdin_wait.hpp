// Readiness of the host's stdin (a terminal or a pipe): poll, select and
// epoll see input when there is some, a non-blocking read says EAGAIN, and
// a read that would block sleeps in the guest while other tasks run. The
// state comes from the host's poll (one exit when unknown); a task waiting
// for input joins the idle poll of host sockets (net/host_socket.cpp), so
// one exit waits for both. docs/design.md, "Stdin readiness".
#pragma once

#include <stdint.h>

#include "kernel/proc/wait_queue.hpp"

namespace lightvm::guest {

// The host stdin's poll bits (POLLIN, POLLHUP, POLLERR); asks the host
// without waiting when this run has not seen them since the last read.
int stdin_revents();
// A read of the host's stdin happened: what is left is unknown again.
void stdin_consumed();
// Sleeps until the host's stdin has input, end of file or an error.
// -EAGAIN when nonblock; -ERESTARTSYS for a signal; 0 when readable.
long stdin_wait_readable(bool nonblock);
WaitQueue& stdin_queue();

// For the host poll (net/host_socket.cpp): whether stdin joins it, and for
// which events (all: a refresh, else only when somebody waits for input)...
bool stdin_watch(bool all, uint16_t* events);
// ...and what the host said: true (and waiters woken) when stdin became
// readable.
bool stdin_polled(uint16_t revents);

}  // namespace lightvm::guest

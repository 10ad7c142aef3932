// Pipes: a 64 KiB ring (Linux's default capacity) with a wait queue for
// each direction. A read of an empty pipe sleeps until data arrives or the
// last writer goes away (then 0: EOF); a write to a full pipe sleeps until
// there is room; O_NONBLOCK gives EAGAIN instead, and a write with no
// reader left is EPIPE (and SIGPIPE). With only one task in the VM a read
// of one's own empty pipe sleeps forever, as it would on Linux.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

struct Pipe;

Pipe* pipe_create();
void pipe_close_end(Pipe* p, bool write_end);
size_t pipe_available(const Pipe* p);

}  // namespace lightvm::guest

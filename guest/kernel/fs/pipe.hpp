// Pipes inside one process. With one thread nothing else can ever fill an
// empty pipe or drain a full one, so where Linux would block forever we
// return EAGAIN (documented divergence) instead of hanging the VM.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

struct Pipe;

Pipe* pipe_create();
long pipe_read(Pipe* p, void* buf, size_t len);
long pipe_write(Pipe* p, const void* buf, size_t len);  // -EPIPE when no reader
void pipe_close_end(Pipe* p, bool write_end);
size_t pipe_available(const Pipe* p);
// A read would not wait: data, or no writer left (EOF).
bool pipe_readable(const Pipe* p);

}  // namespace lightvm::guest

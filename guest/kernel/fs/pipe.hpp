// Pipes: a 64 KiB ring (Linux's default capacity) with a wait queue for
// each direction. A read of an empty pipe sleeps until data arrives or the
// last writer goes away (then 0: EOF); a write to a full pipe sleeps until
// there is room; O_NONBLOCK gives EAGAIN instead, and a write with no
// reader left is EPIPE (and SIGPIPE). With only one task in the VM a read
// of one's own empty pipe sleeps forever, as it would on Linux.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/open_file.hpp"
#include "kernel/fs/stat.hpp"

namespace lightvm::guest {

struct Pipe;

Pipe* pipe_create();
// Opens the FIFO whose node in a share is `node` for f (FileKind::Fifo,
// access mode in f->flags): the first opener creates its pipe, the last
// closer frees it. May sleep until the other end opens (man 7 fifo).
long fifo_open(OpenFile* f, const Stat& node);
void pipe_close_end(Pipe* p, bool write_end);
size_t pipe_available(const Pipe* p);

}  // namespace lightvm::guest

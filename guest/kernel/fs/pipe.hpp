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

// For splice and tee (fs/sys_splice.cpp), which move data between pipes
// and files without losing any on the way: wait until the pipe behind the
// read end `f` has data (1) or is at EOF (0), or until the one behind the
// write end has room (1; -EPIPE with SIGPIPE when no reader is left);
// -EAGAIN instead of sleeping when `nonblock`.
long pipe_wait_data(OpenFile* f, bool nonblock);
long pipe_wait_room(OpenFile* f, bool nonblock);
size_t pipe_room(const Pipe* p);
// One more open read and/or write end (fs/reopen.cpp: /dev/fd/N of a pipe).
void pipe_open_ends(Pipe* p, bool read_end, bool write_end);
// Copies up to len unread bytes without consuming them (tee).
size_t pipe_peek(const Pipe* p, void* buf, size_t len);

}  // namespace lightvm::guest

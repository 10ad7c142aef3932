// Event files: eventfd, timerfd and epoll fds (docs/design.md, "Event
// files"). Each is an OpenFile of its own kind whose `event` points at
// the object (state lives there, not in globals: several tasks on several
// vCPUs will share one through dup and threads; each object then gets a
// spinlock around its counters and lists). Readiness flows one way: the
// object's poll method says what is ready now, and its wait queue is woken
// whenever that may have changed; poll/select sleep on it, epoll hooks a
// wake function into it.
#pragma once

#include <stdint.h>

#include "kernel/fs/open_file.hpp"
#include "kernel/fs/stat.hpp"

namespace lightvm::guest {

// A new open file of `kind` for obj, installed at the lowest free fd:
// the fd, or -ENFILE/-EMFILE (then the caller still owns obj).
long event_install(FileKind kind, void* obj, uint32_t open_flags, bool cloexec);
// fstat of an anonymous-inode file (Linux's anon_inodefs: one inode,
// mode 0600, no type bits).
long anon_stat(OpenFile* f, Stat* out);

}  // namespace lightvm::guest

// Advisory file locks inside the VM: flock(2), POSIX record locks
// (F_SETLK/F_SETLKW/F_GETLK, owned by the process) and open-file-description
// locks (F_OFD_*, owned by the open file), with Linux's conflict, split and
// release rules. A lock names its file by (st_dev, st_ino), so two opens of
// one file see each other's locks. They are not shared with the host: a
// process outside the VM does not see them (docs/compat.md).
#pragma once

#include <stdint.h>

#include "kernel/fs/open_file.hpp"

namespace lightvm::guest {

long lock_flock(OpenFile* f, uint32_t op);
// fcntl's lock commands (F_GETLK, F_SETLK, F_SETLKW, F_OFD_*); user_flock
// is the caller's struct flock.
long lock_fcntl(OpenFile* f, uint32_t cmd, uint64_t user_flock);
// close(fd): the process's POSIX locks on that file go, as on Linux
// (whichever descriptor for the file is closed).
void locks_fd_closed(OpenFile* f);
// The open file description's last reference: its flock and OFD locks go.
void locks_file_released(OpenFile* f);

}  // namespace lightvm::guest

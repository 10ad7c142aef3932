// Advisory file locks inside the VM: flock(2), POSIX record locks
// (F_SETLK/F_SETLKW/F_GETLK, owned by the process's fd table) and open-file-description
// locks (F_OFD_*, owned by the open file), with Linux's conflict, split and
// release rules. A lock names its file by (st_dev, st_ino), so two opens of
// one file see each other's locks. On a share's file the monitor also holds
// their union on the host (abi.h kFsLock), so processes outside the VM see
// them and are seen (docs/compat.md).
#pragma once

#include <stdint.h>

#include "kernel/fs/open_file.hpp"

namespace lightvm::guest {

struct FdTable;

long lock_flock(OpenFile* f, uint32_t op);
// fcntl's lock commands (F_GETLK, F_SETLK, F_SETLKW, F_OFD_*); user_flock
// is the caller's struct flock.
long lock_fcntl(OpenFile* f, uint32_t cmd, uint64_t user_flock);
// A descriptor of `owner` (a fd table: Linux's POSIX lock owner, shared by
// threads, new for a forked child) for f closed: the table's POSIX locks on
// that file go, whichever of its descriptors for the file it was.
void locks_fd_closed(OpenFile* f, const FdTable* owner);
// The fd table's last user is gone (exit): all its POSIX locks go (no
// file is asked for its identity: the address space may be gone already).
void locks_table_gone(const FdTable* owner);
// The open file description's last reference: its flock and OFD locks go.
void locks_file_released(OpenFile* f);

}  // namespace lightvm::guest

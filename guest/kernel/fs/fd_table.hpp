// Open files and the fd table. An OpenFile is Linux's "open file
// description": dup() shares it (and its offset); the fd slot only adds
// FD_CLOEXEC. Files are a fixed pool: no heap in the guest kernel.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/open_file.hpp"

namespace lightvm::guest {

constexpr int kMaxFds = 1024;

// A process's descriptors: slots pointing at shared open files, plus
// FD_CLOEXEC. Shared by threads (CLONE_FILES), copied by fork.
struct FdSlot {
    OpenFile* file;
    bool cloexec;
};
struct FdTable {
    uint32_t users;  // processes sharing it (CLONE_FILES): closed with the last
    FdSlot slots[kMaxFds];
};

void fd_table_init();
// The first process's table (static: it exists before the frame allocator).
FdTable* fd_table_boot();
// A process the host starts (exec/spawn.cpp): a table with nothing open.
FdTable* fd_table_empty();
// fork: a table with the same descriptors, sharing their open files.
FdTable* fd_table_copy(const FdTable& src);
// Drops a user; the last closes every descriptor.
void fd_table_put(FdTable* t);
// execve: closes the FD_CLOEXEC descriptors.
void fd_table_close_on_exec(FdTable& t);
// New open file with one reference, or nullptr when the pool is exhausted.
OpenFile* file_alloc(FileKind kind, uint32_t flags);
void file_get(OpenFile* f);
// Drops a reference; the last one releases host handles and pipe ends and
// returns a deferred write error, if any.
long file_put(OpenFile* f);
// epoll (event/epoll.cpp) installs this at its first use: file_put hands
// it a file that is still watched (f->ep_watchers) before the release, so
// the file table needs no knowledge of interest lists.
void file_set_unwatch(void (*fn)(OpenFile* f));
// Gives `f` a directory path slot; false when the pool or the size is exhausted.
bool file_set_path(OpenFile* f, const char* path, size_t len);

OpenFile* fd_get(long fd);
// New descriptors stay below this: the caller's soft RLIMIT_NOFILE, at
// most kMaxFds (the table's size).
long fd_limit();
// Installs f at the lowest free fd >= min_fd (below fd_limit(), else
// EMFILE); consumes the caller's reference on success.
long fd_install(OpenFile* f, long min_fd, bool cloexec);
// Installs f at exactly `fd`, closing what was there.
long fd_install_at(OpenFile* f, long fd, bool cloexec);
long fd_close(long fd);
bool fd_cloexec(long fd);
void fd_set_cloexec(long fd, bool on);

}  // namespace lightvm::guest

// Operations on an open file, by kind: the one place that knows how to
// read, write, seek and stat each FileKind. Syscall adapters call these.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/fd_table.hpp"

namespace lightvm::guest {

// The x86-64 struct stat (144 bytes), identical on host and guest.
struct Stat {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad0;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t reserved[3];
};
static_assert(sizeof(Stat) == 144);

long file_read(OpenFile* f, void* buf, size_t len, int64_t at);     // at < 0: current offset
long file_write(OpenFile* f, const void* buf, size_t len, int64_t at);
long file_seek(OpenFile* f, int64_t offset, int whence);
long file_stat(OpenFile* f, Stat* out);                              // out is user memory (checked)
long file_sync(OpenFile* f, bool data_only);
long file_ioctl(OpenFile* f, uint64_t request, uint64_t arg);
bool file_is_tty(const OpenFile* f);
// Poll readiness: bit 0 readable, bit 2 writable (POLLIN / POLLOUT).
int file_poll(const OpenFile* f);
bool file_seekable(const OpenFile* f);

}  // namespace lightvm::guest

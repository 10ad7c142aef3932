// The x86-64 struct stat (144 bytes), as the kernel fills it for programs
// and as the monitor fills it for files in shares.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct Stat {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad0;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t reserved[3];
};
static_assert(sizeof(Stat) == 144);

// A file the kernel makes up (devices, pipes, synthetic directories): its
// identity (fs/identity.hpp), owned by root, times at the VM's start.
long synthetic_stat(Stat* out, uint64_t dev, uint64_t ino, uint32_t mode, uint64_t rdev);

}  // namespace lightvm::guest

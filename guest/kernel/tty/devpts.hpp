// /dev/pts as Linux's devpts shows it: a directory of the live slaves
// (0, 1, ... while their master is open), each /dev/pts/N a character
// device (major 136) owned by whoever opened /dev/ptmx, group tty, mode
// 0620. Like /dev, it is the kernel's whatever --rootfs has there.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/dir_entry.hpp"

namespace lightvm::guest {

// "/dev/pts/N" (a normalised absolute path): true with *index = N when it
// names a live slave; false for other paths under /dev/pts (ENOENT).
bool devpts_lookup(const char* path, size_t len, uint32_t* index);
// The index-th entry of /dev/pts after "." and "..", or false at the end.
bool devpts_entry(uint32_t index, DirEntry* out);

}  // namespace lightvm::guest

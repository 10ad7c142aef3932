// The kernel's own directories: "/" without --rootfs, every directory on
// the way to a mount point (/work for a share at /work/app), and /dev,
// /dev/fd, /proc, /proc/self, /proc/self/fd, which the kernel provides
// whatever --rootfs holds (as Linux mounts devtmpfs and procfs over it).
// Each has a stable identity (fs/identity.hpp), a link count of 2 + its
// subdirectories, and a listing whose d_ino agrees with lstat of the entry.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/dir_entry.hpp"
#include "kernel/fs/stat.hpp"

namespace lightvm::guest {

// True when `dir` (normalised absolute) is one of the fixed kernel
// directories (/dev, /proc, ...), which exist with or without --rootfs.
bool is_kernel_dir(const char* dir, size_t len);

// The index-th distinct child name of `dir` on the way to a mount point,
// or nullptr at the end.
const char* mount_child(const char* dir, uint32_t index, size_t* len);

// The index-th entry of the kernel directory `dir`, "." and ".." first;
// false at the end.
bool synthetic_dir_entry(const char* dir, uint32_t index, DirEntry* out);

// stat of the kernel directory `dir`.
long synthetic_dir_stat(const char* dir, Stat* out);

}  // namespace lightvm::guest

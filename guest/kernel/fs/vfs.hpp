// Path resolution: cwd and dirfd handling, lexical normalisation, the
// mount table from the boot page, and the few special files the kernel
// provides itself. Host directories are named to the monitor as
// (share, path relative to the share root); the monitor re-checks that the
// result stays inside the share (openat2 RESOLVE_IN_ROOT).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/resolved.hpp"

namespace lightvm::guest {


void vfs_init();
// Resolves a user path (already checked readable) relative to dirfd.
// Returns 0 or -errno (ENOENT when no mount covers the path).
long vfs_resolve(long dirfd, const char* path, size_t len, Resolved& out);
// Copies a NUL-terminated user path into buf[abi::kMaxPath]; -EFAULT or
// -ENAMETOOLONG (no NUL within PATH_MAX bytes).
long copy_user_path(uint64_t addr, char* buf, size_t* len);

const char* vfs_cwd();
// The last component of a user path is "." (1) or ".." (2), else 0.
int last_component_dots(const char* path, size_t len);
long vfs_set_cwd(const char* abs, size_t len);
// chroot: absolute paths start at `abs` (a directory's absolute path) and
// ".." stops there. Paths the kernel reports (getcwd) are relative to it:
// vfs_path_in_root writes abs as the process sees it into out[cap] and
// returns its length (0: does not fit).
long vfs_set_root(const char* abs, size_t len);
size_t vfs_path_in_root(const char* abs, size_t n, char* out, size_t cap);

}  // namespace lightvm::guest

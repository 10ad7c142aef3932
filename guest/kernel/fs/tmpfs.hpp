// tmpfs: file systems in guest RAM (/tmp and /dev/shm by default,
// `--tmpfs PATH[:SIZE]` for more). Regular files, directories, hard links
// and FIFOs; file data lives in frames of the guest's own memory (counted
// against --mem, reached through the physmap) and each instance has a size
// limit (ENOSPC beyond it, as Linux's tmpfs). Nothing reaches the host: no
// exit per operation. Symbolic links are not supported yet (EPERM).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/open_file.hpp"
#include "kernel/fs/stat.hpp"

struct __kernel_timespec;

namespace lightvm::guest {

struct Resolved;

// The instance whose mount point is the longest prefix of `abs` (a
// normalised absolute path), or -1; *mlen gets the mount point's length.
int tmpfs_match(const char* abs, size_t n, size_t* mlen);
// Mount points, for the synthetic directories above them.
uint32_t tmpfs_count();
const char* tmpfs_path(uint32_t i);

// Path operations on res (res.in_tmpfs; res.rel is the path inside).
long tmpfs_open(const Resolved& res, uint32_t flags, uint32_t mode, OpenFile** out);
long tmpfs_stat(const Resolved& res, Stat* out);
long tmpfs_access(const Resolved& res, uint32_t mode);
long tmpfs_mkdir(const Resolved& res, uint32_t mode);
long tmpfs_mknod(const Resolved& res, uint32_t mode);
long tmpfs_unlink(const Resolved& res, bool rmdir);
long tmpfs_rename(const Resolved& from, const Resolved& to, uint32_t flags);
long tmpfs_link(const Resolved& from, const Resolved& to);
long tmpfs_truncate(const Resolved& res, int64_t size);
long tmpfs_chmod(const Resolved& res, uint32_t mode);
long tmpfs_chown(const Resolved& res, int64_t uid, int64_t gid);
long tmpfs_utimens(const Resolved& res, const int64_t* times_ns);  // [atime, mtime]; nullptr: now
long tmpfs_statfs(const Resolved& res, uint64_t user_buf);
// 0 when res names a directory (chdir), else -ENOTDIR/-ENOENT.
long tmpfs_is_dir(const Resolved& res);

// Operations on open tmpfs files (FileKind::TmpFile / TmpDir).
long tmpfs_getdents(OpenFile* f, uint64_t user_buf, uint64_t len);
long tmpfs_ftruncate(OpenFile* f, int64_t size);
long tmpfs_fallocate(OpenFile* f, uint32_t mode, int64_t offset, int64_t len);
long tmpfs_fchmod(OpenFile* f, uint32_t mode);
long tmpfs_fchown(OpenFile* f, int64_t uid, int64_t gid);
long tmpfs_futimens(OpenFile* f, const int64_t* times_ns);
long tmpfs_fstatfs(OpenFile* f, uint64_t user_buf);

// UTIME_NOW/UTIME_OMIT handling for utimensat: fills ns[2] from the
// timespec[2] (kernel memory; nullptr: now, returns 1); omitted times stay -1.
long tmpfs_times_from(const __kernel_timespec* ts, int64_t* ns);

}  // namespace lightvm::guest

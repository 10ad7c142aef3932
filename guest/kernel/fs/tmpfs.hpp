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

// memfd_create: an unnamed file of a hidden instance (guest RAM, bounded by
// --mem), opened O_RDWR; `sealing`: MFD_ALLOW_SEALING (else F_SEAL_SEAL).
long tmpfs_memfd(const char* name, size_t len, bool sealing, OpenFile** out);
// fcntl F_GET_SEALS / F_ADD_SEALS on a tmpfs file (other tmpfs files carry
// F_SEAL_SEAL, as on Linux).
long tmpfs_get_seals(OpenFile* f);
long tmpfs_add_seals(OpenFile* f, uint32_t seals);
// mmap of a tmpfs file: EPERM when a writable shared mapping meets a write
// seal. Mappings use the file's own frames (shared: writes are seen by
// read(), and the other way round): the frame of byte `off`, allocated if
// a hole, with a reference for the mapping; 0 and *err when out of space.
long tmpfs_map_check(OpenFile* f, bool shared_write);
uint64_t tmpfs_map_frame(OpenFile* f, uint64_t off, long* err);
// open() of /dev/fd/N naming a tmpfs file or directory: a new open file
// of the same inode (its own offset); O_TRUNC truncates.
long tmpfs_reopen(OpenFile* f, uint32_t flags, OpenFile** out);
// Which instance a tmpfs file belongs to (the memfds share one of their own).
uint32_t tmpfs_file_instance(OpenFile* f);
// /proc/PID/fd link text (see tmpfs.cpp); 0: no path.
size_t tmpfs_fd_link(OpenFile* f, char* buf, size_t cap);

// Extended attributes (op: abi::FsXattrOp; fs/tmpfs_xattr.hpp): value is
// the value to set or where a get or list answer goes (kernel memory).
long tmpfs_xattr(const Resolved& res, uint32_t op, const char* name, size_t len, uint8_t* value, uint64_t size,
                 uint32_t flags);
long tmpfs_fxattr(OpenFile* f, uint32_t op, const char* name, size_t len, uint8_t* value, uint64_t size,
                  uint32_t flags);

// UTIME_NOW/UTIME_OMIT handling for utimensat: fills ns[2] from the
// timespec[2] (kernel memory; nullptr: now, returns 1); omitted times stay -1.
long tmpfs_times_from(const __kernel_timespec* ts, int64_t* ns);

}  // namespace lightvm::guest

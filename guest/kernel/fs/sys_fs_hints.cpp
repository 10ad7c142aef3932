// Calls that tell the kernel about I/O to come or ask it to write back:
// sync, syncfs, sync_file_range, readahead, posix_fadvise, and flock.
// The guest has no page cache of its own beyond the write-behind buffer
// (fs/file_cache.cpp), so a hint is checked as Linux checks it and then has
// nothing to do; a sync sends the pending writes to the host.
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_cache.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/locks.hpp"
#include "kernel/kernel.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// The file's type bits (S_IFMT), or an error.
long file_type(OpenFile* f) {
    Stat st;
    long r = file_stat(f, &st);
    return r < 0 ? r : static_cast<long>(st.mode & S_IFMT);
}

}  // namespace

long sys_sync(const SyscallArgs&) {
    cache_flush_all();
    return 0;
}

long sys_syncfs(const SyscallArgs& a) {
    if (!fd_get(fd_arg(a.a0)))
        return -err::kBadF;
    cache_flush_all();
    return 0;
}

long sys_sync_file_range(const SyscallArgs& a) {
    constexpr uint64_t kFlags = 1 | 2 | 4;  // SYNC_FILE_RANGE_WAIT_BEFORE | WRITE | WAIT_AFTER
    if (a.a3 & ~kFlags || static_cast<int64_t>(a.a1) < 0 || static_cast<int64_t>(a.a2) < 0)
        return -err::kInval;
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    long t = file_type(f);
    if (t < 0)
        return t;
    if (t != S_IFREG && t != S_IFBLK && t != S_IFDIR && t != S_IFLNK)
        return -err::kSPipe;
    return a.a3 & 2 ? file_sync(f, true) : 0;
}

long sys_readahead(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f || (f->flags & O_ACCMODE) == O_WRONLY)
        return -err::kBadF;
    long t = file_type(f);
    if (t < 0)
        return t;
    return t == S_IFREG ? 0 : -err::kInval;
}

long sys_fadvise64(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    long t = file_type(f);
    if (t < 0)
        return t;
    if (t == S_IFIFO || t == S_IFSOCK)
        return -err::kSPipe;
    constexpr uint64_t kMaxAdvice = 5;  // POSIX_FADV_NORMAL .. POSIX_FADV_NOREUSE
    if (a.a3 > kMaxAdvice || static_cast<int64_t>(a.a2) < 0)
        return -err::kInval;
    return 0;
}

long sys_flock(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    return lock_flock(f, static_cast<uint32_t>(a.a1));
}

}  // namespace lightvm::guest

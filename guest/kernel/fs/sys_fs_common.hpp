// Shared by the path-based syscall files (sys_fs.cpp: open/stat/access,
// sys_fs_dirs.cpp: directories and names, sys_fs_meta.cpp: metadata):
// constants, path resolution into HcFs requests, and the retry for
// absolute symlinks that the monitor hands back.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/errno.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/path_perm.hpp"
#include "kernel/fs/permission.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/uapi.hpp"
#include "lightvm/abi.h"

namespace lightvm::guest {

unsigned current_umask();
// stat by path (sys_fs.cpp), also used by chown.
long do_stat(long dirfd, uint64_t path_addr, Stat* out, uint32_t flags);

namespace fs_sys {

// A path argument of a call that may meet absolute symlinks inside a share:
// the monitor hands their target back (abi.h kFsOptRedirect) and the call
// starts over with that guest path, through our mount table. Retrying is a
// loop over one PathArg (the target overwrites the path in place), never a
// recursion: a chain of links costs no more kernel stack than one.
constexpr int kMaxRedirects = 40;  // Linux's MAXSYMLINKS

struct PathArg {
    long dirfd;
    size_t len;
    int hops;
    char buf[abi::kMaxPath + 1];
};

// Copies the user's path into p (the kernel then never rereads user memory).
inline long path_from_user(PathArg& p, long dirfd, uint64_t addr) {
    long r = copy_user_path(addr, p.buf, &p.len);
    if (r < 0)
        return r;
    p.dirfd = dirfd;
    p.hops = 0;
    return 0;
}

inline long path_from_kernel(PathArg& p, long dirfd, const char* path) {
    p.len = strlen(path);
    memcpy(p.buf, path, p.len + 1);
    p.dirfd = dirfd;
    p.hops = 0;
    return 0;
}

// Every path call resolves here: search permission is checked on the way
// (fs/path_perm.hpp; nothing to do for root).
inline long resolve(const PathArg& p, Resolved& res) {
    long r = vfs_resolve(p.dirfd, p.buf, p.len, res);
    return r < 0 ? r : perm_search(res);
}

inline abi::HcFs path_request(uint32_t op, const Resolved& res) {
    abi::HcFs req = fs_request(op);
    req.share = res.share;
    req.path = kernel_to_gpa(res.rel);
    req.path_len = res.rel_len;
    return req;
}

// Lets the monitor answer with a redirect, written into p.buf (free to
// reuse: the request's path points into the Resolved). path2 must be unused.
inline abi::HcFs redirectable(PathArg& p, abi::HcFs req) {
    req.options = abi::kFsOptRedirect;
    req.path2 = kernel_to_gpa(p.buf);
    req.path2_len = abi::kMaxPath;
    return req;
}

// A request that creates a name: a non-root creator's ids go with it, for
// the monitor to give the new file to (abi.h kFsOptOwner).
inline abi::HcFs owned(abi::HcFs req) {
    const Credentials& c = current_process()->cred;
    if (c.fsuid != 0 || c.fsgid != 0) {
        req.options |= abi::kFsOptOwner;
        req.offset2 = static_cast<int64_t>(uint64_t{c.fsuid} | (uint64_t{c.fsgid} << 32));
    }
    return req;
}

// After a redirectable call: true when it must be retried with p, which now
// holds the link's target; otherwise *r is the call's final result.
inline bool follow_redirect(PathArg& p, long* r, const abi::HcFs& req) {
    if (*r != -abi::kFsRedirect)
        return false;
    if (++p.hops > kMaxRedirects || req.aux >= abi::kMaxPath) {
        *r = -err::kLoop;  // too many links: what Linux says for symlink loops
        return false;
    }
    p.len = req.aux;
    p.buf[p.len] = 0;
    p.dirfd = AT_FDCWD;
    return true;
}

// Resolves a user path (for calls that do not follow redirects).
inline long resolve_user(long dirfd, uint64_t path_addr, Resolved& res) {
    PathArg p;
    long r = path_from_user(p, dirfd, path_addr);
    return r < 0 ? r : resolve(p, res);
}

// Runs fn(PathArg&) on the user's path (dirfd-relative).
template <typename F>
long with_user_path(long dirfd, uint64_t addr, F fn) {
    PathArg p;
    long r = path_from_user(p, dirfd, addr);
    return r < 0 ? r : fn(p);
}

// stat/lstat (flags: AT_SYMLINK_NOFOLLOW) of a path (sys_fs.cpp).
long stat_path(PathArg& p, Stat* out, uint32_t flags);

// The open file a /dev/fd/N or /proc/PID/fd/N path names (path calls
// that follow these links act on it, as on Linux); nullptr otherwise.
OpenFile* linked_file(const Resolved& res);

// For operations that only make sense on a share.
inline long need_share(const Resolved& res, bool mutating) {
    if (res.in_share)
        return 0;
    if (res.special == Special::SynthDir)
        return mutating ? -err::kPerm : 0;
    return mutating ? -err::kPerm : -err::kAcces;
}


}  // namespace fs_sys
}  // namespace lightvm::guest

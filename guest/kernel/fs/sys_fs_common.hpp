// Shared by the path-based syscall files (sys_fs.cpp: open/stat/access,
// sys_fs_dirs.cpp: directories and names, sys_fs_meta.cpp: metadata):
// constants, path resolution into HcFs requests, and the retry for
// absolute symlinks that the monitor hands back.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/vfs.hpp"
#include "lightvm/abi.h"

namespace lightvm::guest {

unsigned current_umask();
// stat by path (sys_fs.cpp), also used by chown.
long do_stat(long dirfd, uint64_t path_addr, Stat* out, uint32_t flags);

namespace fs_sys {

enum : unsigned {
    kSysOpen = 2, kSysStat = 4, kSysLstat = 6, kSysAccess = 21, kSysTruncate = 76, kSysFtruncate = 77,
    kSysGetcwd = 79, kSysChdir = 80, kSysFchdir = 81, kSysRename = 82, kSysMkdir = 83, kSysRmdir = 84,
    kSysCreat = 85, kSysLink = 86, kSysUnlink = 87, kSysSymlink = 88, kSysReadlink = 89, kSysChmod = 90,
    kSysFchmod = 91, kSysChown = 92, kSysFchown = 93, kSysLchown = 94, kSysStatfs = 137, kSysFstatfs = 138,
    kSysGetdents64 = 217, kSysOpenat = 257, kSysMkdirat = 258, kSysFchownat = 260, kSysNewfstatat = 262,
    kSysUnlinkat = 263, kSysRenameat = 264, kSysLinkat = 265, kSysSymlinkat = 266, kSysReadlinkat = 267,
    kSysFchmodat = 268, kSysFaccessat = 269, kSysUtimensat = 280, kSysRenameat2 = 316, kSysStatx = 332,
    kSysFaccessat2 = 439, kSysMknod = 133, kSysMknodat = 259,
};

constexpr long kAtFdcwd = -100;
constexpr uint32_t kAtSymlinkNofollow = 0x100, kAtRemovedir = 0x200, kAtEmptyPath = 0x1000;
constexpr uint32_t kOAccmode = 3, kOCreat = 0100, kOTrunc = 01000, kOAppend = 02000, kONonblock = 04000,
                   kODirectory = 0200000, kOCloexec = 02000000;
constexpr uint32_t kSIfmt = 0170000, kSIfDir = 0040000, kSIfReg = 0100000;
constexpr long kErofs = -30, kExdev = -18;

inline long resolve_user(long dirfd, uint64_t path_addr, Resolved& res) {
    const char* path;
    size_t len;
    long r = copy_user_path(path_addr, &path, &len);
    if (r < 0)
        return r;
    return vfs_resolve(dirfd, path, len, res);
}

// Absolute symlinks inside a share name guest paths: the monitor hands
// them back (abi.h kFsOptRedirect) and the call is retried with the new
// path through our mount table. One buffer per hop, as retries nest.
constexpr int kMaxRedirects = 8;
inline char g_redirect[kMaxRedirects][abi::kMaxPath + 1];
inline int g_redirect_depth;

inline abi::HcFs path_request(uint32_t op, const Resolved& res) {
    abi::HcFs req = fs_request(op);
    req.share = res.share;
    req.path = reinterpret_cast<uint64_t>(res.rel);
    req.path_len = res.rel_len;
    return req;
}

// For call sites that retry with RETRY_ON_REDIRECT (path2 must be unused).
inline abi::HcFs redirectable(abi::HcFs req) {
    if (g_redirect_depth < kMaxRedirects) {
        req.options = abi::kFsOptRedirect;
        req.path2 = reinterpret_cast<uint64_t>(g_redirect[g_redirect_depth]);
        req.path2_len = abi::kMaxPath;
    }
    return req;
}

// If the monitor asked for a redirect, the guest path to retry with (a
// kernel string), else nullptr. Callers retry with redirect_guard held.
inline const char* redirect_target(long r, const abi::HcFs& req) {
    if (r != -abi::kFsRedirect || g_redirect_depth >= kMaxRedirects || req.aux >= abi::kMaxPath)
        return nullptr;
    char* buf = g_redirect[g_redirect_depth];
    buf[req.aux] = 0;
    return buf;
}

struct RedirectGuard {
    RedirectGuard() { ++g_redirect_depth; }
    ~RedirectGuard() { --g_redirect_depth; }
};

// Too many nested absolute links: what Linux says for symlink loops.
constexpr long kEloop = -40;
#define RETRY_ON_REDIRECT(r, req, call)                                  \
    do {                                                                 \
        if (const char* target_ = redirect_target((r), (req))) {        \
            RedirectGuard guard_;                                        \
            uint64_t path = reinterpret_cast<uint64_t>(target_);         \
            (void)path;                                                  \
            return call;                                                 \
        }                                                                \
        if ((r) == -abi::kFsRedirect)                                    \
            return kEloop;                                               \
    } while (0)

// For operations that only make sense on a share.
inline long need_share(const Resolved& res, bool mutating) {
    if (res.in_share)
        return 0;
    if (res.special == Special::RootDir)
        return mutating ? -err::kPerm : 0;
    return mutating ? -err::kPerm : -err::kAcces;
}


}  // namespace fs_sys
}  // namespace lightvm::guest

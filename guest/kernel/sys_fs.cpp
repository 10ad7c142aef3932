// Path-based file-system syscalls: open, stat, directories, links,
// metadata. Paths resolve in vfs.cpp; host directories are served by the
// monitor through one HcFs hypercall per call (fs_client.cpp).
#include "kernel/attr_cache.hpp"
#include "kernel/errno.hpp"
#include "kernel/fd_table.hpp"
#include "kernel/file_ops.hpp"
#include "kernel/fs_client.hpp"
#include "kernel/kernel.hpp"
#include "kernel/syscall.hpp"
#include "kernel/vfs.hpp"

namespace lightvm::guest {

unsigned current_umask();

namespace {

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

long resolve_user(long dirfd, uint64_t path_addr, Resolved& res) {
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
char g_redirect[kMaxRedirects][abi::kMaxPath + 1];
int g_redirect_depth;

abi::HcFs path_request(uint32_t op, const Resolved& res) {
    abi::HcFs req = fs_request(op);
    req.share = res.share;
    req.path = reinterpret_cast<uint64_t>(res.rel);
    req.path_len = res.rel_len;
    return req;
}

// For call sites that retry with RETRY_ON_REDIRECT (path2 must be unused).
abi::HcFs redirectable(abi::HcFs req) {
    if (g_redirect_depth < kMaxRedirects) {
        req.options = abi::kFsOptRedirect;
        req.path2 = reinterpret_cast<uint64_t>(g_redirect[g_redirect_depth]);
        req.path2_len = abi::kMaxPath;
    }
    return req;
}

// If the monitor asked for a redirect, the guest path to retry with (a
// kernel string), else nullptr. Callers retry with redirect_guard held.
const char* redirect_target(long r, const abi::HcFs& req) {
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
long need_share(const Resolved& res, bool mutating) {
    if (res.in_share)
        return 0;
    if (res.special == Special::RootDir)
        return mutating ? -err::kPerm : 0;
    return mutating ? -err::kPerm : -err::kAcces;
}

// ---- open -----------------------------------------------------------------

long install(OpenFile* f, uint32_t flags) {
    long fd = fd_install(f, 0, flags & kOCloexec);
    if (fd < 0)
        file_put(f);
    return fd;
}

long dup_stdio(long fd, uint32_t flags) {
    OpenFile* f = fd_get(fd);
    if (!f)
        return -err::kNoEnt;
    file_get(f);
    return install(f, flags);
}

long open_special(const Resolved& res, uint32_t flags) {
    uint32_t keep = flags & (kOAccmode | kOAppend | kONonblock);
    bool writing = (flags & kOAccmode) != 0 || (flags & kOTrunc);
    FileKind kind;
    switch (res.special) {
    case Special::DevNull:
        kind = FileKind::DevNull;
        break;
    case Special::DevZero:
        kind = FileKind::DevZero;
        break;
    case Special::DevRandom:
        kind = FileKind::DevRandom;
        break;
    case Special::DevStdin:
        return dup_stdio(0, flags);
    case Special::DevStdout:
        return dup_stdio(1, flags);
    case Special::DevStderr:
        return dup_stdio(2, flags);
    case Special::Block:
        if (writing && (boot().devices[res.block].flags & abi::kDevReadOnly))
            return kErofs;
        kind = FileKind::Block;
        break;
    case Special::RootDir:
        if (writing)
            return -err::kIsDir;
        kind = FileKind::RootDir;
        break;
    case Special::SelfExe:
    default:
        return -err::kAcces;
    }
    if ((flags & kODirectory) && kind != FileKind::RootDir)
        return -err::kNotDir;
    OpenFile* f = file_alloc(kind, keep);
    if (!f)
        return -23;  // ENFILE
    f->device = res.block;
    if (kind == FileKind::RootDir && !file_set_path(f, res.abs, res.abs_len)) {
        file_put(f);
        return -23;
    }
    return install(f, flags);
}

long do_open(long dirfd, uint64_t path_addr, uint32_t flags, uint32_t mode) {
    Resolved res;
    long r = resolve_user(dirfd, path_addr, res);
    if (r < 0)
        return r;
    if (!res.in_share)
        return open_special(res, flags);
    if ((flags & kOCreat) && res.trailing_slash)
        return -err::kIsDir;  // Linux: O_CREAT on "name/" is EISDIR, whatever name is
    abi::HcFs req = redirectable(path_request(abi::kFsOpen, res));
    req.flags = flags;  // a trailing slash travels in the path: the host applies Linux's rules
    req.mode = mode & 07777 & ~current_umask();
    long handle = fs_call(req);
    RETRY_ON_REDIRECT(handle, req, do_open(kAtFdcwd, path, flags, mode));
    if (handle < 0)
        return handle;
    bool dir = (req.aux & kSIfmt) == kSIfDir;
    OpenFile* f = file_alloc(dir ? FileKind::HostDir : FileKind::HostFile, flags & (kOAccmode | kOAppend | kONonblock));
    if (!f) {
        fs_close(static_cast<uint32_t>(handle));
        return -23;
    }
    f->handle = static_cast<uint32_t>(handle);
    f->share = res.share;
    f->mode = static_cast<uint32_t>(req.aux);
    if (dir && !file_set_path(f, res.abs, res.abs_len)) {
        file_put(f);
        return -err::kNameTooLong;
    }
    return install(f, flags);
}

long sys_open(const SyscallArgs& a) {
    return do_open(kAtFdcwd, a.a0, static_cast<uint32_t>(a.a1), static_cast<uint32_t>(a.a2));
}
long sys_openat(const SyscallArgs& a) {
    return do_open(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2), static_cast<uint32_t>(a.a3));
}
long sys_creat(const SyscallArgs& a) {
    return do_open(kAtFdcwd, a.a0, 01 | kOCreat | kOTrunc, static_cast<uint32_t>(a.a1));
}

// ---- stat -----------------------------------------------------------------

long stat_special(const Resolved& res, Stat* out) {
    OpenFile tmp{};
    tmp.refs = 1;
    switch (res.special) {
    case Special::DevNull:
        tmp.kind = FileKind::DevNull;
        break;
    case Special::DevZero:
        tmp.kind = FileKind::DevZero;
        break;
    case Special::DevRandom:
        tmp.kind = FileKind::DevRandom;
        break;
    case Special::Block:
        tmp.kind = FileKind::Block;
        tmp.device = res.block;
        break;
    case Special::RootDir:
        tmp.kind = FileKind::RootDir;
        break;
    case Special::DevStdin:
    case Special::DevStdout:
    case Special::DevStderr: {
        OpenFile* f = fd_get(res.special == Special::DevStdin ? 0 : res.special == Special::DevStdout ? 1 : 2);
        return f ? file_stat(f, out) : -err::kNoEnt;
    }
    case Special::SelfExe: {
        Stat st{};
        st.mode = kSIfReg | 0755;
        st.nlink = 1;
        st.blksize = 4096;
        memcpy(out, &st, sizeof st);
        return 0;
    }
    default:
        return -err::kNoEnt;
    }
    return file_stat(&tmp, out);
}

long do_stat(long dirfd, uint64_t path_addr, Stat* out, uint32_t flags) {
    size_t len;
    if (!user_string_ok(path_addr, abi::kMaxPath + 1, &len))
        return -err::kFault;
    if (len == 0) {
        if (!(flags & kAtEmptyPath))
            return -err::kNoEnt;
        if (dirfd != kAtFdcwd) {
            OpenFile* f = fd_get(dirfd);
            return f ? file_stat(f, out) : -err::kBadF;
        }
        path_addr = reinterpret_cast<uint64_t>(".");
    }
    Resolved res;
    long r = resolve_user(dirfd, path_addr, res);
    if (r < 0)
        return r;
    if (!res.in_share)
        return stat_special(res, out);
    Stat cached;
    constexpr uint32_t kSIfLnk = 0120000;
    if (!res.physical && attr_get(res.abs, res.abs_len, &cached) && ((flags & kAtSymlinkNofollow) || (cached.mode & kSIfmt) != kSIfLnk)) {
        if (res.trailing_slash && (cached.mode & kSIfmt) != kSIfDir)
            return -err::kNotDir;
        memcpy(out, &cached, sizeof cached);
        return 0;
    }
    abi::HcFs req = redirectable(path_request(abi::kFsStat, res));
    req.flags = flags & kAtSymlinkNofollow;
    req.buf = reinterpret_cast<uint64_t>(out);
    req.len = sizeof(Stat);
    r = fs_call(req);
    RETRY_ON_REDIRECT(r, req, do_stat(kAtFdcwd, path, out, flags & ~kAtEmptyPath));
    if (r == 0 && (flags & kAtSymlinkNofollow) && !res.physical)
        attr_put(res.abs, res.abs_len, *out);  // lstat, then access/unlink: one exit, not two
    if (r == 0 && res.trailing_slash && (out->mode & kSIfmt) != kSIfDir)
        return -err::kNotDir;
    return r;
}

long user_stat(long dirfd, uint64_t path, uint64_t buf, uint32_t flags) {
    if (!user_range_ok(buf, sizeof(Stat)))
        return -err::kFault;
    return do_stat(dirfd, path, reinterpret_cast<Stat*>(buf), flags);
}
long sys_stat(const SyscallArgs& a) { return user_stat(kAtFdcwd, a.a0, a.a1, 0); }
long sys_lstat(const SyscallArgs& a) { return user_stat(kAtFdcwd, a.a0, a.a1, kAtSymlinkNofollow); }
long sys_newfstatat(const SyscallArgs& a) {
    return user_stat(fd_arg(a.a0), a.a1, a.a2, static_cast<uint32_t>(a.a3));
}

// struct statx (linux/stat.h): 256 bytes.
struct StatxTime {
    int64_t sec;
    uint32_t nsec;
    int32_t pad;
};
struct Statx {
    uint32_t mask, blksize;
    uint64_t attributes;
    uint32_t nlink, uid, gid;
    uint16_t mode, pad0;
    uint64_t ino, size, blocks, attributes_mask;
    StatxTime atime, btime, ctime, mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t spare[14];
};
static_assert(sizeof(Statx) == 256);

long sys_statx(const SyscallArgs& a) {
    if (!user_range_ok(a.a4, sizeof(Statx)))
        return -err::kFault;
    Stat st;
    long r = do_stat(fd_arg(a.a0), a.a1, &st, static_cast<uint32_t>(a.a2));
    if (r < 0)
        return r;
    Statx x{};
    x.mask = 0x7ff;  // STATX_BASIC_STATS
    x.blksize = static_cast<uint32_t>(st.blksize);
    x.nlink = static_cast<uint32_t>(st.nlink);
    x.uid = st.uid;
    x.gid = st.gid;
    x.mode = static_cast<uint16_t>(st.mode);
    x.ino = st.ino;
    x.size = static_cast<uint64_t>(st.size);
    x.blocks = static_cast<uint64_t>(st.blocks);
    x.atime = {st.atime, static_cast<uint32_t>(st.atime_ns), 0};
    x.mtime = {st.mtime, static_cast<uint32_t>(st.mtime_ns), 0};
    x.ctime = {st.ctime, static_cast<uint32_t>(st.ctime_ns), 0};
    x.rdev_major = static_cast<uint32_t>((st.rdev >> 8) & 0xfff);
    x.rdev_minor = static_cast<uint32_t>((st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00));
    x.dev_major = static_cast<uint32_t>((st.dev >> 8) & 0xfff);
    x.dev_minor = static_cast<uint32_t>((st.dev & 0xff) | ((st.dev >> 12) & 0xfff00));
    memcpy(reinterpret_cast<void*>(a.a4), &x, sizeof x);
    return 0;
}

long do_access(long dirfd, uint64_t path, uint32_t mode, uint32_t flags) {
    Resolved res;
    long r = resolve_user(dirfd, path, res);
    if (r < 0)
        return r;
    if (!res.in_share) {
        if (res.special == Special::None)
            return -err::kNoEnt;
        if ((mode & 2) && res.special == Special::Block && (boot().devices[res.block].flags & abi::kDevReadOnly))
            return kErofs;
        return 0;
    }
    // The guest runs as root: with known attributes, only EROFS and X_OK
    // (some x bit, or a directory) can say no.
    Stat st;
    if (!res.physical && attr_get(res.abs, res.abs_len, &st) && (st.mode & kSIfmt) != 0120000) {
        if ((mode & 2) && res.read_only)
            return kErofs;
        if ((mode & 1) && (st.mode & kSIfmt) != kSIfDir && !(st.mode & 0111))
            return -err::kAcces;
        return 0;
    }
    abi::HcFs req = redirectable(path_request(abi::kFsAccess, res));
    req.mode = mode;
    req.flags = flags;
    r = fs_call(req);
    RETRY_ON_REDIRECT(r, req, do_access(kAtFdcwd, path, mode, flags));
    return r;
}
long sys_access(const SyscallArgs& a) { return do_access(kAtFdcwd, a.a0, static_cast<uint32_t>(a.a1), 0); }
long sys_faccessat(const SyscallArgs& a) {
    return do_access(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2), 0);
}
long sys_faccessat2(const SyscallArgs& a) {
    return do_access(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2), static_cast<uint32_t>(a.a3));
}

// ---- directories ------------------------------------------------------------

long root_getdents(OpenFile* f, uint64_t buf, uint64_t len) {
    // ".", "..", then the top-level mount points.
    uint64_t used = 0;
    for (;;) {
        const char* name;
        size_t n;
        uint64_t idx = f->offset;
        if (idx == 0) {
            name = ".";
            n = 1;
        } else if (idx == 1) {
            name = "..";
            n = 2;
        } else {
            name = vfs_synthetic_entry(f->path, static_cast<uint32_t>(idx - 2), &n);
            if (!name)
                break;
        }
        uint64_t reclen = (19 + n + 1 + 7) & ~uint64_t{7};
        if (used + reclen > len)
            return used ? static_cast<long>(used) : -err::kInval;
        auto* rec = reinterpret_cast<uint8_t*>(buf + used);
        memset(rec, 0, reclen);
        uint64_t ino = 2 + idx, off = idx + 1;
        memcpy(rec, &ino, 8);
        memcpy(rec + 8, &off, 8);
        uint16_t rl = static_cast<uint16_t>(reclen);
        memcpy(rec + 16, &rl, 2);
        rec[18] = 4;  // DT_DIR
        memcpy(rec + 19, name, n);
        used += reclen;
        f->offset++;
    }
    return static_cast<long>(used);
}

long sys_getdents64(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if (!user_range_ok(a.a1, a.a2))
        return -err::kFault;
    if (f->kind == FileKind::RootDir)
        return root_getdents(f, a.a1, a.a2);
    if (f->kind != FileKind::HostDir)
        return -err::kNotDir;
    abi::HcFs req = fs_request(abi::kFsGetdents);
    req.handle = f->handle;
    req.buf = a.a1;
    req.len = a.a2;
    uint32_t cap = 0;
    Stat* stats = f->path ? attr_scratch(&cap) : nullptr;
    if (!stats)
        return fs_call(req);
    req.op = abi::kFsGetdentsPlus;
    req.offset2 = static_cast<int64_t>(reinterpret_cast<uint64_t>(stats));
    req.mode = cap;
    long n = fs_call(req);
    if (n <= 0)
        return n;
    // Remember each entry's attributes under its absolute guest path.
    static char path[abi::kMaxPath];
    size_t dlen = strlen(f->path);
    memcpy(path, f->path, dlen);
    size_t base = dlen == 1 ? 1 : dlen + 1;
    path[base - 1] = '/';
    uint64_t off = 0;
    for (uint32_t i = 0; off + 19 < static_cast<uint64_t>(n) && i < cap; ++i) {
        auto* rec = reinterpret_cast<const uint8_t*>(a.a1 + off);
        uint16_t reclen;
        memcpy(&reclen, rec + 16, 2);
        if (reclen < 20 || off + reclen > static_cast<uint64_t>(n))
            break;
        const char* name = reinterpret_cast<const char*>(rec + 19);
        size_t nlen = 0;
        while (nlen < static_cast<size_t>(reclen - 19) && name[nlen])
            ++nlen;
        bool dots = (nlen == 1 && name[0] == '.') || (nlen == 2 && name[0] == '.' && name[1] == '.');
        if (!dots && base + nlen < sizeof path) {
            memcpy(path + base, name, nlen);
            attr_put(path, base + nlen, stats[i]);
        }
        off += reclen;
    }
    return n;
}

long do_mkdir(long dirfd, uint64_t path, uint32_t mode) {
    Resolved res;
    long r = resolve_user(dirfd, path, res);
    if (r < 0)
        return r;
    if (!res.in_share)
        return res.special == Special::None ? -err::kNoEnt : -err::kExist;
    abi::HcFs req = redirectable(path_request(abi::kFsMkdir, res));
    req.mode = mode & 07777 & ~current_umask();
    attr_forget(res.abs, res.abs_len);
    r = fs_call(req);
    RETRY_ON_REDIRECT(r, req, do_mkdir(kAtFdcwd, path, mode));
    return r;
}
long sys_mkdir(const SyscallArgs& a) { return do_mkdir(kAtFdcwd, a.a0, static_cast<uint32_t>(a.a1)); }
long sys_mkdirat(const SyscallArgs& a) {
    return do_mkdir(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2));
}

long do_unlink(long dirfd, uint64_t path, uint32_t flags) {
    if (flags & ~kAtRemovedir)
        return -err::kInval;
    Resolved res;
    long r = resolve_user(dirfd, path, res);
    if (r < 0)
        return r;
    // Linux refuses "." and ".." as the last component before looking anything up.
    if (int dots = last_component_dots(reinterpret_cast<const char*>(path), strlen(reinterpret_cast<const char*>(path))))
        return (flags & kAtRemovedir) ? (dots == 1 ? -err::kInval : -39 /* ENOTEMPTY */) : -err::kIsDir;
    if ((r = need_share(res, true)) < 0)
        return r;
    if (res.rel_len == 0)
        return -16;  // EBUSY: a mount point
    abi::HcFs req = redirectable(path_request(abi::kFsUnlink, res));
    req.flags = flags;
    attr_forget(res.abs, res.abs_len);
    r = fs_call(req);
    RETRY_ON_REDIRECT(r, req, do_unlink(kAtFdcwd, path, flags));
    return r;
}
long sys_unlink(const SyscallArgs& a) { return do_unlink(kAtFdcwd, a.a0, 0); }
long sys_rmdir(const SyscallArgs& a) { return do_unlink(kAtFdcwd, a.a0, kAtRemovedir); }
long sys_unlinkat(const SyscallArgs& a) {
    return do_unlink(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2));
}

long two_paths(uint32_t op, long dfd1, uint64_t p1, long dfd2, uint64_t p2, uint32_t flags) {
    static Resolved res2;  // big; the kernel stack is small and we are single-threaded
    Resolved res;
    long r = resolve_user(dfd1, p1, res);
    if (r < 0)
        return r;
    if ((r = resolve_user(dfd2, p2, res2)) < 0)
        return r;
    if ((r = need_share(res, true)) < 0 || (r = need_share(res2, true)) < 0)
        return r;
    if (res.share != res2.share)
        return kExdev;
    if (res.rel_len == 0 || res2.rel_len == 0)
        return -16;  // EBUSY
    abi::HcFs req = path_request(op, res);
    req.share2 = res2.share;
    req.path2 = reinterpret_cast<uint64_t>(res2.rel);
    req.path2_len = res2.rel_len;
    req.flags = flags;
    return fs_call(req);
}
long sys_rename(const SyscallArgs& a) { return two_paths(abi::kFsRename, kAtFdcwd, a.a0, kAtFdcwd, a.a1, 0); }
long sys_renameat(const SyscallArgs& a) {
    return two_paths(abi::kFsRename, fd_arg(a.a0), a.a1, fd_arg(a.a2), a.a3, 0);
}
long sys_renameat2(const SyscallArgs& a) {
    return two_paths(abi::kFsRename, fd_arg(a.a0), a.a1, fd_arg(a.a2), a.a3,
                     static_cast<uint32_t>(a.a4));
}
long sys_link(const SyscallArgs& a) { return two_paths(abi::kFsLink, kAtFdcwd, a.a0, kAtFdcwd, a.a1, 0); }
long sys_linkat(const SyscallArgs& a) {
    return two_paths(abi::kFsLink, fd_arg(a.a0), a.a1, fd_arg(a.a2), a.a3, 0);
}

long do_symlink(uint64_t target_addr, long dirfd, uint64_t link_path) {
    const char* target;
    size_t tlen;
    long r = copy_user_path(target_addr, &target, &tlen);
    if (r < 0)
        return r;
    if (tlen == 0)
        return -err::kNoEnt;
    Resolved res;
    if ((r = resolve_user(dirfd, link_path, res)) < 0)
        return r;
    if ((r = need_share(res, true)) < 0)
        return r;
    abi::HcFs req = path_request(abi::kFsSymlink, res);
    req.path2 = reinterpret_cast<uint64_t>(target);  // text, stored as is
    req.path2_len = tlen;
    attr_forget(res.abs, res.abs_len);
    return fs_call(req);
}
long sys_symlink(const SyscallArgs& a) { return do_symlink(a.a0, kAtFdcwd, a.a1); }
long sys_symlinkat(const SyscallArgs& a) { return do_symlink(a.a0, fd_arg(a.a1), a.a2); }

long do_readlink(long dirfd, uint64_t path, uint64_t buf, uint64_t size) {
    if (static_cast<int64_t>(size) <= 0)
        return -err::kInval;
    if (!user_range_ok(buf, size))
        return -err::kFault;
    Resolved res;
    long r = resolve_user(dirfd, path, res);
    if (r < 0)
        return r;
    if (res.special == Special::SelfExe) {
        size_t n = strlen(boot().exe_path);
        if (n > size)
            n = size;
        memcpy(reinterpret_cast<void*>(buf), boot().exe_path, n);
        return static_cast<long>(n);
    }
    if (!res.in_share)
        return res.special == Special::None ? -err::kNoEnt : -err::kInval;
    abi::HcFs req = redirectable(path_request(abi::kFsReadlink, res));
    req.buf = buf;
    req.len = size;
    r = fs_call(req);
    RETRY_ON_REDIRECT(r, req, do_readlink(kAtFdcwd, path, buf, size));
    return r;
}
long sys_readlink(const SyscallArgs& a) { return do_readlink(kAtFdcwd, a.a0, a.a1, a.a2); }
long sys_readlinkat(const SyscallArgs& a) { return do_readlink(fd_arg(a.a0), a.a1, a.a2, a.a3); }

long sys_getcwd(const SyscallArgs& a) {
    const char* cwd = vfs_cwd();
    size_t n = strlen(cwd) + 1;
    if (a.a1 < n)
        return -err::kRange;
    if (!user_range_ok(a.a0, n))
        return -err::kFault;
    memcpy(reinterpret_cast<void*>(a.a0), cwd, n);
    return static_cast<long>(n);
}

long sys_chdir(const SyscallArgs& a) {
    Resolved res;
    long r = resolve_user(kAtFdcwd, a.a0, res);
    if (r < 0)
        return r;
    if (!res.in_share) {
        if (res.special != Special::RootDir)
            return res.special == Special::None ? -err::kNoEnt : -err::kNotDir;
    } else {
        Stat st;
        abi::HcFs req = path_request(abi::kFsStat, res);
        req.buf = reinterpret_cast<uint64_t>(&st);
        req.len = sizeof st;
        if ((r = fs_call(req)) < 0)
            return r;
        if ((st.mode & kSIfmt) != kSIfDir)
            return -err::kNotDir;
        {
            // getcwd reports the physical directory (after symlinks), as Linux does.
            static char real[abi::kMaxPath];
            abi::HcFs rp = path_request(abi::kFsRealpath, res);
            rp.buf = reinterpret_cast<uint64_t>(real);
            rp.len = sizeof real;
            long n = fs_call(rp);
            if (n >= 0) {
                // cwd = the share's mount point + the physical path inside it.
                static char cwd[abi::kMaxPath];
                size_t mount_len = 0;
                for (uint32_t i = 0; i < boot().mount_count && i < abi::kMaxMounts; ++i)
                    if (boot().mounts[i].share == res.share)
                        mount_len = strlen(boot().mounts[i].guest_path);
                memcpy(cwd, res.abs, mount_len);
                size_t c = mount_len;
                if (n > 0 && c + 1 + static_cast<size_t>(n) < sizeof cwd) {
                    if (c > 1)
                        cwd[c++] = '/';
                    memcpy(cwd + c, real, static_cast<size_t>(n));
                    c += static_cast<size_t>(n);
                }
                return vfs_set_cwd(cwd, c);
            }
        }
    }
    return vfs_set_cwd(res.abs, res.abs_len);
}

long sys_fchdir(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if ((f->kind != FileKind::HostDir && f->kind != FileKind::RootDir) || !f->path)
        return -err::kNotDir;
    return vfs_set_cwd(f->path, strlen(f->path));
}

// ---- metadata ----------------------------------------------------------------

long sys_ftruncate(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if (static_cast<int64_t>(a.a1) < 0)
        return -err::kInval;
    if (f->kind != FileKind::HostFile)
        return f->kind == FileKind::HostDir ? -err::kIsDir : -err::kInval;
    if ((f->flags & kOAccmode) == 0)
        return -err::kInval;  // Linux: EINVAL when not open for writing
    abi::HcFs req = fs_request(abi::kFsTruncate);
    req.handle = f->handle;
    req.offset = static_cast<int64_t>(a.a1);
    return fs_call(req);
}

long sys_truncate(const SyscallArgs& a) {
    if (static_cast<int64_t>(a.a1) < 0)
        return -err::kInval;
    Resolved res;
    long r = resolve_user(kAtFdcwd, a.a0, res);
    if (r < 0)
        return r;
    if ((r = need_share(res, true)) < 0)
        return r;
    abi::HcFs open = path_request(abi::kFsOpen, res);
    open.flags = 01 | kOCloexec;  // O_WRONLY
    long handle = fs_call(open);
    if (handle < 0)
        return handle;
    abi::HcFs req = fs_request(abi::kFsTruncate);
    req.handle = static_cast<uint32_t>(handle);
    req.offset = static_cast<int64_t>(a.a1);
    r = fs_call(req);
    fs_close(static_cast<uint32_t>(handle));
    return r;
}

long sys_utimensat(const SyscallArgs& a) {
    constexpr uint64_t kTimesSize = 32;
    if (a.a2 && !user_range_ok(a.a2, kTimesSize))
        return -err::kFault;
    uint32_t flags = static_cast<uint32_t>(a.a3);
    if (a.a1 == 0) {  // futimens(fd, times)
        OpenFile* f = fd_get(fd_arg(a.a0));
        if (!f)
            return -err::kBadF;
        if (f->kind != FileKind::HostFile && f->kind != FileKind::HostDir)
            return 0;
        abi::HcFs req = fs_request(abi::kFsUtimens);
        req.handle = f->handle;
        req.buf = a.a2;
        return fs_call(req);
    }
    Resolved res;
    long r = resolve_user(fd_arg(a.a0), a.a1, res);
    if (r < 0)
        return r;
    if (!res.in_share)
        return res.special == Special::None ? -err::kNoEnt : 0;
    abi::HcFs req = path_request(abi::kFsUtimens, res);
    req.buf = a.a2;
    req.flags = flags & kAtSymlinkNofollow;
    return fs_call(req);
}

long do_chmod(long dirfd, uint64_t path, uint32_t mode) {
    Resolved res;
    long r = resolve_user(dirfd, path, res);
    if (r < 0)
        return r;
    if ((r = need_share(res, true)) < 0)
        return r;
    abi::HcFs req = redirectable(path_request(abi::kFsChmod, res));
    req.mode = mode & 07777;
    r = fs_call(req);
    RETRY_ON_REDIRECT(r, req, do_chmod(kAtFdcwd, path, mode));
    return r;
}
long sys_chmod(const SyscallArgs& a) { return do_chmod(kAtFdcwd, a.a0, static_cast<uint32_t>(a.a1)); }
long sys_fchmodat(const SyscallArgs& a) {
    return do_chmod(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2));
}
long sys_fchmod(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if (f->kind != FileKind::HostFile && f->kind != FileKind::HostDir)
        return 0;
    abi::HcFs req = fs_request(abi::kFsChmod);
    req.handle = f->handle;
    req.mode = static_cast<uint32_t>(a.a1) & 07777;
    return fs_call(req);
}

// Ownership: the guest has one user and files belong to whoever runs
// lightvm on the host; chown succeeds on existing files and changes nothing.
long chown_path(long dirfd, uint64_t path, uint32_t flags) {
    Stat st;
    return do_stat(dirfd, path, &st, flags & kAtSymlinkNofollow);
}
long sys_chown(const SyscallArgs& a) { return chown_path(kAtFdcwd, a.a0, 0); }
long sys_lchown(const SyscallArgs& a) { return chown_path(kAtFdcwd, a.a0, kAtSymlinkNofollow); }
long sys_fchownat(const SyscallArgs& a) {
    return chown_path(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a4));
}
long sys_fchown(const SyscallArgs& a) { return fd_get(fd_arg(a.a0)) ? 0 : -err::kBadF; }

long sys_mknod(const SyscallArgs&) { return -err::kPerm; }

constexpr uint64_t kStatfsSize = 120;
long statfs_synthetic(uint64_t buf) {
    memset(reinterpret_cast<void*>(buf), 0, kStatfsSize);
    auto* s = reinterpret_cast<int64_t*>(buf);
    s[0] = 0x01021994;  // TMPFS_MAGIC: kernel-provided files
    s[1] = 4096;
    return 0;
}

long sys_statfs(const SyscallArgs& a) {
    if (!user_range_ok(a.a1, kStatfsSize))
        return -err::kFault;
    Resolved res;
    long r = resolve_user(kAtFdcwd, a.a0, res);
    if (r < 0)
        return r;
    if (!res.in_share)
        return res.special == Special::None ? -err::kNoEnt : statfs_synthetic(a.a1);
    abi::HcFs req = path_request(abi::kFsStatfs, res);
    req.buf = a.a1;
    req.len = kStatfsSize;
    return fs_call(req);
}

long sys_fstatfs(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if (!user_range_ok(a.a1, kStatfsSize))
        return -err::kFault;
    if (f->kind != FileKind::HostFile && f->kind != FileKind::HostDir)
        return statfs_synthetic(a.a1);
    abi::HcFs req = fs_request(abi::kFsStatfs);
    req.handle = f->handle;
    req.buf = a.a1;
    req.len = kStatfsSize;
    return fs_call(req);
}

}  // namespace

void register_fs_syscalls(SyscallHandler* t) {
    vfs_init();
    t[kSysOpen] = sys_open;
    t[kSysOpenat] = sys_openat;
    t[kSysCreat] = sys_creat;
    t[kSysStat] = sys_stat;
    t[kSysLstat] = sys_lstat;
    t[kSysNewfstatat] = sys_newfstatat;
    t[kSysStatx] = sys_statx;
    t[kSysAccess] = sys_access;
    t[kSysFaccessat] = sys_faccessat;
    t[kSysFaccessat2] = sys_faccessat2;
    t[kSysGetdents64] = sys_getdents64;
    t[kSysMkdir] = sys_mkdir;
    t[kSysMkdirat] = sys_mkdirat;
    t[kSysUnlink] = sys_unlink;
    t[kSysRmdir] = sys_rmdir;
    t[kSysUnlinkat] = sys_unlinkat;
    t[kSysRename] = sys_rename;
    t[kSysRenameat] = sys_renameat;
    t[kSysRenameat2] = sys_renameat2;
    t[kSysLink] = sys_link;
    t[kSysLinkat] = sys_linkat;
    t[kSysSymlink] = sys_symlink;
    t[kSysSymlinkat] = sys_symlinkat;
    t[kSysReadlink] = sys_readlink;
    t[kSysReadlinkat] = sys_readlinkat;
    t[kSysGetcwd] = sys_getcwd;
    t[kSysChdir] = sys_chdir;
    t[kSysFchdir] = sys_fchdir;
    t[kSysTruncate] = sys_truncate;
    t[kSysFtruncate] = sys_ftruncate;
    t[kSysUtimensat] = sys_utimensat;
    t[kSysChmod] = sys_chmod;
    t[kSysFchmod] = sys_fchmod;
    t[kSysFchmodat] = sys_fchmodat;
    t[kSysChown] = sys_chown;
    t[kSysFchown] = sys_fchown;
    t[kSysLchown] = sys_lchown;
    t[kSysFchownat] = sys_fchownat;
    t[kSysMknod] = sys_mknod;
    t[kSysMknodat] = sys_mknod;
    t[kSysStatfs] = sys_statfs;
    t[kSysFstatfs] = sys_fstatfs;
}

}  // namespace lightvm::guest

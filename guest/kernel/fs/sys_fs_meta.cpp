// Metadata syscalls: truncate, utimensat, chmod, chown (a no-op), mknod
// (refused), statfs.
#include "kernel/errno.hpp"
#include "kernel/fs/attr_cache.hpp"
#include "kernel/fs/dir_cache.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/fsnotify.hpp"
#include "kernel/fs/proc_pid.hpp"
#include "kernel/fs/sys_fs_common.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

using namespace fs_sys;

// ---- metadata ----------------------------------------------------------------

// The file a /dev/fd/N or /proc/PID/fd/N path names: path operations follow
// these links to the open file, as on Linux (chmod /proc/self/fd/3 is an
// fchmod of descriptor 3). nullptr for any other path.
OpenFile* fs_sys::linked_file(const Resolved& res) {
    if (res.special != Special::Fd)
        return nullptr;
    Process* owner = res.pid ? process_find(res.pid) : current_process();
    return owner ? proc_fd_get(owner, res.fd) : nullptr;
}

long sys_ftruncate(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if (static_cast<int64_t>(a.a1) < 0)
        return -err::kInval;
    if (f->kind != FileKind::HostFile && f->kind != FileKind::TmpFile)
        return f->kind == FileKind::HostDir || f->kind == FileKind::TmpDir ? -err::kIsDir : -err::kInval;
    if ((f->flags & O_ACCMODE) == 0)
        return -err::kInval;  // Linux: EINVAL when not open for writing
    if (f->kind == FileKind::TmpFile)
        return file_notify_if(tmpfs_ftruncate(f, static_cast<int64_t>(a.a1)), f, FileEvent::Modify);
    abi::HcFs req = fs_request(abi::kFsTruncate);
    req.handle = f->handle;
    req.offset = static_cast<int64_t>(a.a1);
    return file_notify_if(fs_call(req), f, FileEvent::Modify);
}

static long modified_if(long r, const Resolved& res) {
    if (r == 0)
        fsnotify_modified(res);
    return r;
}

// Who may change a file's attributes (fs/permission.hpp): checked only for a
// process without the capability that would allow it anyway. `check`
// gets the file's attributes; a file that cannot be looked up is left to
// the call.
template <typename F>
static long attr_change_ok(unsigned cap, const Resolved& res, uint32_t flags, F check) {
    Stat st;
    if (capable(cap) || stat_unchecked(res.abs, res.abs_len, &st, flags & AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    return check(st);
}
template <typename F>
static long file_attr_change_ok(unsigned cap, OpenFile* f, F check) {
    Stat st;
    if (capable(cap) || file_stat(f, &st) < 0)
        return 0;
    return check(st);
}

long sys_truncate(const SyscallArgs& a) {
    if (static_cast<int64_t>(a.a1) < 0)
        return -err::kInval;
    Resolved res;
    long r = resolve_user(AT_FDCWD, a.a0, res);
    if (r < 0 || (r = perm_path(res, kMayWrite)) < 0)
        return r;
    if (res.in_tmpfs)
        return modified_if(tmpfs_truncate(res, static_cast<int64_t>(a.a1)), res);
    if ((r = need_share(res, true)) < 0)
        return r;
    abi::HcFs open = path_request(abi::kFsOpen, res);
    open.flags = O_WRONLY | O_CLOEXEC;
    long handle = fs_call(open);
    if (handle < 0)
        return handle;
    abi::HcFs req = fs_request(abi::kFsTruncate);
    req.handle = static_cast<uint32_t>(handle);
    req.offset = static_cast<int64_t>(a.a1);
    r = fs_call(req);
    fs_close(static_cast<uint32_t>(handle));
    return modified_if(r, res);
}

// utimensat with the times already in kernel memory (kt: nullptr is "now").
static long utimens(long dirfd, uint64_t path, const __kernel_timespec* kt, uint32_t flags) {
    static __kernel_timespec times[2];  // the monitor reads kernel memory
    if (kt) {
        times[0] = kt[0];
        times[1] = kt[1];
    }
    uint64_t times_gpa = kt ? kernel_to_gpa(times) : 0;
    // Explicit times need the owner; "now" (both UTIME_NOW too) also write permission.
    const bool explicit_times = kt && !(kt[0].tv_nsec == UTIME_NOW && kt[1].tv_nsec == UTIME_NOW);
    auto allowed = [&](const Stat& st) { return perm_utimes(st, explicit_times); };
    auto on_file = [&](OpenFile* f) -> long {
        if (long r = file_attr_change_ok(CAP_FOWNER, f, allowed); r < 0)
            return r;
        if (f->kind == FileKind::TmpFile || f->kind == FileKind::TmpDir) {
            int64_t ns[2];
            long t = tmpfs_times_from(kt, ns);
            return t < 0 ? t : file_notify_if(tmpfs_futimens(f, t == 1 ? nullptr : ns), f, FileEvent::Attrib);
        }
        if (f->kind != FileKind::HostFile && f->kind != FileKind::HostDir)
            return 0;
        abi::HcFs req = fs_request(abi::kFsUtimens);
        long h = share_dir_handle(f);  // a directory opened from the listing cache
        if (h < 0)
            return h;
        req.handle = static_cast<uint32_t>(h);
        req.buf = times_gpa;
        return file_notify_if(fs_call(req), f, FileEvent::Attrib);
    };
    if (path == 0) {  // futimens(fd, times)
        OpenFile* f = fd_get(dirfd);
        return f ? on_file(f) : -err::kBadF;
    }
    Resolved res;
    long r = resolve_user(dirfd, path, res);
    if (r < 0)
        return r;
    if (OpenFile* f = linked_file(res); f && !(flags & AT_SYMLINK_NOFOLLOW))
        return on_file(f);
    if ((r = attr_change_ok(CAP_FOWNER, res, flags, allowed)) < 0)
        return r;
    if (res.in_tmpfs) {
        int64_t ns[2];
        long t = tmpfs_times_from(kt, ns);
        return t < 0 ? t : fsnotify_attrib_if(tmpfs_utimens(res, t == 1 ? nullptr : ns), res);
    }
    if (!res.in_share)
        return res.special == Special::None ? -err::kNoEnt : 0;
    abi::HcFs req = path_request(abi::kFsUtimens, res);
    req.buf = times_gpa;
    req.flags = flags & AT_SYMLINK_NOFOLLOW;
    return fsnotify_attrib_if(fs_call(req), res);
}

long sys_utimensat(const SyscallArgs& a) {
    __kernel_timespec kt[2];
    if (a.a2 && copy_from_user(kt, a.a2, sizeof kt) < 0)
        return -err::kFault;
    return utimens(fd_arg(a.a0), a.a1, a.a2 ? kt : nullptr, static_cast<uint32_t>(a.a3));
}

// The older forms: utime (whole seconds), utimes and futimesat (struct
// timeval; microseconds out of range are EINVAL). A path is required.
static long utimes_common(long dirfd, uint64_t path, uint64_t user_tv) {
    if (!user_tv)
        return utimens(dirfd, path, nullptr, 0);
    struct timeval tv[2];
    if (copy_from_user(tv, user_tv, sizeof tv) < 0)
        return -err::kFault;
    __kernel_timespec kt[2];
    for (int i = 0; i < 2; ++i) {
        if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
            return -err::kInval;
        kt[i] = {tv[i].tv_sec, tv[i].tv_usec * 1000};
    }
    return utimens(dirfd, path, kt, 0);
}
long sys_utimes(const SyscallArgs& a) {
    if (!a.a0)
        return -err::kFault;
    return utimes_common(AT_FDCWD, a.a0, a.a1);
}
long sys_futimesat(const SyscallArgs& a) {
    if (!a.a1)
        return -err::kFault;
    return utimes_common(fd_arg(a.a0), a.a1, a.a2);
}
long sys_utime(const SyscallArgs& a) {
    if (!a.a0)
        return -err::kFault;
    if (!a.a1)
        return utimens(AT_FDCWD, a.a0, nullptr, 0);
    int64_t t[2];  // struct utimbuf: actime, modtime
    if (copy_from_user(t, a.a1, sizeof t) < 0)
        return -err::kFault;
    __kernel_timespec kt[2] = {{t[0], 0}, {t[1], 0}};
    return utimens(AT_FDCWD, a.a0, kt, 0);
}

static long fchmod_file(OpenFile* f, uint32_t mode);
static long do_chmod(PathArg& p, uint32_t mode) {
    Resolved res;
    for (;;) {
        long r = resolve(p, res);
        if (r < 0)
            return r;
        if (OpenFile* f = linked_file(res))
            return fchmod_file(f, mode);
        if ((r = attr_change_ok(CAP_FOWNER, res, 0, [&](const Stat& st) { return perm_chmod(st, &mode); })) < 0)
            return r;
        if (res.in_tmpfs)
            return fsnotify_attrib_if(tmpfs_chmod(res, mode), res);
        if ((r = need_share(res, true)) < 0)
            return r;
        abi::HcFs req = redirectable(p, path_request(abi::kFsChmod, res));
        req.mode = mode & 07777;
        r = fs_call(req);
        if (!follow_redirect(p, &r, req))
            return fsnotify_attrib_if(r, res);
    }
}
static long chmod_user(long dirfd, uint64_t path, uint32_t mode) {
    return with_user_path(dirfd, path, [&](PathArg& p) { return do_chmod(p, mode); });
}
long sys_chmod(const SyscallArgs& a) { return chmod_user(AT_FDCWD, a.a0, static_cast<uint32_t>(a.a1)); }
long sys_fchmodat(const SyscallArgs& a) {
    return chmod_user(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2));
}
static long fchmod_file(OpenFile* f, uint32_t mode) {
    if (long r = file_attr_change_ok(CAP_FOWNER, f, [&](const Stat& st) { return perm_chmod(st, &mode); }); r < 0)
        return r;
    if (f->kind == FileKind::TmpFile || f->kind == FileKind::TmpDir)
        return file_notify_if(tmpfs_fchmod(f, mode), f, FileEvent::Attrib);
    if (f->kind != FileKind::HostFile && f->kind != FileKind::HostDir)
        return 0;
    abi::HcFs req = fs_request(abi::kFsChmod);
    long h = share_dir_handle(f);  // a directory opened from the listing cache
    if (h < 0)
        return h;
    req.handle = static_cast<uint32_t>(h);
    req.mode = mode & 07777;
    return file_notify_if(fs_call(req), f, FileEvent::Attrib);
}
long sys_fchmod(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    return f ? fchmod_file(f, static_cast<uint32_t>(a.a1)) : -err::kBadF;
}

// Ownership: in a share the host decides (the monitor passes chown through;
// without CAP_CHOWN there it may only keep the owner or pick one of its
// groups), and its EPERM reaches the program: never a silent no-op. The
// kernel's own files belong to root and stay so: asking for no change
// succeeds, anything else is EPERM.
static int64_t id_arg(uint64_t reg) { return static_cast<int32_t>(static_cast<uint32_t>(reg)); }  // -1: keep

static long chown_kernel_file(int64_t uid, int64_t gid) {
    return (uid == -1 || uid == 0) && (gid == -1 || gid == 0) ? 0 : -err::kPerm;
}

static long fchown_file(OpenFile* f, int64_t uid, int64_t gid);
static long do_chown(PathArg& p, int64_t uid, int64_t gid, uint32_t flags) {
    Resolved res;
    for (;;) {
        long r = resolve(p, res);
        if (r < 0)
            return r;
        if (OpenFile* f = linked_file(res); f && !(flags & AT_SYMLINK_NOFOLLOW))
            return fchown_file(f, uid, gid);
        if ((r = attr_change_ok(CAP_CHOWN, res, flags, [&](const Stat& st) { return perm_chown(st, uid, gid); })) < 0)
            return r;
        if (res.in_tmpfs)
            return fsnotify_attrib_if(tmpfs_chown(res, uid, gid), res);
        if (!res.in_share)
            return chown_kernel_file(uid, gid);  // resolved: it exists
        abi::HcFs req = redirectable(p, path_request(abi::kFsChown, res));
        req.offset = uid;
        req.offset2 = gid;
        req.flags = flags & AT_SYMLINK_NOFOLLOW;
        r = fs_call(req);
        if (!follow_redirect(p, &r, req))
            return fsnotify_attrib_if(r, res);
    }
}
static long fchown_fd(long fd, int64_t uid, int64_t gid);
static long chown_user(long dirfd, uint64_t path, uint64_t uid, uint64_t gid, uint32_t flags) {
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -err::kInval;
    PathArg p;
    long r = path_from_user(p, dirfd, path);
    if (r < 0)
        return r;
    if (p.len == 0 && (flags & AT_EMPTY_PATH) && dirfd != AT_FDCWD)
        return fchown_fd(dirfd, id_arg(uid), id_arg(gid));
    return do_chown(p, id_arg(uid), id_arg(gid), flags);
}
long sys_chown(const SyscallArgs& a) { return chown_user(AT_FDCWD, a.a0, a.a1, a.a2, 0); }
long sys_lchown(const SyscallArgs& a) { return chown_user(AT_FDCWD, a.a0, a.a1, a.a2, AT_SYMLINK_NOFOLLOW); }
long sys_fchownat(const SyscallArgs& a) {
    return chown_user(fd_arg(a.a0), a.a1, a.a2, a.a3, static_cast<uint32_t>(a.a4));
}
static long fchown_fd(long fd, int64_t uid, int64_t gid) {
    OpenFile* f = fd_get(fd);
    return f ? fchown_file(f, uid, gid) : -err::kBadF;
}
static long fchown_file(OpenFile* f, int64_t uid, int64_t gid) {
    if (long r = file_attr_change_ok(CAP_CHOWN, f, [&](const Stat& st) { return perm_chown(st, uid, gid); }); r < 0)
        return r;
    if (f->kind == FileKind::TmpFile || f->kind == FileKind::TmpDir)
        return file_notify_if(tmpfs_fchown(f, uid, gid), f, FileEvent::Attrib);
    if (f->kind != FileKind::HostFile && f->kind != FileKind::HostDir)
        return chown_kernel_file(uid, gid);
    abi::HcFs req = fs_request(abi::kFsChown);
    long h = share_dir_handle(f);  // a directory opened from the listing cache
    if (h < 0)
        return h;
    req.handle = static_cast<uint32_t>(h);
    req.offset = uid;
    req.offset2 = gid;
    return file_notify_if(fs_call(req), f, FileEvent::Attrib);
}
long sys_fchown(const SyscallArgs& a) { return fchown_fd(fd_arg(a.a0), id_arg(a.a1), id_arg(a.a2)); }

// mknod/mknodat: regular files, FIFOs and socket nodes in shares (the host
// keeps the name; a FIFO's data lives in the guest, fs/pipe.cpp). Device
// nodes are EPERM (a VM's kernel hands out no host devices). man 2 mknod.
static long do_mknod(PathArg& p, uint32_t mode) {
    uint32_t type = mode & S_IFMT;
    if (type == 0)
        type = S_IFREG;
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK)
        return -err::kInval;
    Resolved res;
    for (;;) {
        long r = resolve(p, res);
        if (r < 0 || (r = perm_create(res)) < 0)
            return r;
        if (res.in_tmpfs)
            return fsnotify_created_if(tmpfs_mknod(res, type | (mode & 07777)), res, false);
        if (!res.in_share)
            return res.special == Special::None ? -err::kNoEnt : -err::kExist;
        if (type == S_IFCHR || type == S_IFBLK)
            return res.read_only ? -err::kRoFs : -err::kPerm;
        abi::HcFs req = owned(redirectable(p, path_request(abi::kFsMknod, res)));
        req.mode = type | (mode & 07777 & ~current_umask());
        dir_cache_forget(res.abs, res.abs_len);
        r = fs_call(req);
        if (!follow_redirect(p, &r, req))
            return fsnotify_created_if(r, res, false);
    }
}
long sys_mknod(const SyscallArgs& a) {
    auto mode = static_cast<uint32_t>(a.a1);
    return with_user_path(AT_FDCWD, a.a0, [&](PathArg& p) { return do_mknod(p, mode); });
}
long sys_mknodat(const SyscallArgs& a) {
    auto mode = static_cast<uint32_t>(a.a2);
    return with_user_path(fd_arg(a.a0), a.a1, [&](PathArg& p) { return do_mknod(p, mode); });
}

// fallocate: passed to the host file for files in shares, with the modes
// its file system supports (EOPNOTSUPP otherwise). man 2 fallocate.
long sys_fallocate(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    auto offset = static_cast<int64_t>(a.a2), len = static_cast<int64_t>(a.a3);
    if (offset < 0 || len <= 0)
        return -err::kInval;
    if (offset > INT64_MAX - len)
        return -err::kFBig;
    if ((f->flags & O_ACCMODE) == O_RDONLY)
        return -err::kBadF;
    switch (f->kind) {
    case FileKind::HostFile:
        break;
    case FileKind::TmpFile:
        return file_notify_if(tmpfs_fallocate(f, static_cast<uint32_t>(a.a1), offset, len), f, FileEvent::Modify);
    case FileKind::HostDir:
    case FileKind::SynthDir:
    case FileKind::TmpDir:
        return -err::kIsDir;
    case FileKind::PipeRead:
    case FileKind::PipeWrite:
    case FileKind::Fifo:
        return -err::kSPipe;
    case FileKind::Block:
        return -err::kOpNotSupp;
    default:
        return -err::kNoDev;
    }
    abi::HcFs req = fs_request(abi::kFsFallocate);
    req.handle = f->handle;
    req.flags = static_cast<uint32_t>(a.a1);
    req.offset = offset;
    req.len = static_cast<uint64_t>(len);
    return file_notify_if(fs_call(req), f, FileEvent::Modify);
}

constexpr uint64_t kStatfsSize = sizeof(struct statfs);
static long statfs_synthetic(uint64_t buf) {
    struct statfs s{};
    s.f_type = TMPFS_MAGIC;  // kernel-provided files
    s.f_bsize = 4096;
    s.f_namelen = 255;
    return copy_to_user(buf, &s, sizeof s) < 0 ? -err::kFault : 0;
}

// The monitor fills a kernel buffer; the program gets a copy.
static long statfs_call(abi::HcFs req, uint64_t buf) {
    static struct statfs out;
    req.buf = kernel_to_gpa(&out);
    req.len = kStatfsSize;
    long r = fs_call(req);
    if (r == 0 && copy_to_user(buf, &out, kStatfsSize) < 0)
        return -err::kFault;
    return r;
}

long sys_statfs(const SyscallArgs& a) {
    if (!access_ok(a.a1, kStatfsSize))
        return -err::kFault;
    Resolved res;
    long r = resolve_user(AT_FDCWD, a.a0, res);
    if (r < 0)
        return r;
    if (res.in_tmpfs)
        return tmpfs_statfs(res, a.a1);
    if (!res.in_share)
        return res.special == Special::None ? -err::kNoEnt : statfs_synthetic(a.a1);
    return statfs_call(path_request(abi::kFsStatfs, res), a.a1);
}

long sys_fstatfs(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if (!access_ok(a.a1, kStatfsSize))
        return -err::kFault;
    if (f->kind == FileKind::TmpFile || f->kind == FileKind::TmpDir)
        return tmpfs_fstatfs(f, a.a1);
    if (f->kind != FileKind::HostFile && f->kind != FileKind::HostDir)
        return statfs_synthetic(a.a1);
    abi::HcFs req = fs_request(abi::kFsStatfs);
    long h = share_dir_handle(f);  // a directory opened from the listing cache
    if (h < 0)
        return h;
    req.handle = static_cast<uint32_t>(h);
    return statfs_call(req, a.a1);
}

}  // namespace lightvm::guest

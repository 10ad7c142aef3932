// Directory and name syscalls: getdents64, mkdir, unlink/rmdir, rename,
// link, symlink, readlink, getcwd, chdir, fchdir.
#include "kernel/errno.hpp"
#include "kernel/fs/attr_cache.hpp"
#include "kernel/fs/dir_cache.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/fsnotify.hpp"
#include "kernel/fs/proc_pid.hpp"
#include "kernel/fs/synthetic_dirs.hpp"
#include "kernel/fs/sys_fs_common.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

using namespace fs_sys;

// ---- directories ------------------------------------------------------------

// A kernel directory's listing (fs/synthetic_dirs.hpp); the offset is the
// index of the next entry. Records are built in a kernel buffer and copied
// out, one at a time.
static long synth_getdents(OpenFile* f, uint64_t buf, uint64_t len) {
    uint64_t used = 0;
    DirEntry e;
    while (synthetic_dir_entry(f->path, static_cast<uint32_t>(f->offset), &e)) {
        uint8_t rec[offsetof(linux_dirent64, d_name) + 256 + 8] = {};
        size_t n = e.len < 255 ? e.len : 255;
        uint64_t reclen = (offsetof(linux_dirent64, d_name) + n + 1 + 7) & ~uint64_t{7};
        if (used + reclen > len)
            return used ? static_cast<long>(used) : -err::kInval;
        uint64_t off = f->offset + 1;
        memcpy(rec + offsetof(linux_dirent64, d_ino), &e.ino, 8);
        memcpy(rec + offsetof(linux_dirent64, d_off), &off, 8);
        uint16_t rl = static_cast<uint16_t>(reclen);
        memcpy(rec + offsetof(linux_dirent64, d_reclen), &rl, 2);
        rec[offsetof(linux_dirent64, d_type)] = e.type;
        memcpy(rec + offsetof(linux_dirent64, d_name), e.name, n);
        if (copy_to_user(buf + used, rec, reclen) < 0)
            return -err::kFault;
        used += reclen;
        f->offset++;
    }
    return static_cast<long>(used);
}

// getdents through the host handle, with each name's attributes
// (kFsGetdentsPlus): a directory too large to list ahead, or re-read.
static long host_getdents(OpenFile* f, uint64_t user_buf, uint64_t want) {
    long handle = share_dir_handle(f);
    if (handle < 0)
        return handle;
    // Records land in a kernel buffer (contiguous for the monitor), then
    // go to the program; a shorter read than asked for is fine for getdents.
    // In guest RAM on first use: the kernel image's room is fixed.
    constexpr uint64_t kRecords = 65536;
    static uint8_t* records = nullptr;
    if (!records && !(records = static_cast<uint8_t*>(kmem_alloc(kRecords))))
        return -err::kNoMem;
    uint64_t len = want < kRecords ? want : kRecords;
    if (!access_ok_write(user_buf, len))
        return -err::kFault;
    abi::HcFs req = fs_request(abi::kFsGetdents);
    req.handle = static_cast<uint32_t>(handle);
    req.buf = kernel_to_gpa(records);
    req.len = len;
    uint32_t cap = 0;
    Stat* stats = f->path ? attr_scratch(&cap) : nullptr;
    uint32_t link_cap = 0;
    uint8_t* links = stats ? attr_link_scratch(&link_cap) : nullptr;
    if (stats) {
        req.op = abi::kFsGetdentsPlus;
        req.offset2 = static_cast<int64_t>(virt_to_gpa(stats));
        req.mode = cap;
    }
    if (links) {
        req.options |= abi::kFsOptLinks;
        req.path2 = virt_to_gpa(links);
        req.path2_len = link_cap;
    }
    long n = fs_call(req);
    if (n > 0 && copy_to_user(user_buf, records, static_cast<size_t>(n)) < 0)
        return -err::kFault;
    if (n <= 0 || !stats)
        return n;
    const uint64_t links_len = links && req.aux <= link_cap ? req.aux : 0;
    dir_remember_names(f->path, strlen(f->path), records, static_cast<uint64_t>(n), stats, cap, links, links_len);
    return n;
}

long sys_getdents64(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if (!access_ok(a.a1, a.a2))
        return -err::kFault;
    if (f->kind == FileKind::SynthDir)
        return synth_getdents(f, a.a1, a.a2);
    if (f->kind == FileKind::TmpDir)
        return tmpfs_getdents(f, a.a1, a.a2);
    if (f->kind != FileKind::HostDir)
        return -err::kNotDir;
    if (f->listing)
        return dir_listing_read(f, a.a1, a.a2);
    if (f->dir_fresh) {  // the whole listing, and what is below, in one exit
        f->dir_fresh = false;
        if (dir_listing_adopt(f) ||
            (dir_cache_fetch(f) && dir_listing_adopt(f)))
            return dir_listing_read(f, a.a1, a.a2);
    }
    return host_getdents(f, a.a1, a.a2);
}

static long do_mkdir(PathArg& p, uint32_t mode) {
    Resolved res;
    for (;;) {
        long r = resolve(p, res);
        if (r < 0 || (r = perm_create(res)) < 0)
            return r;
        if (res.in_tmpfs)
            return fsnotify_created_if(tmpfs_mkdir(res, mode), res, true);
        if (!res.in_share)
            return res.special == Special::None ? -err::kNoEnt : -err::kExist;
        abi::HcFs req = owned(redirectable(p, path_request(abi::kFsMkdir, res)));
        req.mode = mode & 07777 & ~current_umask();
        dir_cache_forget(res.abs, res.abs_len);
        r = fs_call(req);
        if (!follow_redirect(p, &r, req))
            return fsnotify_created_if(r, res, true);
    }
}
static long mkdir_user(long dirfd, uint64_t path, uint32_t mode) {
    return with_user_path(dirfd, path, [&](PathArg& p) { return do_mkdir(p, mode); });
}
long sys_mkdir(const SyscallArgs& a) { return mkdir_user(AT_FDCWD, a.a0, static_cast<uint32_t>(a.a1)); }
long sys_mkdirat(const SyscallArgs& a) {
    return mkdir_user(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2));
}

static long removed_if(long r, const NotifyName& gone) {
    if (r == 0)
        fsnotify_removed(gone);
    return r;
}

static long do_unlink(PathArg& p, uint32_t flags) {
    // Linux refuses "." and ".." as the last component before looking anything up.
    int dots = last_component_dots(p.buf, p.len);
    Resolved res;
    for (;;) {
        long r = resolve(p, res);
        if (r < 0)
            return r;
        if (dots)
            return (flags & AT_REMOVEDIR) ? (dots == 1 ? -err::kInval : -err::kNotEmpty) : -err::kIsDir;
        if ((r = perm_unlink(res)) < 0)
            return r;
        static NotifyName gone;
        fsnotify_lookup(res, gone);
        if (res.in_tmpfs)
            return removed_if(tmpfs_unlink(res, flags & AT_REMOVEDIR), gone);
        if ((r = need_share(res, true)) < 0)
            return r;
        if (res.rel_len == 0)
            return -err::kBusy;  // a mount point
        abi::HcFs req = redirectable(p, path_request(abi::kFsUnlink, res));
        req.flags = flags;
        dir_cache_forget(res.abs, res.abs_len);
        r = fs_call(req);
        if (!follow_redirect(p, &r, req))
            return removed_if(r, gone);
    }
}
static long unlink_user(long dirfd, uint64_t path, uint32_t flags) {
    if (flags & ~AT_REMOVEDIR)
        return -err::kInval;
    return with_user_path(dirfd, path, [&](PathArg& p) { return do_unlink(p, flags); });
}
long sys_unlink(const SyscallArgs& a) { return unlink_user(AT_FDCWD, a.a0, 0); }
long sys_rmdir(const SyscallArgs& a) { return unlink_user(AT_FDCWD, a.a0, AT_REMOVEDIR); }
long sys_unlinkat(const SyscallArgs& a) {
    return unlink_user(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2));
}

// What a rename moves and replaces, looked up before it (for inotify).
static NotifyName rename_from, rename_replaced;

static long two_paths_done(long r, uint32_t op, const Resolved& res, const Resolved& res2) {
    if (r == 0 && op == abi::kFsLink)
        fsnotify_linked(res, res2);
    if (r == 0 && op == abi::kFsRename)
        fsnotify_moved(rename_from, rename_replaced, res2);
    return r;
}

static long two_paths(uint32_t op, long dfd1, uint64_t p1, long dfd2, uint64_t p2, uint32_t flags) {
    static Resolved res2;  // big; the kernel stack is small and we are single-threaded
    Resolved res;
    long r = resolve_user(dfd1, p1, res);
    if (r < 0)
        return r;
    if ((r = resolve_user(dfd2, p2, res2)) < 0)
        return r;
    if ((r = op == abi::kFsRename ? perm_rename(res, res2) : perm_link(res, res2)) < 0)
        return r;
    if (op == abi::kFsRename) {
        fsnotify_lookup(res, rename_from);
        fsnotify_lookup(res2, rename_replaced);
    }
    if (res.in_tmpfs || res2.in_tmpfs) {
        if (!res.in_tmpfs || !res2.in_tmpfs)
            return res.in_share || res2.in_share ? -err::kXDev : -err::kPerm;
        return two_paths_done(op == abi::kFsRename ? tmpfs_rename(res, res2, flags) : tmpfs_link(res, res2), op,
                              res, res2);
    }
    if ((r = need_share(res, true)) < 0 || (r = need_share(res2, true)) < 0)
        return r;
    // A mount point (a share's root: a directory or a bind-mounted file)
    // is EBUSY to rename or to replace, whichever share the other side is
    // in (Linux finds it busy before comparing mounts); link is EXDEV below.
    if (op == abi::kFsRename && (res.rel_len == 0 || res2.rel_len == 0))
        return -err::kBusy;
    if (res.share != res2.share)
        return -err::kXDev;
    if (res.rel_len == 0 || res2.rel_len == 0)
        return -err::kBusy;
    abi::HcFs req = path_request(op, res);
    req.share2 = res2.share;
    req.path2 = kernel_to_gpa(res2.rel);
    req.path2_len = res2.rel_len;
    req.flags = flags;
    return two_paths_done(fs_call(req), op, res, res2);
}
long sys_rename(const SyscallArgs& a) { return two_paths(abi::kFsRename, AT_FDCWD, a.a0, AT_FDCWD, a.a1, 0); }
long sys_renameat(const SyscallArgs& a) {
    return two_paths(abi::kFsRename, fd_arg(a.a0), a.a1, fd_arg(a.a2), a.a3, 0);
}
long sys_renameat2(const SyscallArgs& a) {
    return two_paths(abi::kFsRename, fd_arg(a.a0), a.a1, fd_arg(a.a2), a.a3,
                     static_cast<uint32_t>(a.a4));
}
long sys_link(const SyscallArgs& a) { return two_paths(abi::kFsLink, AT_FDCWD, a.a0, AT_FDCWD, a.a1, 0); }
// AT_SYMLINK_FOLLOW links the file a final symlink names (the monitor
// resolves it inside the share); AT_EMPTY_PATH is not supported (ENOENT).
long sys_linkat(const SyscallArgs& a) {
    auto flags = static_cast<uint32_t>(a.a4);
    if (flags & ~static_cast<uint32_t>(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -err::kInval;
    return two_paths(abi::kFsLink, fd_arg(a.a0), a.a1, fd_arg(a.a2), a.a3, flags & AT_SYMLINK_FOLLOW);
}

static long do_symlink(uint64_t target_addr, long dirfd, uint64_t link_path) {
    char target[abi::kMaxPath];
    size_t tlen;
    long r = copy_user_path(target_addr, target, &tlen);
    if (r < 0)
        return r;
    if (tlen == 0)
        return -err::kNoEnt;
    Resolved res;
    if ((r = resolve_user(dirfd, link_path, res)) < 0 || (r = perm_create(res)) < 0)
        return r;
    if (res.in_tmpfs)
        return -err::kPerm;  // tmpfs has no symbolic links yet (docs/compat.md)
    if ((r = need_share(res, true)) < 0)
        return r;
    abi::HcFs req = owned(path_request(abi::kFsSymlink, res));
    req.path2 = kernel_to_gpa(target);  // text, stored as is
    req.path2_len = tlen;
    dir_cache_forget(res.abs, res.abs_len);
    return fsnotify_created_if(fs_call(req), res, false);
}
long sys_symlink(const SyscallArgs& a) { return do_symlink(a.a0, AT_FDCWD, a.a1); }
long sys_symlinkat(const SyscallArgs& a) { return do_symlink(a.a0, fd_arg(a.a1), a.a2); }

static long do_readlink(PathArg& p, uint64_t buf, uint64_t size) {
    Resolved res;
    for (;;) {
        long r = resolve(p, res);
        if (r < 0)
            return r;
        if (res.link != ProcLink::None) {  // /proc/self, /proc/PID/{cwd,exe,fd/N}
            static char text[abi::kMaxPath];
            size_t n = 0;
            const char* t = proc_link_text(res, text, sizeof text, &n);
            if (!t)
                return -err::kNoEnt;  // a zombie's cwd or exe
            // Paths read as seen from the reader's root (after chroot), as
            // Linux's d_path; one outside it stays as it is.
            static char seen[abi::kMaxPath + 16];
            size_t m = t[0] == '/' ? vfs_path_in_root(t, n, seen, sizeof seen) : 0;
            if (m && seen[0] == '/') {
                t = seen;
                n = m;
            }
            if (n > size)
                n = size;
            return copy_to_user(buf, t, n) < 0 ? -err::kFault : static_cast<long>(n);
        }
        if (res.in_tmpfs) {
            Stat st;
            return (r = tmpfs_stat(res, &st)) < 0 ? r : -err::kInval;  // never a link
        }
        if (!res.in_share)
            return res.special == Special::None ? -err::kNoEnt : -err::kInval;
        static char target[abi::kMaxPath];
        // Listed a moment ago with its directory (`ls -l`): no exit.
        if (long cached = attr_get_link(res.abs, res.abs_len, target, size < sizeof target ? size : sizeof target);
            cached >= 0)
            return copy_to_user(buf, target, static_cast<size_t>(cached)) < 0 ? -err::kFault : cached;
        abi::HcFs req = redirectable(p, path_request(abi::kFsReadlink, res));
        req.buf = kernel_to_gpa(target);
        req.len = size < sizeof target ? size : sizeof target;
        r = fs_call(req);
        if (follow_redirect(p, &r, req))
            continue;
        if (r > 0 && copy_to_user(buf, target, static_cast<size_t>(r)) < 0)
            return -err::kFault;
        return r;
    }
}
static long readlink_user(long dirfd, uint64_t path, uint64_t buf, uint64_t size) {
    if (static_cast<int64_t>(size) <= 0)
        return -err::kInval;
    if (!access_ok(buf, size))
        return -err::kFault;
    return with_user_path(dirfd, path, [&](PathArg& p) { return do_readlink(p, buf, size); });
}
long sys_readlink(const SyscallArgs& a) { return readlink_user(AT_FDCWD, a.a0, a.a1, a.a2); }
long sys_readlinkat(const SyscallArgs& a) { return readlink_user(fd_arg(a.a0), a.a1, a.a2, a.a3); }

long sys_getcwd(const SyscallArgs& a) {
    static char seen[abi::kMaxPath + 16];  // as the process sees it (after chroot)
    const char* cwd = vfs_cwd();
    size_t n = vfs_path_in_root(cwd, strlen(cwd), seen, sizeof seen);
    if (n == 0)
        return -err::kNameTooLong;
    if (a.a1 < n + 1)
        return -err::kRange;
    return copy_to_user(a.a0, seen, n + 1) < 0 ? -err::kFault : static_cast<long>(n + 1);
}

// The directory a user path names, as an absolute guest path after
// symlinks (*abs points into static memory), for chdir and chroot.
static long resolve_dir(uint64_t user_path, const char** abs, size_t* len) {
    static Resolved res;
    long r = resolve_user(AT_FDCWD, user_path, res);
    if (r < 0 || (r = perm_path(res, kMayExec)) < 0)
        return r;
    *abs = res.abs;
    *len = res.abs_len;
    if (res.in_tmpfs) {
        if ((r = tmpfs_is_dir(res)) < 0)
            return r;
    } else if (!res.in_share) {
        if (res.special != Special::SynthDir)
            return res.special == Special::None ? -err::kNoEnt : -err::kNotDir;
    } else {
        // One exit: the monitor checks it is a directory and says where it
        // physically is (getcwd reports that, after symlinks, as Linux does).
        static char real[abi::kMaxPath];
        abi::HcFs rp = path_request(abi::kFsRealpath, res);
        rp.buf = kernel_to_gpa(real);
        rp.len = sizeof real;
        long n = fs_call(rp);
        if (n < 0)
            return n;
        // cwd = the share's mount point + the physical path inside it.
        static char cwd[abi::kMaxPath];
        size_t c = 0;
        for (uint32_t i = 0; i < boot().mount_count && i < abi::kMaxMounts; ++i)
            if (boot().mounts[i].share == res.share)
                c = strlen(boot().mounts[i].guest_path);
        memcpy(cwd, res.abs, c);  // abs starts with the mount point that matched
        if (n > 0 && c + 1 + static_cast<size_t>(n) >= sizeof cwd)
            return -err::kNameTooLong;
        if (n > 0) {
            if (c > 1)
                cwd[c++] = '/';
            memcpy(cwd + c, real, static_cast<size_t>(n));
            c += static_cast<size_t>(n);
        }
        cwd[c] = 0;
        *abs = cwd;
        *len = c;
    }
    return 0;
}

long sys_chdir(const SyscallArgs& a) {
    const char* abs;
    size_t len;
    long r = resolve_dir(a.a0, &abs, &len);
    return r < 0 ? r : vfs_set_cwd(abs, len);
}

// chroot: root only (CAP_SYS_CHROOT); the working directory stays where it
// is, as on Linux (even outside the new root). man 2 chroot.
long sys_chroot(const SyscallArgs& a) {
    const char* abs;
    size_t len;
    long r = resolve_dir(a.a0, &abs, &len);
    if (r < 0)
        return r;
    if (!capable(CAP_SYS_CHROOT))
        return -err::kPerm;
    return vfs_set_root(abs, len);
}

long sys_fchdir(const SyscallArgs& a) {
    OpenFile* f = fd_get(fd_arg(a.a0));
    if (!f)
        return -err::kBadF;
    if ((f->kind != FileKind::HostDir && f->kind != FileKind::SynthDir && f->kind != FileKind::TmpDir) || !f->path)
        return -err::kNotDir;
    Stat st;
    if (perm_restricted() && file_stat(f, &st) == 0)
        if (long r = perm_may(st, kMayExec); r < 0)
            return r;
    return vfs_set_cwd(f->path, strlen(f->path));
}

}  // namespace lightvm::guest

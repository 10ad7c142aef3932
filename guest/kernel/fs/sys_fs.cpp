// Path-based syscalls: open, stat, statx, access. Paths resolve in vfs.cpp;
// host directories are served by the monitor (fs_client.cpp); the
// directory/name and metadata calls live in sys_fs_dirs.cpp and sys_fs_meta.cpp.
#include "kernel/errno.hpp"
#include "kernel/fs/attr_cache.hpp"
#include "kernel/fs/dir_cache.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/fs_client.hpp"
#include "kernel/fs/fsnotify.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/fs/kernel_open.hpp"
#include "kernel/fs/page_cache.hpp"
#include "kernel/fs/pipe.hpp"
#include "kernel/fs/proc_pid.hpp"
#include "kernel/fs/reopen.hpp"
#include "kernel/fs/synthetic_dirs.hpp"
#include "kernel/fs/sys_fs_common.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/proc_maps.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/dev/console_node.hpp"
#include "kernel/tty/ctty.hpp"
#include "kernel/tty/pty.hpp"
#include "kernel/tty/pty_pool.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

using namespace fs_sys;

// ---- open -----------------------------------------------------------------

static long install(OpenFile* f, uint32_t flags) {
    long fd = fd_install(f, 0, flags & O_CLOEXEC);
    if (fd < 0)
        file_put(f);
    return fd;
}

// /dev/fd/N and friends: a new open of the same file, as on Linux
// (fs/reopen.cpp); the console, /proc text files and event files share the
// descriptor's open file description instead.
static long dup_fd(const Resolved& res, uint32_t flags) {
    Process* owner = res.pid ? process_find(res.pid) : current_process();
    OpenFile* f = owner ? proc_fd_get(owner, res.fd) : nullptr;  // /proc/PID/fd/N: another process's table
    if (!f)
        return -err::kNoEnt;
    OpenFile* nf;
    long r = reopen_file(f, flags, &nf);
    if (r <= 0)
        return r < 0 ? r : install(nf, flags);
    if ((flags & O_DIRECTORY) && f->kind != FileKind::HostDir && f->kind != FileKind::SynthDir)
        return -err::kNotDir;
    file_get(f);
    return install(f, flags);
}

// /proc/mounts in the kernel's usual format, built once from the boot page.
static const char* proc_mounts_text(uint32_t* len) {
    static char text[2048];
    static uint32_t n;
    if (n == 0) {
        auto put = [&](const char* s) {
            while (*s && n + 1 < sizeof text)
                text[n++] = *s++;
        };
        for (uint32_t i = 0; i < boot().mount_count && i < abi::kMaxMounts; ++i) {
            char share[16] = "lightvm-share0";
            share[13] = static_cast<char>('0' + (i % 10));
            put(share);
            put(" ");
            put(boot().mounts[i].guest_path);
            put(" lightvmfs ");
            put((boot().mounts[i].flags & abi::kDevReadOnly) ? "ro" : "rw");
            put(" 0 0\n");
        }
        for (uint32_t i = 0; i < tmpfs_count(); ++i) {
            put("tmpfs ");
            put(tmpfs_path(i));
            put(" tmpfs rw 0 0\n");
        }
    }
    *len = n;
    return text;
}

// /dev/tty is the caller's controlling terminal: its session's pty or the
// console; ENXIO without one, as Linux.
static long open_tty(uint32_t flags) {
    if (Pty* p = ctty_pty_of_caller()) {
        OpenFile* f;
        long r = pty_open_slave(p, flags | O_NOCTTY, &f);
        if (r < 0)
            return r;
        f->device = kPtyAsDevTty;
        return install(f, flags);
    }
    if (!ctty_is_callers(console_ctty()))
        return -err::kNxio;
    OpenFile* f = file_alloc(FileKind::Stdin, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (!f)
        return -err::kNFile;
    return install(f, flags);
}

static FileKind special_kind(Special s) {
    switch (s) {
    case Special::DevNull: return FileKind::DevNull;
    case Special::DevZero: return FileKind::DevZero;
    case Special::DevFull: return FileKind::DevFull;
    case Special::DevRandom: return FileKind::DevRandom;
    case Special::Block: return FileKind::Block;
    case Special::SynthDir: return FileKind::SynthDir;
    case Special::DevPtmx: return FileKind::PtyMaster;
    case Special::PtsSlave: return FileKind::PtySlave;
    default: return FileKind::Free;
    }
}

static long open_special(const Resolved& res, uint32_t flags, uint32_t mode) {
    if (res.in_tmpfs) {
        OpenFile* f;
        long r = tmpfs_open(res, flags, mode, &f);
        return r < 0 ? r : install(f, flags);
    }
    uint32_t keep = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK);
    bool writing = (flags & O_ACCMODE) != 0 || (flags & O_TRUNC);
    if ((flags & O_CREAT) && (flags & O_EXCL))
        return -err::kExist;
    switch (res.special) {
    case Special::Fd:
        return dup_fd(res, flags);
    case Special::DevTty:
        return open_tty(flags);
    case Special::DevConsole: {
        OpenFile* f;
        long r = console_node_open(flags, &f);
        return r < 0 ? r : install(f, flags);
    }
    case Special::DevPtmx:
    case Special::PtsSlave: {
        OpenFile* f;
        Pty* p = res.special == Special::PtsSlave ? pty_find(res.minor) : nullptr;
        long r = p ? pty_open_slave(p, flags, &f) : res.special == Special::DevPtmx ? pty_open_master(flags, &f) : -err::kNoEnt;
        return r < 0 ? r : install(f, flags);
    }
    case Special::Block:
        if (writing && (boot().devices[res.block].flags & abi::kDevReadOnly))
            return -err::kRoFs;
        break;
    case Special::SynthDir:
        if (writing)
            return -err::kIsDir;
        break;
    case Special::ProcMounts: {
        if (writing)
            return -err::kAcces;
        OpenFile* f = file_alloc(FileKind::Synthetic, 0);
        if (!f)
            return -err::kNFile;
        f->text = proc_mounts_text(&f->text_len);
        f->device = static_cast<uint32_t>(ident::kInoProcMounts);
        return install(f, flags);
    }
    case Special::ProcMaps: {
        if (writing)
            return -err::kAcces;
        OpenFile* f = file_alloc(FileKind::Synthetic, 0);
        if (!f)
            return -err::kNFile;
        // A snapshot at open, as a reader that reads it whole sees on Linux.
        Process* owner = res.pid ? process_find(res.pid) : current_process();
        char* text = owner && owner->mm ? proc_maps_text(*owner->mm, &f->text_len, &f->text_cap)
                                        : static_cast<char*>(kmem_alloc(f->text_cap = 1));  // a zombie: empty
        if (!text) {
            file_put(f);
            return -err::kNoMem;
        }
        f->text = text;
        return install(f, flags);
    }
    case Special::ProcText: {
        if (res.proc == ProcFile::ReadyMark) {  // write-only, as its mode says
            if ((flags & O_ACCMODE) != O_WRONLY)
                return -err::kAcces;
            OpenFile* f = file_alloc(FileKind::ReadyMark, O_WRONLY);
            return f ? install(f, flags) : -err::kNFile;
        }
        if (writing)
            return -err::kAcces;
        OpenFile* f = file_alloc(FileKind::Synthetic, 0);
        if (!f)
            return -err::kNFile;
        const char* text = proc_file_open(res.proc, &f->text_len, &f->text_cap);
        if (!text) {
            file_put(f);
            return -err::kNoMem;
        }
        f->text = text;
        return install(f, flags);
    }
    case Special::ProcPid: {
        if (writing)
            return -err::kAcces;
        OpenFile* f = file_alloc(FileKind::Synthetic, 0);
        if (!f)
            return -err::kNFile;
        char* text = proc_pid_text(res.pid, res.pid_file, &f->text_len, &f->text_cap);
        if (!text) {
            file_put(f);
            return -err::kNoMem;
        }
        f->text = text;
        f->device = static_cast<uint32_t>(res.pid_file);
        return install(f, flags);
    }
    case Special::SelfExe:
        return -err::kAcces;
    default:
        break;
    }
    FileKind kind = special_kind(res.special);
    if (kind == FileKind::Free)
        return -err::kAcces;
    if ((flags & O_DIRECTORY) && kind != FileKind::SynthDir)
        return -err::kNotDir;
    OpenFile* f = file_alloc(kind, keep);
    if (!f)
        return -err::kNFile;
    f->device = kind == FileKind::DevRandom ? res.minor : res.block;
    if (kind == FileKind::SynthDir && !file_set_path(f, res.abs, res.abs_len)) {
        file_put(f);
        return -err::kNFile;
    }
    return install(f, flags);
}

// opendir of a directory whose listing is cached (dir_cache.hpp): no
// exit now; the host handle is opened only if an operation needs it.
// Can the listing cache know this directory by its abs path? Only when abs
// names it (no physical tail) and the share-relative path is abs's tail:
// the host handle, or a resumed walk, is opened from f->path + rel_at.
static bool listing_key(const Resolved& res) {
    return !res.physical && res.rel >= res.abs && res.rel + res.rel_len == res.abs + res.abs_len;
}

static bool listed_dir(const Resolved& res, uint32_t flags, Stat* st) {
    uint32_t bytes;
    return (flags & O_DIRECTORY) && (flags & (O_ACCMODE | O_CREAT | O_TRUNC)) == O_RDONLY && listing_key(res) &&
           attr_get(res.abs, res.abs_len, st) && (st->mode & S_IFMT) == S_IFDIR &&
           dir_cache_find(res.abs, res.abs_len, &bytes);
}

static long open_listed_dir(const Resolved& res, uint32_t flags, const Stat& st) {
    OpenFile* f = file_alloc(FileKind::HostDir, flags & (O_ACCMODE | O_NONBLOCK));
    if (!f)
        return -err::kNFile;
    f->handle = abi::kNoHandle;
    f->share = res.share;
    f->mode = st.mode;
    f->rel_at = static_cast<uint16_t>(res.rel - res.abs);
    if (!file_set_path(f, res.abs, res.abs_len) || !dir_listing_adopt(f)) {
        file_put(f);
        return -err::kNoMem;  // the caller opens it on the host instead
    }
    return install(f, flags);
}

static long open_in_share(PathArg& p, Resolved& res, uint32_t flags, uint32_t mode, long* handle, abi::HcFs* req,
                          Stat* listed) {
    for (;;) {
        long r = resolve(p, res);
        if (r < 0)
            return r;
        if (!res.in_share)
            return 1;  // a special file: the caller opens it
        if (listed && listed_dir(res, flags, listed))
            return 2;
        if ((flags & O_CREAT) && res.trailing_slash)
            return -err::kIsDir;  // Linux: O_CREAT on "name/" is EISDIR, whatever name is
        *req = redirectable(p, path_request(abi::kFsOpen, res));
        if (flags & O_CREAT)
            *req = owned(*req);
        req->flags = flags;  // a trailing slash travels in the path: the host applies Linux's rules
        // O_PATH (glibc's fchmodat/fchownat with AT_SYMLINK_NOFOLLOW, find):
        // opened for reading on the host. Divergences: read() on it works
        // (Linux: EBADF), an unreadable file is EACCES, a symlink ELOOP.
        if (flags & O_PATH)
            req->flags = (flags & (O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC)) | O_RDONLY;
        req->mode = mode & 07777 & ~current_umask();
        *handle = fs_call(*req);
        if (!follow_redirect(p, handle, *req))
            return 0;
    }
}

// The monitor opens only regular files and directories (ENXIO otherwise).
// A FIFO in a share is opened here: its pipe lives in the guest. Sockets
// stay ENXIO, as Linux says for open() of a socket; device nodes in a
// share are not the VM's devices.
static long open_node(PathArg& p, uint32_t flags) {
    Stat st;
    long r = stat_path(p, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0);
    if (r < 0)
        return r;
    if ((st.mode & S_IFMT) != S_IFIFO)
        return -err::kNxio;
    if (flags & O_DIRECTORY)
        return -err::kNotDir;
    OpenFile* f = file_alloc(FileKind::Fifo, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (!f)
        return -err::kNFile;
    if ((r = fifo_open(f, st)) < 0) {
        file_put(f);
        return r;
    }
    return install(f, flags);
}

static long open_resolving(PathArg& p, Resolved& res, uint32_t flags, uint32_t mode) {
    long handle = 0;
    abi::HcFs req;
    Stat listed;
    long r = open_in_share(p, res, flags, mode, &handle, &req, &listed);
    if (r == 2) {
        long fd = open_listed_dir(res, flags, listed);
        if (fd != -err::kNoMem)
            return fd;
        r = open_in_share(p, res, flags, mode, &handle, &req, nullptr);
    }
    if (r < 0)
        return r;
    if (r == 1)
        return open_special(res, flags, mode);
    if (handle == -err::kNxio)
        return open_node(p, flags);
    if (handle < 0)
        return handle;
    bool dir = (req.aux & S_IFMT) == S_IFDIR;
    OpenFile* f = file_alloc(dir ? FileKind::HostDir : FileKind::HostFile, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (!f) {
        fs_close(static_cast<uint32_t>(handle));
        return -err::kNFile;
    }
    f->handle = static_cast<uint32_t>(handle);
    f->share = res.share;
    f->mode = static_cast<uint32_t>(req.aux);
    if (!dir)
        page_cache_set_name(f->handle, res.abs, res.abs_len);  // /proc/PID/maps and fd links name it
    if (dir && listing_key(res)) {  // its first getdents lists ahead (dir_cache.hpp)
        f->dir_fresh = true;
        f->rel_at = static_cast<uint16_t>(res.rel - res.abs);
    }
    if (dir && !file_set_path(f, res.abs, res.abs_len)) {
        file_put(f);
        return -err::kNameTooLong;
    }
    return install(f, flags);
}

// The mode bits' say on an open, for a process they can refuse
// (fs/permission.hpp): read and/or write permission on an existing file,
// write permission on the directory a new one is made in. The descriptor
// links (/dev/stdin, /proc/self/fd/N) reopen what the process holds.
static long may_open(PathArg& p, uint32_t flags) {
    Resolved* res = static_cast<Resolved*>(kmem_alloc(sizeof(Resolved)));
    if (!res)
        return -err::kNoMem;
    // Unchecked here: stat_path below checks search permission on the way.
    long r = vfs_resolve(p.dirfd, p.buf, p.len, *res);
    Stat st;
    if (r == 0 && res->special != Special::Fd && res->special != Special::SelfExe) {
        r = stat_path(p, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0);
        if (r == -err::kNoEnt && (flags & O_CREAT))
            r = perm_create(*res);
        else if (r < 0 || (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) || (flags & O_PATH) ||
                 (st.mode & S_IFMT) == S_IFLNK)
            r = 0;  // the open itself reports these
        else {
            uint32_t acc = flags & O_ACCMODE;
            int mask = acc == O_RDONLY ? kMayRead : acc == O_WRONLY ? kMayWrite : kMayRead | kMayWrite;
            r = perm_may(st, (flags & O_TRUNC) ? mask | kMayWrite : mask);
        }
    }
    kmem_free(res, sizeof(Resolved));
    return r < 0 && r != -err::kAcces ? 0 : r;
}

// inotify sees the open (IN_OPEN) and, when O_CREAT made the file, its
// IN_CREATE: whether it existed is asked only while a watch exists.
// Kernel opens (execve's, whose check is execute permission) skip may_open.
static long do_open(PathArg& p, uint32_t flags, uint32_t mode, bool kernel = false) {
    if (!kernel && perm_restricted())
        if (long r = may_open(p, flags); r < 0)
            return r;
    Resolved res;
    bool created = false;
    if ((flags & O_CREAT) && inotify_active()) {
        static PathArg before;
        before = p;
        Stat st;
        created = stat_path(before, &st, AT_SYMLINK_NOFOLLOW) == -err::kNoEnt;
    }
    long fd = open_resolving(p, res, flags, mode);
    if (fd >= 0 && inotify_active())
        fsnotify_opened(fd_get(fd), res, created);
    return fd;
}

long kernel_open(const char* path, OpenFile** out) { return kernel_open_at(AT_FDCWD, path, out); }

long kernel_open_at(long dirfd, const char* path, OpenFile** out) {
    PathArg p;
    if (strlen(path) > abi::kMaxPath)
        return -err::kNameTooLong;
    path_from_kernel(p, dirfd, path);
    long fd = do_open(p, O_RDONLY | O_CLOEXEC, 0, true);
    if (fd < 0)
        return fd;
    *out = fd_get(fd);
    file_get(*out);  // the kernel's own reference outlives the descriptor
    fd_close(fd);
    return 0;
}

static long open_user(long dirfd, uint64_t path, uint32_t flags, uint32_t mode) {
    return with_user_path(dirfd, path, [&](PathArg& p) { return do_open(p, flags, mode); });
}
long sys_open(const SyscallArgs& a) {
    return open_user(AT_FDCWD, a.a0, static_cast<uint32_t>(a.a1), static_cast<uint32_t>(a.a2));
}
long sys_openat(const SyscallArgs& a) {
    return open_user(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2), static_cast<uint32_t>(a.a3));
}
long sys_creat(const SyscallArgs& a) {
    return open_user(AT_FDCWD, a.a0, O_WRONLY | O_CREAT | O_TRUNC, static_cast<uint32_t>(a.a1));
}

// ---- stat -----------------------------------------------------------------

static long stat_special(const Resolved& res, Stat* out) {
    if (res.in_tmpfs)
        return tmpfs_stat(res, out);
    switch (res.special) {
    case Special::Fd: {
        Process* owner = res.pid ? process_find(res.pid) : current_process();
        OpenFile* f = owner ? proc_fd_get(owner, res.fd) : nullptr;
        return f ? file_stat(f, out) : -err::kNoEnt;
    }
    case Special::SynthDir:
        return synthetic_dir_stat(res.abs, out);
    case Special::ProcMounts:
        return synthetic_stat(out, ident::kDevProc, ident::kInoProcMounts, S_IFREG | 0444, 0);
    case Special::ProcMaps:
        return synthetic_stat(out, ident::kDevProc, proc_pid_ino(res.pid, PidFile::Maps), S_IFREG | 0444, 0);
    case Special::ProcPid:
        return synthetic_stat(out, ident::kDevProc, proc_pid_ino(res.pid, res.pid_file), S_IFREG | 0444, 0);
    case Special::ProcText:
        return synthetic_stat(out, ident::kDevProc, ident::kInoProcTextBase + static_cast<uint64_t>(res.proc),
                              S_IFREG | (res.proc == ProcFile::ReadyMark ? 0200 : 0444), 0);
    case Special::SelfExe: {
        Process* owner = process_find(res.pid);
        if (owner && owner->exe)
            return file_stat(owner->exe, out);  // the program's file, as Linux follows the link
        if (!owner || owner->state == ProcState::Zombie)
            return -err::kNoEnt;
        return synthetic_stat(out, ident::kDevProc, proc_pid_ino(res.pid, PidFile::Exe), S_IFREG | 0755, 0);
    }
    case Special::DevTty:
        return synthetic_stat(out, ident::kDevDev, ident::kInoDevTty, S_IFCHR | 0666, (5 << 8) | 0);
    case Special::DevConsole:
        return console_node_stat(out);
    default:
        break;
    }
    FileKind kind = special_kind(res.special);
    if (kind == FileKind::Free)
        return -err::kNoEnt;
    OpenFile tmp{};
    tmp.refs = 1;
    tmp.kind = kind;
    tmp.device = kind == FileKind::DevRandom ? res.minor : res.block;
    tmp.pty = kind == FileKind::PtySlave ? pty_find(res.minor) : nullptr;
    if (kind == FileKind::PtySlave && !tmp.pty)
        return -err::kNoEnt;
    tmp.ops = file_ops_for(kind);
    return file_stat(&tmp, out);
}

static long user_stat(long dirfd, uint64_t path, uint64_t buf, uint32_t flags) {
    if (!access_ok_write(buf, sizeof(Stat)))
        return -err::kFault;
    Stat st;  // the monitor writes kernel memory; the program's copy is ours to make
    long r = do_stat(dirfd, path, &st, flags);
    if (r < 0)
        return r;
    return copy_to_user(buf, &st, sizeof st) < 0 ? -err::kFault : 0;
}
long sys_stat(const SyscallArgs& a) { return user_stat(AT_FDCWD, a.a0, a.a1, 0); }
long sys_lstat(const SyscallArgs& a) { return user_stat(AT_FDCWD, a.a0, a.a1, AT_SYMLINK_NOFOLLOW); }
long sys_newfstatat(const SyscallArgs& a) {
    return user_stat(fd_arg(a.a0), a.a1, a.a2, static_cast<uint32_t>(a.a3));
}

long sys_statx(const SyscallArgs& a) {
    if (!access_ok(a.a4, sizeof(struct statx)))
        return -err::kFault;
    Stat st;
    long r = do_stat(fd_arg(a.a0), a.a1, &st, static_cast<uint32_t>(a.a2));
    if (r < 0)
        return r;
    struct statx x{};
    x.stx_mask = STATX_BASIC_STATS;
    x.stx_blksize = static_cast<uint32_t>(st.blksize);
    x.stx_nlink = static_cast<uint32_t>(st.nlink);
    x.stx_uid = st.uid;
    x.stx_gid = st.gid;
    x.stx_mode = static_cast<uint16_t>(st.mode);
    x.stx_ino = st.ino;
    x.stx_size = static_cast<uint64_t>(st.size);
    x.stx_blocks = static_cast<uint64_t>(st.blocks);
    x.stx_atime = {st.atime, static_cast<uint32_t>(st.atime_ns), 0};
    x.stx_mtime = {st.mtime, static_cast<uint32_t>(st.mtime_ns), 0};
    x.stx_ctime = {st.ctime, static_cast<uint32_t>(st.ctime_ns), 0};
    x.stx_rdev_major = static_cast<uint32_t>((st.rdev >> 8) & 0xfff);
    x.stx_rdev_minor = static_cast<uint32_t>((st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00));
    x.stx_dev_major = static_cast<uint32_t>((st.dev >> 8) & 0xfff);
    x.stx_dev_minor = static_cast<uint32_t>((st.dev & 0xff) | ((st.dev >> 12) & 0xfff00));
    return copy_to_user(a.a4, &x, sizeof x);
}

// access() for someone mode bits can refuse: the attributes decide.
static long access_as(PathArg& p, uint32_t mode, uint32_t flags, const Asker& who) {
    bool read_only = false;
    {
        Resolved* res = static_cast<Resolved*>(kmem_alloc(sizeof(Resolved)));
        if (!res)
            return -err::kNoMem;
        long r = vfs_resolve(p.dirfd, p.buf, p.len, *res);  // stat_path checks search permission
        read_only = r == 0 && (res->read_only || (res->special == Special::Block &&
                                                  (boot().devices[res->block].flags & abi::kDevReadOnly)));
        kmem_free(res, sizeof(Resolved));
        if (r < 0)
            return r;
    }
    Stat st;
    long r = stat_path(p, &st, flags & AT_SYMLINK_NOFOLLOW);
    if (r < 0 || !(mode & 7))
        return r;
    if ((mode & W_OK) && read_only)
        return -err::kRoFs;
    return perm_may(who, st, static_cast<int>(mode & 7));
}

static long do_access(PathArg& p, uint32_t mode, uint32_t flags) {
    const Asker who = (flags & AT_EACCESS) ? asker_fs() : asker_real();
    if (!who.dac_override || !who.dac_read_search)
        return access_as(p, mode, flags, who);
    Resolved res;
    for (;;) {
        long r = resolve(p, res);
        if (r < 0)
            return r;
        if (res.in_tmpfs)
            return tmpfs_access(res, mode);
        if (!res.in_share) {
            if (res.special == Special::None)
                return -err::kNoEnt;
            if ((mode & W_OK) && res.special == Special::Block && (boot().devices[res.block].flags & abi::kDevReadOnly))
                return -err::kRoFs;
            return 0;
        }
        // The guest runs as root: with known attributes, only EROFS and X_OK
        // (some x bit, or a directory) can say no.
        Stat st;
        if (!res.physical && attr_get(res.abs, res.abs_len, &st) && (st.mode & S_IFMT) != S_IFLNK) {
            if ((mode & W_OK) && res.read_only)
                return -err::kRoFs;
            if ((mode & X_OK) && (st.mode & S_IFMT) != S_IFDIR && !(st.mode & 0111))
                return -err::kAcces;
            return 0;
        }
        abi::HcFs req = redirectable(p, path_request(abi::kFsAccess, res));
        req.mode = mode;
        req.flags = flags;
        r = fs_call(req);
        if (!follow_redirect(p, &r, req))
            return r;
    }
}
static long access_user(long dirfd, uint64_t path, uint32_t mode, uint32_t flags) {
    return with_user_path(dirfd, path, [&](PathArg& p) { return do_access(p, mode, flags); });
}
long sys_access(const SyscallArgs& a) { return access_user(AT_FDCWD, a.a0, static_cast<uint32_t>(a.a1), 0); }
long sys_faccessat(const SyscallArgs& a) {
    return access_user(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2), 0);
}
long sys_faccessat2(const SyscallArgs& a) {
    return access_user(fd_arg(a.a0), a.a1, static_cast<uint32_t>(a.a2), static_cast<uint32_t>(a.a3));
}

// lstat of a /proc magic link (the last component): Linux's link modes,
// the fd links' saying how the file is open.
static long stat_proc_link(const Resolved& res, Stat* out) {
    uint64_t ino = ident::kInoProcSelf;
    uint32_t mode = S_IFLNK | 0777;
    switch (res.link) {
    case ProcLink::ThreadSelf: ino = ident::kInoProcThreadSelf; break;
    case ProcLink::Cwd: ino = proc_pid_ino(res.link_pid, PidFile::Cwd); break;
    case ProcLink::Exe: ino = proc_pid_ino(res.link_pid, PidFile::Exe); break;
    case ProcLink::Fd: {
        Process* owner = process_find(res.link_pid);
        OpenFile* f = owner ? proc_fd_get(owner, res.fd) : nullptr;
        uint32_t acc = f ? (f->flags & O_ACCMODE) : O_RDONLY;
        mode = S_IFLNK | 0700;
        if (acc == O_RDONLY)
            mode &= ~0200u;
        else if (acc == O_WRONLY)
            mode &= ~0400u;
        ino = proc_fd_ino(res.link_pid, res.fd);
        break;
    }
    default: break;
    }
    return synthetic_stat(out, ident::kDevProc, ino, mode, 0);
}

// checked: path resolution checks search permission on the way (not for
// the permission checks' own lookups: fs/path_perm.cpp).
static long stat_walk(PathArg& p, Stat* out, uint32_t flags, bool checked) {
    Resolved res;
    for (;;) {
        long r = checked ? resolve(p, res) : vfs_resolve(p.dirfd, p.buf, p.len, res);
        if (r < 0)
            return r;
        if (res.link != ProcLink::None && (flags & AT_SYMLINK_NOFOLLOW))
            return stat_proc_link(res, out);
        if (!res.in_share)
            return stat_special(res, out);
        Stat cached;
        if (!res.physical && attr_get(res.abs, res.abs_len, &cached) &&
            ((flags & AT_SYMLINK_NOFOLLOW) || (cached.mode & S_IFMT) != S_IFLNK)) {
            if (res.trailing_slash && (cached.mode & S_IFMT) != S_IFDIR)
                return -err::kNotDir;
            memcpy(out, &cached, sizeof cached);
            return 0;
        }
        abi::HcFs req = redirectable(p, path_request(abi::kFsStat, res));
        req.flags = flags & AT_SYMLINK_NOFOLLOW;
        req.buf = virt_to_gpa(out);
        req.len = sizeof(Stat);
        r = fs_call(req);
        if (follow_redirect(p, &r, req))
            continue;
        if (r == 0 && (flags & AT_SYMLINK_NOFOLLOW) && !res.physical)
            attr_put(res.abs, res.abs_len, *out);  // lstat, then access/unlink: one exit, not two
        if (r == 0 && res.trailing_slash && (out->mode & S_IFMT) != S_IFDIR)
            return -err::kNotDir;
        return r;
    }
}

long fs_sys::stat_path(PathArg& p, Stat* out, uint32_t flags) { return stat_walk(p, out, flags, true); }

long stat_unchecked(const char* abs, size_t len, Stat* out, uint32_t flags) {
    static_assert(sizeof(fs_sys::PathArg::buf) > abi::kMaxPath);
    if (len > abi::kMaxPath)
        return -err::kNameTooLong;
    PathArg* p = static_cast<PathArg*>(kmem_alloc(sizeof(PathArg)));
    if (!p)
        return -err::kNoMem;
    memcpy(p->buf, abs, len);
    p->buf[len] = 0;
    p->len = len;
    p->dirfd = AT_FDCWD;
    p->hops = 0;
    long r = stat_walk(*p, out, flags, false);
    kmem_free(p, sizeof(PathArg));
    return r;
}

long do_stat(long dirfd, uint64_t path_addr, Stat* out, uint32_t flags) {
    PathArg p;
    long r = path_from_user(p, dirfd, path_addr);
    if (r < 0)
        return r;
    if (p.len == 0) {
        if (!(flags & AT_EMPTY_PATH))
            return -err::kNoEnt;
        if (dirfd != AT_FDCWD) {
            OpenFile* f = fd_get(dirfd);
            return f ? file_stat(f, out) : -err::kBadF;
        }
        path_from_kernel(p, dirfd, ".");
    }
    return stat_path(p, out, flags);
}

}  // namespace lightvm::guest

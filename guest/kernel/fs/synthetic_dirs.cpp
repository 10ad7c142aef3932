#include "kernel/fs/synthetic_dirs.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/fs/proc_files.hpp"
#include "kernel/fs/proc_pid.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/tty/devpts.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

using namespace ident;

namespace {

bool equals(const char* a, size_t alen, const char* b) {
    size_t blen = strlen(b);
    return alen == blen && memcmp(a, b, alen) == 0;
}

// The fixed kernel directories and their identities.
struct KernelDir {
    const char* path;
    uint64_t dev, ino;
};
constexpr KernelDir kKernelDirs[] = {
    {"/dev", kDevDev, kInoDevDir},          {"/dev/fd", kDevDev, kInoDevFdDir},
    {"/proc", kDevProc, kInoProcDir},      {"/dev/pts", kDevPts, 1},
};

const KernelDir* kernel_dir(const char* dir, size_t len) {
    for (const KernelDir& k : kKernelDirs)
        if (equals(dir, len, k.path))
            return &k;
    return nullptr;
}

// The fixed entries of the kernel directories (device nodes, proc files).
// fd >= 0: the entry is that descriptor's file (/dev/stdin is fd 0).
struct Fixed {
    const char* dir;
    const char* name;
    uint64_t ino;
    uint8_t type;
    int fd;
};
constexpr Fixed kFixed[] = {
    // In a synthetic "/" (no --rootfs), /dev and /proc are the directories
    // they are mounted on: numbers 2 and 3 of kDevRoot (see root_ino).
    {"/", "dev", 2, DT_DIR, -1},
    {"/", "proc", 3, DT_DIR, -1},
    {"/dev", "fd", kInoDevFdDir, DT_DIR, -1},
    {"/dev", "null", kInoDevNull, DT_CHR, -1},
    {"/dev", "zero", kInoDevZero, DT_CHR, -1},
    {"/dev", "full", kInoDevFull, DT_CHR, -1},
    {"/dev", "random", kInoDevRandom, DT_CHR, -1},
    {"/dev", "urandom", kInoDevURandom, DT_CHR, -1},
    {"/dev", "tty", kInoDevTty, DT_CHR, -1},
    {"/dev", "ptmx", kInoDevPtmx, DT_CHR, -1},
    {"/dev", "console", kInoDevConsole, DT_CHR, -1},
    {"/dev", "pts", kInoDevPtsDir, DT_DIR, -1},
    {"/dev", "stdin", 0, DT_UNKNOWN, 0},
    {"/dev", "stdout", 0, DT_UNKNOWN, 1},
    {"/dev", "stderr", 0, DT_UNKNOWN, 2},
    {"/proc", "self", kInoProcSelf, DT_LNK, -1},
    {"/proc", "thread-self", kInoProcThreadSelf, DT_LNK, -1},
    {"/proc", "mounts", kInoProcMounts, DT_REG, -1},
    {"/proc", "cpuinfo", kInoProcTextBase + static_cast<uint64_t>(ProcFile::CpuInfo), DT_REG, -1},
    {"/proc", "meminfo", kInoProcTextBase + static_cast<uint64_t>(ProcFile::MemInfo), DT_REG, -1},
    {"/proc", "loadavg", kInoProcTextBase + static_cast<uint64_t>(ProcFile::LoadAvg), DT_REG, -1},
    {"/proc", "uptime", kInoProcTextBase + static_cast<uint64_t>(ProcFile::Uptime), DT_REG, -1},
    {"/proc", "stat", kInoProcTextBase + static_cast<uint64_t>(ProcFile::Stat), DT_REG, -1},
};

uint8_t dtype_of(uint32_t mode) {
    switch (mode & S_IFMT) {
    case S_IFDIR: return DT_DIR;
    case S_IFREG: return DT_REG;
    case S_IFLNK: return DT_LNK;
    case S_IFCHR: return DT_CHR;
    case S_IFBLK: return DT_BLK;
    case S_IFIFO: return DT_FIFO;
    case S_IFSOCK: return DT_SOCK;
    default: return DT_UNKNOWN;
    }
}

// An open descriptor as a directory entry: its file's identity, so d_ino
// equals what stat of /dev/fd/N says.
bool fd_entry(long fd, DirEntry* out) {
    OpenFile* f = fd_get(fd);
    Stat st;
    if (!f || file_stat(f, &st) < 0)
        return false;
    out->ino = st.ino;
    out->type = dtype_of(st.mode);
    return true;
}

uint32_t share_count() { return boot().mount_count < abi::kMaxMounts ? boot().mount_count : abi::kMaxMounts; }

// A bind-mounted file at exactly `path` (abi::kFsMountFile): listed as a file.
bool is_file_mount(const char* path, size_t n) {
    for (uint32_t i = 0; i < share_count(); ++i)
        if ((boot().mounts[i].flags & abi::kFsMountFile) && strlen(boot().mounts[i].guest_path) == n &&
            memcmp(boot().mounts[i].guest_path, path, n) == 0)
            return true;
    return false;
}

// Share mounts, then tmpfs mounts: what the synthetic directories lead to.
uint32_t mount_count() { return share_count() + tmpfs_count(); }
const char* mount_path(uint32_t i) {
    return i < share_count() ? boot().mounts[i].guest_path : tmpfs_path(i - share_count());
}

// The child component of `dir` on the way to mount i, or nullptr.
const char* child_towards_mount(const char* dir, size_t dlen, uint32_t i, size_t* len) {
    const char* p = mount_path(i);
    size_t plen = strlen(p);
    size_t skip = dlen == 1 ? 1 : dlen + 1;  // "/" or "/dir/"
    if (plen <= skip || memcmp(p, dir, dlen) != 0 || (dlen > 1 && p[dlen] != '/'))
        return nullptr;
    const char* name = p + skip;
    size_t n = 0;
    while (name[n] && name[n] != '/')
        ++n;
    *len = n;
    return n ? name : nullptr;
}


// Whether mount j's path has `prefix` (ending at a component boundary).
bool mount_has_prefix(uint32_t j, const char* prefix, size_t len) {
    const char* p = mount_path(j);
    size_t plen = strlen(p);
    if (len == 1)
        return true;  // "/"
    return plen >= len && memcmp(p, prefix, len) == 0 && (plen == len || p[len] == '/');
}

// Inode numbers on kDevRoot: each distinct directory on the way to a mount
// point (mount points included: the directory a mount covers) numbered in
// mount-table order, "/" first. Stable for the VM's life: the mount table
// never changes.
uint64_t root_ino(const char* dir, size_t dlen) {
    if (dlen == 1)
        return 1;  // "/"
    uint64_t next = 4;  // 2, 3: under /dev and /proc (kFixed)
    for (uint32_t i = 0; i < mount_count(); ++i) {
        const char* p = mount_path(i);
        size_t plen = strlen(p);
        for (size_t end = 1; end <= plen; ++end) {
            if (end < plen && p[end] != '/')
                continue;
            bool seen = false;  // first named by an earlier mount
            for (uint32_t j = 0; j < i && !seen; ++j)
                seen = mount_has_prefix(j, p, end);
            if (seen)
                continue;
            if (end == dlen && memcmp(p, dir, dlen) == 0)
                return next;
            ++next;
        }
    }
    return next;  // not on the way to any mount: a number no listed directory has
}

// Identity of a kernel directory.
void dir_identity(const char* dir, size_t len, uint64_t* dev, uint64_t* ino) {
    uint32_t pid;
    PidFile which;
    if (proc_pid_dir(dir, len, &pid, &which)) {
        *dev = kDevProc;
        *ino = proc_pid_ino(pid, which);
        return;
    }
    if (const KernelDir* k = kernel_dir(dir, len)) {
        *dev = k->dev;
        *ino = k->ino;
        return;
    }
    *dev = kDevRoot;
    *ino = root_ino(dir, len);
}

// The parent of a normalised absolute path ("/" for "/").
size_t parent_len(const char* dir, size_t len) {
    while (len > 1 && dir[len - 1] != '/')
        --len;
    return len > 1 ? len - 1 : 1;
}

bool is_fd_dir(const char* dir, size_t len) { return equals(dir, len, "/dev/fd"); }

// The index-th open descriptor (for the fd directories), or -1.
long nth_open_fd(uint32_t index) {
    for (long fd = 0; fd < kMaxFds; ++fd)
        if (fd_get(fd) && index-- == 0)
            return fd;
    return -1;
}

// Name buffer for the fd directories' entries (decimal numbers).
char g_fd_name[12];

// Entries after "." and "..": fixed ones, block devices (/dev), open fds
// (the fd directories), then children on the way to mount points.
bool listed_entry(const char* dir, size_t dlen, uint32_t index, DirEntry* out) {
    uint32_t pid;
    PidFile which;
    if (proc_pid_dir(dir, dlen, &pid, &which))
        return proc_pid_dir_entry(pid, which, index, out);
    if (is_fd_dir(dir, dlen)) {
        long fd = nth_open_fd(index);
        if (fd < 0)
            return false;
        size_t n = 0;
        char tmp[12];
        long v = fd;
        do {
            tmp[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v);
        for (size_t i = 0; i < n; ++i)
            g_fd_name[i] = tmp[n - 1 - i];
        g_fd_name[n] = 0;
        out->name = g_fd_name;
        out->len = n;
        return fd_entry(fd, out) || (out->ino = 0, out->type = DT_UNKNOWN, true);
    }
    for (const Fixed& e : kFixed) {
        if (!equals(dir, dlen, e.dir))
            continue;
        if (e.fd >= 0 && !fd_get(e.fd))
            continue;  // closed: /dev/stdin names nothing
        if (index-- != 0)
            continue;
        out->name = e.name;
        out->len = strlen(e.name);
        out->ino = e.ino;
        out->type = e.type;
        if (e.fd >= 0)
            fd_entry(e.fd, out);
        return true;
    }
    if (equals(dir, dlen, "/dev/pts"))  // the live slaves
        return devpts_entry(index, out);
    if (equals(dir, dlen, "/proc")) {  // a directory per process
        const uint32_t procs = process_count();
        if (index < procs)
            return proc_pid_list_entry(index, out);
        index -= procs;
    }
    if (equals(dir, dlen, "/dev")) {
        static char vd[4] = "vda";
        uint32_t blocks = 0;
        for (uint32_t i = 0; i < boot().device_count && i < abi::kMaxDevices; ++i) {
            if (boot().devices[i].type != abi::kDevBlock)
                continue;
            if (index-- == 0) {
                vd[2] = static_cast<char>('a' + blocks);
                *out = {vd, 3, kInoDevBlockBase + i, DT_BLK};
                return true;
            }
            ++blocks;
        }
    }
    for (uint32_t i = 0;; ++i) {
        size_t n;
        const char* name = mount_child(dir, i, &n);
        if (!name)
            return false;
        bool fixed = false;  // a mount at /dev/null would not list null twice
        for (const Fixed& e : kFixed)
            fixed = fixed || (equals(dir, dlen, e.dir) && strlen(e.name) == n && memcmp(e.name, name, n) == 0);
        if (fixed || index-- != 0)
            continue;
        static char path[abi::kMaxPath];
        size_t plen = dlen == 1 ? 0 : dlen;
        memcpy(path, dir, plen);
        path[plen] = '/';
        memcpy(path + plen + 1, name, n);
        uint64_t dev;
        *out = {name, n, 0, static_cast<uint8_t>(is_file_mount(path, plen + 1 + n) ? DT_REG : DT_DIR)};
        dir_identity(path, plen + 1 + n, &dev, &out->ino);
        return true;
    }
}

}  // namespace

bool is_kernel_dir(const char* dir, size_t len) { return kernel_dir(dir, len) != nullptr; }

const char* mount_child(const char* dir, uint32_t index, size_t* len) {
    size_t dlen = strlen(dir);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < mount_count(); ++i) {
        size_t n;
        const char* name = child_towards_mount(dir, dlen, i, &n);
        if (!name)
            continue;
        bool duplicate = false;  // two mounts below the same child
        for (uint32_t j = 0; j < i && !duplicate; ++j) {
            size_t m;
            const char* other = child_towards_mount(dir, dlen, j, &m);
            duplicate = other && m == n && memcmp(other, name, n) == 0;
        }
        if (duplicate)
            continue;
        if (seen++ == index) {
            *len = n;
            return name;
        }
    }
    return nullptr;
}

bool synthetic_dir_entry(const char* dir, uint32_t index, DirEntry* out) {
    size_t dlen = strlen(dir);
    uint64_t dev, ino;
    if (index == 0) {
        dir_identity(dir, dlen, &dev, &ino);
        *out = {".", 1, ino, DT_DIR};
        return true;
    }
    if (index == 1) {
        // Linux: the root of a file system lists itself as ".." (the parent
        // across a mount is another file system's inode).
        uint64_t own_dev;
        dir_identity(dir, dlen, &own_dev, &ino);
        size_t plen = parent_len(dir, dlen);
        uint64_t pino;
        dir_identity(dir, plen, &dev, &pino);
        *out = {"..", 2, dev == own_dev ? pino : ino, DT_DIR};
        return true;
    }
    return listed_entry(dir, dlen, index - 2, out);
}

long synthetic_dir_stat(const char* dir, Stat* out) {
    size_t dlen = strlen(dir);
    uint64_t dev, ino;
    dir_identity(dir, dlen, &dev, &ino);
    synthetic_stat(out, dev, ino, S_IFDIR | 0755, 0);
    // Linux: 2 + one ".." per subdirectory.
    uint64_t subdirs = 0;
    DirEntry e;
    for (uint32_t i = 0; !is_fd_dir(dir, dlen) && listed_entry(dir, dlen, i, &e); ++i)
        subdirs += e.type == DT_DIR;  // (fd entries are links on Linux: they never count)
    out->nlink = 2 + subdirs;
    return 0;
}

}  // namespace lightvm::guest

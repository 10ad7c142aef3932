#include "kernel/fs/tmpfs.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/fs/pipe.hpp"
#include "kernel/fs/resolved.hpp"
#include "kernel/fs/tmpfs_xattr.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

unsigned current_umask();

namespace {

constexpr uint32_t kMaxInodes = kTmpfsMaxInodes;
constexpr uint32_t kMaxDirents = 2048;
constexpr size_t kNameMax = 255;
constexpr uint64_t kPageBytes = 4096;

struct Inode {
    bool used;
    uint8_t instance;
    uint32_t mode, nlink, uid, gid;
    uint32_t opens;   // open files (the inode outlives its last name while open)
    uint32_t parent;  // directories: the parent's index (the root: itself)
    uint64_t size;
    int64_t atime, mtime, ctime;  // ns
    uint64_t* pages;  // frame per page (0: a hole, reads as zeros)
    uint64_t page_cap;
    uint64_t pages_used;
    uint32_t seals;   // F_SEAL_*: F_SEAL_SEAL for all but memfd_create(MFD_ALLOW_SEALING)
    uint32_t name_len;
    char* name;       // memfd_create's name (kmem), for /proc/PID/fd links
};

struct Dirent {
    bool used;
    uint32_t dir, ino;
    uint16_t len;
    char name[kNameMax + 1];
};

struct Instance {
    char path[sizeof(abi::TmpfsMount::guest_path)];
    size_t plen;
    uint64_t limit, used;  // bytes of file data
    uint32_t root;
};

Inode* g_inodes;
Dirent* g_dirents;
// The last slot holds the memfds: no mount point, no root directory.
constexpr uint32_t kMemfdInstance = abi::kMaxTmpfs;
Instance g_inst[abi::kMaxTmpfs + 1];
uint32_t g_count;
bool g_read;

void read_mounts() {
    if (g_read)
        return;
    g_read = true;
    for (uint32_t i = 0; i < boot().tmpfs_count && i < abi::kMaxTmpfs; ++i) {
        const abi::TmpfsMount& m = boot().tmpfs[i];
        size_t n = 0;
        while (n < sizeof m.guest_path && m.guest_path[n])
            ++n;
        if (n == 0 || n == sizeof m.guest_path || m.guest_path[0] != '/')
            continue;  // the monitor validated it; a bad entry is skipped
        Instance& in = g_inst[g_count++];
        memcpy(in.path, m.guest_path, n);
        in.path[n] = 0;
        in.plen = n;
        in.limit = m.size;
        in.root = UINT32_MAX;
    }
}

int64_t now_ns() { return static_cast<int64_t>(realtime_ns()); }

uint32_t new_inode(uint32_t instance, uint32_t mode) {
    for (uint32_t i = 0; i < kMaxInodes; ++i) {
        if (g_inodes[i].used)
            continue;
        Inode& n = g_inodes[i];
        n = Inode{};
        n.used = true;
        n.instance = static_cast<uint8_t>(instance);
        n.mode = mode;
        n.nlink = (mode & S_IFMT) == S_IFDIR ? 2 : 1;
        n.uid = current_process()->cred.fsuid;  // files belong to their creator's file-system ids
        n.gid = current_process()->cred.fsgid;
        n.atime = n.mtime = n.ctime = now_ns();
        n.seals = F_SEAL_SEAL;
        return i;
    }
    return UINT32_MAX;
}

// The tables come from guest RAM on first use: a VM that never touches
// /tmp pays nothing.
bool ensure(uint32_t instance) {
    if (!g_inodes) {
        g_inodes = static_cast<Inode*>(kmem_alloc(sizeof(Inode) * kMaxInodes));
        g_dirents = static_cast<Dirent*>(kmem_alloc(sizeof(Dirent) * kMaxDirents));
        if (!g_inodes || !g_dirents)
            return false;
    }
    Instance& in = g_inst[instance];
    if (instance == kMemfdInstance)
        return true;
    if (in.root == UINT32_MAX) {
        in.root = new_inode(instance, S_IFDIR | 01777);  // /tmp's mode
        if (in.root != UINT32_MAX)
            g_inodes[in.root].uid = g_inodes[in.root].gid = 0;  // root's, whoever looked first (--user)
        if (in.root == UINT32_MAX)
            return false;
        g_inodes[in.root].parent = in.root;
    }
    return true;
}

void free_data(Inode& n, uint64_t from_page) {
    for (uint64_t p = from_page; p < n.page_cap; ++p) {
        if (n.pages[p]) {
            frame_unref(n.pages[p]);
            n.pages[p] = 0;
            --n.pages_used;
            g_inst[n.instance].used -= kPageBytes;
        }
    }
}

void put_inode(uint32_t ino) {
    Inode& n = g_inodes[ino];
    if (n.nlink || n.opens)
        return;
    free_data(n, 0);
    if (n.pages)
        kmem_free(n.pages, n.page_cap * sizeof(uint64_t));
    if (n.name)
        kmem_free(n.name, n.name_len + 1);
    tmpfs_xattr_drop(ino);
    n.used = false;
}

Dirent* find(uint32_t dir, const char* name, size_t len) {
    for (uint32_t i = 0; i < kMaxDirents; ++i) {
        Dirent& d = g_dirents[i];
        if (d.used && d.dir == dir && d.len == len && memcmp(d.name, name, len) == 0)
            return &d;
    }
    return nullptr;
}

bool dir_empty(uint32_t dir) {
    for (uint32_t i = 0; i < kMaxDirents; ++i)
        if (g_dirents[i].used && g_dirents[i].dir == dir)
            return false;
    return true;
}

bool is_dir(uint32_t ino) { return (g_inodes[ino].mode & S_IFMT) == S_IFDIR; }

// A path inside an instance: the directory holding the last component, the
// component, and the inode it names (UINT32_MAX: no such name yet).
struct Walk {
    uint32_t instance;
    uint32_t parent;
    const char* name;
    size_t len;  // 0: the path is the instance's root
    uint32_t ino;
};

long walk(const Resolved& res, Walk& w) {
    w.instance = res.tmpfs;
    if (!ensure(w.instance))
        return -err::kNoMem;
    uint32_t cur = g_inst[w.instance].root;
    w.parent = g_inodes[cur].parent;
    w.name = nullptr;
    w.len = 0;
    w.ino = cur;
    size_t i = 0;
    const char* p = res.rel;
    size_t n = res.rel_len;
    while (i < n) {
        while (i < n && p[i] == '/')
            ++i;
        size_t s = i;
        while (i < n && p[i] != '/')
            ++i;
        if (i == s)
            break;
        if (i - s > kNameMax)
            return -err::kNameTooLong;
        if (w.ino == UINT32_MAX)
            return -err::kNoEnt;  // a missing directory on the way
        if (!is_dir(w.ino))
            return -err::kNotDir;
        w.parent = w.ino;
        w.name = p + s;
        w.len = i - s;
        Dirent* d = find(w.parent, w.name, w.len);
        w.ino = d ? d->ino : UINT32_MAX;
    }
    if (w.ino != UINT32_MAX && res.trailing_slash && !is_dir(w.ino))
        return -err::kNotDir;
    return 0;
}

long existing(const Resolved& res, Walk& w) {
    long r = walk(res, w);
    return r < 0 ? r : w.ino == UINT32_MAX ? -err::kNoEnt : 0;
}

long add_name(uint32_t dir, const char* name, size_t len, uint32_t ino) {
    for (uint32_t i = 0; i < kMaxDirents; ++i) {
        Dirent& d = g_dirents[i];
        if (d.used)
            continue;
        d.used = true;
        d.dir = dir;
        d.ino = ino;
        d.len = static_cast<uint16_t>(len);
        memcpy(d.name, name, len);
        d.name[len] = 0;
        g_inodes[dir].mtime = g_inodes[dir].ctime = now_ns();
        return 0;
    }
    return -err::kNoSpc;
}

// Creates `w`'s last component (which must not exist) as a new inode.
long create(Walk& w, uint32_t mode) {
    if (w.len == 0)
        return -err::kExist;  // the root
    if (w.ino != UINT32_MAX)
        return -err::kExist;
    uint32_t ino = new_inode(w.instance, mode);
    if (ino == UINT32_MAX)
        return -err::kNoSpc;
    if (long r = add_name(w.parent, w.name, w.len, ino); r < 0) {
        g_inodes[ino].nlink = 0;
        put_inode(ino);
        return r;
    }
    if (is_dir(ino)) {
        g_inodes[ino].parent = w.parent;
        g_inodes[w.parent].nlink++;
    }
    w.ino = ino;
    return 0;
}

void fill_stat(uint32_t ino, Stat* out) {
    const Inode& n = g_inodes[ino];
    Stat st{};
    st.dev = ident::encode_dev(0, ident::kMinorBase + 16 + n.instance);
    st.ino = ino + 1;
    st.nlink = n.nlink;
    st.mode = n.mode;
    st.uid = n.uid;
    st.gid = n.gid;
    st.size = static_cast<int64_t>(n.size);
    st.blksize = kPageBytes;
    st.blocks = static_cast<int64_t>(n.pages_used * (kPageBytes / 512));
    st.atime = n.atime / 1000000000;
    st.atime_ns = n.atime % 1000000000;
    st.mtime = n.mtime / 1000000000;
    st.mtime_ns = n.mtime % 1000000000;
    st.ctime = n.ctime / 1000000000;
    st.ctime_ns = n.ctime % 1000000000;
    memcpy(out, &st, sizeof st);
}

// The frame holding byte `off` of the file, allocated if `make`; 0 for a
// hole (or when the instance is full: -ENOSPC through *err).
uint64_t page_at(Inode& n, uint64_t off, bool make, long* err) {
    uint64_t idx = off / kPageBytes;
    if (idx >= n.page_cap) {
        if (!make)
            return 0;
        uint64_t cap = n.page_cap ? n.page_cap : 512;
        while (cap <= idx)
            cap *= 2;
        auto* pages = static_cast<uint64_t*>(kmem_alloc(cap * sizeof(uint64_t)));
        if (!pages) {
            *err = -err::kNoSpc;
            return 0;
        }
        if (n.pages) {
            memcpy(pages, n.pages, n.page_cap * sizeof(uint64_t));
            kmem_free(n.pages, n.page_cap * sizeof(uint64_t));
        }
        n.pages = pages;
        n.page_cap = cap;
    }
    if (!n.pages[idx] && make) {
        Instance& in = g_inst[n.instance];
        if (in.used + kPageBytes > in.limit) {
            *err = -err::kNoSpc;  // the instance's size limit, as Linux's size=
            return 0;
        }
        uint64_t frame = frame_alloc(0);
        if (!frame) {
            *err = -err::kNoSpc;
            return 0;
        }
        n.pages[idx] = frame;
        n.pages_used++;
        in.used += kPageBytes;
    }
    return n.pages[idx];
}

void set_size(Inode& n, uint64_t size) {
    if (size < n.size) {
        free_data(n, (size + kPageBytes - 1) / kPageBytes);
        if (size % kPageBytes && size / kPageBytes < n.page_cap && n.pages[size / kPageBytes]) {
            auto* page = static_cast<uint8_t*>(phys_to_virt(n.pages[size / kPageBytes]));
            memset(page + size % kPageBytes, 0, kPageBytes - size % kPageBytes);  // reads past EOF stay zero
        }
    }
    n.size = size;
    n.mtime = n.ctime = now_ns();
}

Inode& inode_of(const OpenFile* f) { return g_inodes[f->handle]; }

long file_read_op(OpenFile* f, void* buf, size_t len, int64_t at) {
    Inode& n = inode_of(f);
    uint64_t off = at < 0 ? f->offset : static_cast<uint64_t>(at);
    if (off >= n.size)
        return 0;
    size_t total = n.size - off < len ? n.size - off : len;
    auto* out = static_cast<uint8_t*>(buf);
    for (size_t done = 0; done < total;) {
        uint64_t pos = off + done, in_page = pos % kPageBytes;
        size_t chunk = kPageBytes - in_page < total - done ? kPageBytes - in_page : total - done;
        long ignored = 0;
        uint64_t frame = page_at(n, pos, false, &ignored);
        if (frame)
            memcpy(out + done, static_cast<uint8_t*>(phys_to_virt(frame)) + in_page, chunk);
        else
            memset(out + done, 0, chunk);
        done += chunk;
    }
    if (at < 0)
        f->offset += total;
    n.atime = now_ns();
    return static_cast<long>(total);
}

long file_write_op(OpenFile* f, const void* buf, size_t len, int64_t at) {
    Inode& n = inode_of(f);
    uint64_t off = at >= 0 ? static_cast<uint64_t>(at) : (f->flags & O_APPEND) ? n.size : f->offset;
    if ((n.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) && len)
        return -err::kPerm;
    if ((n.seals & F_SEAL_GROW) && off + len > n.size)
        return -err::kPerm;  // the whole write, as Linux's shmem_write_begin
    const auto* in = static_cast<const uint8_t*>(buf);
    size_t done = 0;
    long err = 0;
    while (done < len) {
        uint64_t pos = off + done, in_page = pos % kPageBytes;
        size_t chunk = kPageBytes - in_page < len - done ? kPageBytes - in_page : len - done;
        uint64_t frame = page_at(n, pos, true, &err);
        if (!frame)
            break;
        memcpy(static_cast<uint8_t*>(phys_to_virt(frame)) + in_page, in + done, chunk);
        done += chunk;
    }
    if (done == 0 && len)
        return err ? err : -err::kNoSpc;
    if (off + done > n.size)
        n.size = off + done;
    n.mtime = n.ctime = now_ns();
    if (at < 0)
        f->offset = off + done;
    return static_cast<long>(done);
}

long file_seek_op(OpenFile* f, int64_t offset, int whence) {
    return seek_within(f, offset, whence, static_cast<int64_t>(inode_of(f).size));
}

long stat_op(OpenFile* f, Stat* out) {
    fill_stat(f->handle, out);
    return 0;
}

long release_op(OpenFile* f) {
    Inode& n = inode_of(f);
    --n.opens;
    put_inode(f->handle);
    return 0;
}

long dir_seek_op(OpenFile* f, int64_t offset, int whence) {
    if (whence != SEEK_SET || offset < 0)
        return -err::kInval;
    f->offset = static_cast<uint64_t>(offset);
    return offset;
}

const Instance* instance_of(const Resolved& res) { return &g_inst[res.tmpfs]; }

long statfs_of(uint32_t instance, uint64_t user_buf) {
    const Instance& in = g_inst[instance];
    struct statfs s{};
    s.f_type = TMPFS_MAGIC;
    s.f_bsize = kPageBytes;
    s.f_frsize = kPageBytes;
    s.f_blocks = in.limit / kPageBytes;
    s.f_bfree = s.f_bavail = (in.limit - in.used) / kPageBytes;
    uint32_t free = 0;
    for (uint32_t i = 0; g_inodes && i < kMaxInodes; ++i)
        free += !g_inodes[i].used;
    s.f_files = kMaxInodes;
    s.f_ffree = g_inodes ? free : kMaxInodes;
    s.f_namelen = kNameMax;
    return copy_to_user(user_buf, &s, sizeof s) < 0 ? -err::kFault : 0;
}

void set_times(Inode& n, const int64_t* ns) {
    int64_t now = now_ns();
    if (!ns) {
        n.atime = n.mtime = now;
    } else {
        if (ns[0] >= 0)
            n.atime = ns[0];
        if (ns[1] >= 0)
            n.mtime = ns[1];
    }
    n.ctime = now;
}

// Who may is decided before (fs/permission.hpp perm_chown, sys_fs_meta.cpp).
long chown_inode(Inode& n, int64_t uid, int64_t gid) {
    if (uid != -1)
        n.uid = static_cast<uint32_t>(uid);
    if (gid != -1)
        n.gid = static_cast<uint32_t>(gid);
    n.mode &= (n.mode & S_IFMT) == S_IFDIR ? ~0u : ~static_cast<uint32_t>(S_ISUID | S_ISGID);
    n.ctime = now_ns();
    return 0;
}

}  // namespace

const FileOps kTmpFileOps = {
    .read = file_read_op,
    .write = file_write_op,
    .seek = file_seek_op,
    .stat = stat_op,
    .sync = nullptr,
    .ioctl = nullptr,
    .poll = nullptr,
    .wait_queue = nullptr,
    .release = release_op,
    .tty = false,
    .seekable = true,
};

const FileOps kTmpDirOps = {
    .read = dir_read,
    .write = dir_write,
    .seek = dir_seek_op,
    .stat = stat_op,
    .sync = nullptr,
    .ioctl = nullptr,
    .poll = nullptr,
    .wait_queue = nullptr,
    .release = release_op,
    .tty = false,
    .seekable = true,
};

int tmpfs_match(const char* a, size_t n, size_t* mlen) {
    read_mounts();
    int best = -1;
    for (uint32_t i = 0; i < g_count; ++i) {
        const Instance& in = g_inst[i];
        bool match = n >= in.plen && memcmp(a, in.path, in.plen) == 0 && (n == in.plen || a[in.plen] == '/');
        if (match && (best < 0 || in.plen > g_inst[best].plen))
            best = static_cast<int>(i);
    }
    if (best >= 0)
        *mlen = g_inst[best].plen;
    return best;
}

uint32_t tmpfs_count() {
    read_mounts();
    return g_count;
}
const char* tmpfs_path(uint32_t i) { return i < tmpfs_count() ? g_inst[i].path : "/"; }

long tmpfs_open(const Resolved& res, uint32_t flags, uint32_t mode, OpenFile** out) {
    Walk w;
    long r = walk(res, w);
    if (r < 0)
        return r;
    bool writing = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (w.ino == UINT32_MAX) {
        if (!(flags & O_CREAT))
            return -err::kNoEnt;
        if (res.trailing_slash)
            return -err::kIsDir;
        if ((r = create(w, S_IFREG | (mode & 07777 & ~current_umask()))) < 0)
            return r;
    } else if ((flags & O_CREAT) && (flags & O_EXCL)) {
        return -err::kExist;
    }
    Inode& n = g_inodes[w.ino];
    uint32_t type = n.mode & S_IFMT;
    if ((flags & O_DIRECTORY) && type != S_IFDIR)
        return -err::kNotDir;
    if (type == S_IFDIR && writing)
        return -err::kIsDir;
    FileKind kind = type == S_IFDIR ? FileKind::TmpDir : type == S_IFIFO ? FileKind::Fifo : FileKind::TmpFile;
    if (type != S_IFDIR && type != S_IFREG && type != S_IFIFO)
        return -err::kNxio;  // a socket node
    OpenFile* f = file_alloc(kind, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (!f)
        return -err::kNFile;
    if (kind == FileKind::Fifo) {
        Stat st;
        fill_stat(w.ino, &st);
        if ((r = fifo_open(f, st)) < 0) {
            file_put(f);
            return r;
        }
        *out = f;
        return 0;
    }
    f->handle = w.ino;
    n.opens++;
    if (kind == FileKind::TmpDir && !file_set_path(f, res.abs, res.abs_len)) {
        file_put(f);
        return -err::kNameTooLong;
    }
    if ((flags & O_TRUNC) && type == S_IFREG && (flags & O_ACCMODE) != O_RDONLY)
        set_size(n, 0);
    *out = f;
    return 0;
}

long tmpfs_stat(const Resolved& res, Stat* out) {
    Walk w;
    long r = existing(res, w);
    if (r < 0)
        return r;
    fill_stat(w.ino, out);
    return 0;
}

// The guest runs as root: only X_OK (some x bit, or a directory) can say no.
long tmpfs_access(const Resolved& res, uint32_t mode) {
    Walk w;
    long r = existing(res, w);
    if (r < 0)
        return r;
    const Inode& n = g_inodes[w.ino];
    if ((mode & X_OK) && (n.mode & S_IFMT) != S_IFDIR && !(n.mode & 0111))
        return -err::kAcces;
    return 0;
}

long tmpfs_mkdir(const Resolved& res, uint32_t mode) {
    Walk w;
    long r = walk(res, w);
    if (r < 0)
        return r;
    return create(w, S_IFDIR | (mode & 07777 & ~current_umask()));
}

long tmpfs_mknod(const Resolved& res, uint32_t mode) {
    Walk w;
    long r = walk(res, w);
    if (r < 0)
        return r;
    uint32_t type = mode & S_IFMT;
    if (type == S_IFCHR || type == S_IFBLK)
        return -err::kPerm;  // no host devices in a VM
    return create(w, type | (mode & 07777 & ~current_umask()));
}

long tmpfs_unlink(const Resolved& res, bool rmdir) {
    Walk w;
    long r = existing(res, w);
    if (r < 0)
        return r;
    if (w.len == 0)
        return -err::kBusy;  // the mount point
    bool dir = is_dir(w.ino);
    if (rmdir && !dir)
        return -err::kNotDir;
    if (!rmdir && dir)
        return -err::kIsDir;
    if (dir && !dir_empty(w.ino))
        return -err::kNotEmpty;
    Dirent* d = find(w.parent, w.name, w.len);
    d->used = false;
    Inode& n = g_inodes[w.ino];
    if (dir) {
        n.nlink = 0;
        g_inodes[w.parent].nlink--;
    } else {
        n.nlink--;
    }
    n.ctime = g_inodes[w.parent].mtime = g_inodes[w.parent].ctime = now_ns();
    put_inode(w.ino);
    return 0;
}

long tmpfs_rename(const Resolved& from, const Resolved& to, uint32_t flags) {
    if (from.tmpfs != to.tmpfs)
        return -err::kXDev;
    if (flags & ~static_cast<uint32_t>(RENAME_NOREPLACE))
        return -err::kInval;  // RENAME_EXCHANGE, RENAME_WHITEOUT: not supported here
    Walk a, b;
    long r = existing(from, a);
    if (r < 0 || (r = walk(to, b)) < 0)
        return r;
    if (a.len == 0 || b.len == 0)
        return -err::kBusy;
    if (a.ino == b.ino)
        return 0;  // the same file: nothing to do, as Linux
    bool dir = is_dir(a.ino);
    // A directory cannot move below itself.
    for (uint32_t p = b.parent; dir; p = g_inodes[p].parent) {
        if (p == a.ino)
            return -err::kInval;
        if (p == g_inodes[p].parent)
            break;
    }
    if (b.ino != UINT32_MAX) {
        if (flags & RENAME_NOREPLACE)
            return -err::kExist;
        if (dir && !is_dir(b.ino))
            return -err::kNotDir;
        if (!dir && is_dir(b.ino))
            return -err::kIsDir;
        if (is_dir(b.ino) && !dir_empty(b.ino))
            return -err::kNotEmpty;
        if ((r = tmpfs_unlink(to, is_dir(b.ino))) < 0)
            return r;
    }
    Dirent* d = find(a.parent, a.name, a.len);
    d->dir = b.parent;
    d->len = static_cast<uint16_t>(b.len);
    memcpy(d->name, b.name, b.len);
    d->name[b.len] = 0;
    if (dir && a.parent != b.parent) {
        g_inodes[a.parent].nlink--;
        g_inodes[b.parent].nlink++;
        g_inodes[a.ino].parent = b.parent;
    }
    int64_t now = now_ns();
    g_inodes[a.ino].ctime = now;
    g_inodes[a.parent].mtime = g_inodes[a.parent].ctime = now;
    g_inodes[b.parent].mtime = g_inodes[b.parent].ctime = now;
    return 0;
}

long tmpfs_link(const Resolved& from, const Resolved& to) {
    if (from.tmpfs != to.tmpfs)
        return -err::kXDev;
    Walk a, b;
    long r = existing(from, a);
    if (r < 0 || (r = walk(to, b)) < 0)
        return r;
    if (is_dir(a.ino))
        return -err::kPerm;
    if (b.ino != UINT32_MAX || b.len == 0)
        return -err::kExist;
    if ((r = add_name(b.parent, b.name, b.len, a.ino)) < 0)
        return r;
    g_inodes[a.ino].nlink++;
    g_inodes[a.ino].ctime = now_ns();
    return 0;
}

long tmpfs_truncate(const Resolved& res, int64_t size) {
    Walk w;
    long r = existing(res, w);
    if (r < 0)
        return r;
    if (is_dir(w.ino))
        return -err::kIsDir;
    if ((g_inodes[w.ino].mode & S_IFMT) != S_IFREG)
        return -err::kInval;
    set_size(g_inodes[w.ino], static_cast<uint64_t>(size));
    return 0;
}

long tmpfs_chmod(const Resolved& res, uint32_t mode) {
    Walk w;
    long r = existing(res, w);
    if (r < 0)
        return r;
    Inode& n = g_inodes[w.ino];
    n.mode = (n.mode & S_IFMT) | (mode & 07777);
    n.ctime = now_ns();
    return 0;
}

long tmpfs_chown(const Resolved& res, int64_t uid, int64_t gid) {
    Walk w;
    long r = existing(res, w);
    return r < 0 ? r : chown_inode(g_inodes[w.ino], uid, gid);
}

long tmpfs_utimens(const Resolved& res, const int64_t* ns) {
    Walk w;
    long r = existing(res, w);
    if (r < 0)
        return r;
    set_times(g_inodes[w.ino], ns);
    return 0;
}

long tmpfs_statfs(const Resolved& res, uint64_t user_buf) {
    Walk w;
    long r = existing(res, w);
    return r < 0 ? r : statfs_of(instance_of(res) - g_inst, user_buf);
}

long tmpfs_is_dir(const Resolved& res) {
    Walk w;
    long r = existing(res, w);
    return r < 0 ? r : is_dir(w.ino) ? 0 : -err::kNotDir;
}

long tmpfs_getdents(OpenFile* f, uint64_t buf, uint64_t len) {
    uint32_t dir = f->handle;
    uint64_t used = 0;
    for (;;) {
        const char* name;
        size_t n;
        uint64_t ino;
        uint8_t type = DT_DIR;
        uint64_t idx = f->offset;
        if (idx == 0) {
            name = ".";
            n = 1;
            ino = dir + 1;
        } else if (idx == 1) {
            name = "..";
            n = 2;
            ino = g_inodes[dir].parent + 1;  // the root lists itself, as Linux's
        } else {
            uint64_t want = idx - 2, seen = 0;
            const Dirent* e = nullptr;
            for (uint32_t i = 0; i < kMaxDirents && !e; ++i)
                if (g_dirents[i].used && g_dirents[i].dir == dir && seen++ == want)
                    e = &g_dirents[i];
            if (!e)
                break;
            name = e->name;
            n = e->len;
            ino = e->ino + 1;
            uint32_t t = g_inodes[e->ino].mode & S_IFMT;
            type = t == S_IFDIR ? DT_DIR : t == S_IFIFO ? DT_FIFO : t == S_IFSOCK ? DT_SOCK : DT_REG;
        }
        uint8_t rec[offsetof(linux_dirent64, d_name) + kNameMax + 1 + 8] = {};
        uint64_t reclen = (offsetof(linux_dirent64, d_name) + n + 1 + 7) & ~uint64_t{7};
        if (used + reclen > len)
            return used ? static_cast<long>(used) : -err::kInval;
        uint64_t off = idx + 1;
        memcpy(rec + offsetof(linux_dirent64, d_ino), &ino, 8);
        memcpy(rec + offsetof(linux_dirent64, d_off), &off, 8);
        uint16_t rl = static_cast<uint16_t>(reclen);
        memcpy(rec + offsetof(linux_dirent64, d_reclen), &rl, 2);
        rec[offsetof(linux_dirent64, d_type)] = type;
        memcpy(rec + offsetof(linux_dirent64, d_name), name, n);
        if (copy_to_user(buf + used, rec, reclen) < 0)
            return -err::kFault;
        used += reclen;
        f->offset++;
    }
    g_inodes[dir].atime = now_ns();
    return static_cast<long>(used);
}

long tmpfs_ftruncate(OpenFile* f, int64_t size) {
    Inode& n = inode_of(f);
    auto to = static_cast<uint64_t>(size);
    if (((n.seals & F_SEAL_SHRINK) && to < n.size) || ((n.seals & F_SEAL_GROW) && to > n.size))
        return -err::kPerm;
    set_size(n, to);
    return 0;
}

// Mode 0 and FALLOC_FL_KEEP_SIZE reserve pages; punching holes frees them.
long tmpfs_fallocate(OpenFile* f, uint32_t mode, int64_t offset, int64_t len) {
    Inode& n = inode_of(f);
    auto off = static_cast<uint64_t>(offset), end = off + static_cast<uint64_t>(len);
    if ((n.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) && (mode & FALLOC_FL_PUNCH_HOLE))
        return -err::kPerm;
    if ((n.seals & F_SEAL_GROW) && end > n.size)  // even with FALLOC_FL_KEEP_SIZE, as Linux
        return -err::kPerm;
    if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
        for (uint64_t p = (off + kPageBytes - 1) / kPageBytes; p < end / kPageBytes && p < n.page_cap; ++p) {
            if (n.pages[p]) {
                frame_unref(n.pages[p]);
                n.pages[p] = 0;
                --n.pages_used;
                g_inst[n.instance].used -= kPageBytes;
            }
        }
        // Partial pages at either end: zero the bytes.
        for (uint64_t pos = off; pos < end && pos < n.size; ++pos) {
            uint64_t p = pos / kPageBytes;
            if (p < n.page_cap && n.pages[p])
                static_cast<uint8_t*>(phys_to_virt(n.pages[p]))[pos % kPageBytes] = 0;
            if (pos % kPageBytes == 0 && pos + kPageBytes <= end)
                pos += kPageBytes - 1;
        }
        n.mtime = n.ctime = now_ns();
        return 0;
    }
    if (mode & ~static_cast<uint32_t>(FALLOC_FL_KEEP_SIZE))
        return -err::kOpNotSupp;
    long err = 0;
    for (uint64_t pos = off - off % kPageBytes; pos < end; pos += kPageBytes)
        if (!page_at(n, pos, true, &err))
            return err ? err : -err::kNoSpc;
    if (!(mode & FALLOC_FL_KEEP_SIZE) && end > n.size)
        n.size = end;
    n.ctime = now_ns();
    return 0;
}

long tmpfs_fchmod(OpenFile* f, uint32_t mode) {
    Inode& n = inode_of(f);
    n.mode = (n.mode & S_IFMT) | (mode & 07777);
    n.ctime = now_ns();
    return 0;
}

long tmpfs_fchown(OpenFile* f, int64_t uid, int64_t gid) { return chown_inode(inode_of(f), uid, gid); }

long tmpfs_futimens(OpenFile* f, const int64_t* ns) {
    set_times(inode_of(f), ns);
    return 0;
}

long tmpfs_fstatfs(OpenFile* f, uint64_t user_buf) { return statfs_of(inode_of(f).instance, user_buf); }

long tmpfs_times_from(const __kernel_timespec* ts, int64_t* ns) {
    if (!ts)
        return 1;  // now
    int64_t now = now_ns();
    for (int i = 0; i < 2; ++i) {
        if (ts[i].tv_nsec == UTIME_OMIT)
            ns[i] = -1;
        else if (ts[i].tv_nsec == UTIME_NOW)
            ns[i] = now;
        else if (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000)
            return -err::kInval;
        else
            ns[i] = ts[i].tv_sec * 1000000000 + ts[i].tv_nsec;
    }
    return 0;
}


// ---- memfd_create and seals ---------------------------------------------------

long tmpfs_memfd(const char* name, size_t len, bool sealing, OpenFile** out) {
    read_mounts();
    Instance& in = g_inst[kMemfdInstance];
    if (in.limit == 0)
        in.limit = frames_total() * kPageBytes;  // memfds are bounded by guest RAM alone
    if (!ensure(kMemfdInstance))
        return -err::kNoMem;
    auto* copy = static_cast<char*>(kmem_alloc(len + 1));
    if (!copy)
        return -err::kNoMem;
    memcpy(copy, name, len);
    copy[len] = 0;
    uint32_t ino = new_inode(kMemfdInstance, S_IFREG | 0777);  // Linux's shmem_file_setup mode
    if (ino == UINT32_MAX) {
        kmem_free(copy, len + 1);
        return -err::kNFile;
    }
    Inode& n = g_inodes[ino];
    n.nlink = 0;  // no name anywhere: gone with its last open file
    n.name = copy;
    n.name_len = static_cast<uint32_t>(len);
    n.seals = sealing ? 0 : F_SEAL_SEAL;
    OpenFile* f = file_alloc(FileKind::TmpFile, O_RDWR);
    if (!f) {
        put_inode(ino);
        return -err::kNFile;
    }
    f->handle = ino;
    n.opens++;
    *out = f;
    return 0;
}

long tmpfs_reopen(OpenFile* f, uint32_t flags, OpenFile** out) {
    Inode& n = inode_of(f);
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && f->kind == FileKind::TmpFile) {
        if ((n.seals & F_SEAL_SHRINK) && n.size)
            return -err::kPerm;
        if (n.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
            return -err::kPerm;
    }
    OpenFile* nf = file_alloc(f->kind, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (!nf)
        return -err::kNFile;
    nf->handle = f->handle;
    n.opens++;
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && f->kind == FileKind::TmpFile)
        set_size(n, 0);
    *out = nf;
    return 0;
}

uint32_t tmpfs_file_instance(OpenFile* f) { return inode_of(f).instance; }

// Extended attributes (fs/tmpfs_xattr.cpp); a change is a metadata change.
static long xattr_on(uint32_t ino, uint32_t op, const char* name, size_t len, uint8_t* value, uint64_t size,
                     uint32_t flags) {
    Inode& n = g_inodes[ino];
    long r = tmpfs_xattr_op(ino, n.mode & S_IFMT, op, name, len, value, size, flags);
    if (r == 0 && (op == abi::kXattrSet || op == abi::kXattrRemove))
        n.ctime = now_ns();
    return r;
}
long tmpfs_xattr(const Resolved& res, uint32_t op, const char* name, size_t len, uint8_t* value, uint64_t size,
                 uint32_t flags) {
    Walk w;
    long r = existing(res, w);
    return r < 0 ? r : xattr_on(w.ino, op, name, len, value, size, flags);
}
long tmpfs_fxattr(OpenFile* f, uint32_t op, const char* name, size_t len, uint8_t* value, uint64_t size,
                  uint32_t flags) {
    return xattr_on(f->handle, op, name, len, value, size, flags);
}

long tmpfs_get_seals(OpenFile* f) { return static_cast<long>(inode_of(f).seals); }

static bool same_inode(const OpenFile* f, uint32_t ino) { return f->kind == FileKind::TmpFile && f->handle == ino; }

long tmpfs_add_seals(OpenFile* f, uint32_t seals) {
    constexpr uint32_t kAll = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
    Inode& n = inode_of(f);
    if (seals & ~kAll)
        return -err::kInval;
    if ((f->flags & O_ACCMODE) == O_RDONLY)
        return -err::kPerm;  // Linux: sealing needs a writable descriptor
    if (n.seals & F_SEAL_SEAL)
        return -err::kPerm;
    // Linux: no F_SEAL_WRITE while a shared mapping may still write.
    if ((seals & F_SEAL_WRITE) && !(n.seals & F_SEAL_WRITE) && mm_mapped_shared_writable(same_inode, f->handle))
        return -err::kBusy;
    n.seals |= seals;
    return 0;
}

long tmpfs_map_check(OpenFile* f, bool shared_write) {
    if (shared_write && (inode_of(f).seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
        return -err::kPerm;
    return 0;
}

uint64_t tmpfs_map_frame(OpenFile* f, uint64_t off, long* error) {
    uint64_t frame = page_at(inode_of(f), off, true, error);
    if (frame)
        frame_ref(frame);  // the mapping's reference; truncation drops only the file's
    return frame;
}

// Linux's d_path text: the file's path (its first name, walking up the
// directory entries); memfds "/memfd:NAME (deleted)". 0 when the name is
// gone (an unlinked file: the caller prints "file:[ino]").
size_t tmpfs_fd_link(OpenFile* f, char* buf, size_t cap) {
    const Inode& n = inode_of(f);
    char tmp[abi::kMaxPath];
    size_t end = sizeof tmp;
    auto prepend = [&](const char* s, size_t k) {
        k = k < end ? k : end;
        end -= k;
        memcpy(tmp + end, s, k);
    };
    if (n.name) {
        prepend(" (deleted)", 10);
        prepend(n.name, n.name_len);
        prepend("/memfd:", 7);
    } else {
        if (!n.nlink)
            return 0;
        uint32_t ino = f->handle;
        const Instance& in = g_inst[n.instance];
        for (int depth = 0; ino != in.root && depth < 256; ++depth) {
            const Dirent* d = nullptr;
            for (uint32_t i = 0; i < kMaxDirents && !d; ++i)
                if (g_dirents[i].used && g_dirents[i].ino == ino)
                    d = &g_dirents[i];
            if (!d)
                return 0;
            prepend(d->name, d->len);
            prepend("/", 1);
            ino = d->dir;
        }
        prepend(in.path, in.plen);
    }
    size_t len = sizeof tmp - end;
    len = len < cap ? len : cap;
    memcpy(buf, tmp + end, len);
    return len;
}

}  // namespace lightvm::guest

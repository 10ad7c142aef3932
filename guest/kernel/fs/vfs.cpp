#include "kernel/fs/vfs.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/fs/proc_pid.hpp"
#include "kernel/fs/synthetic_dirs.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/tty/devpts.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// Whether --rootfs mounted a share at "/": from the boot page, VM-wide.
bool g_has_root_mount;

FsContext& fsc() { return *current_process()->fs; }

bool equals(const char* a, size_t alen, const char* b) {
    size_t blen = strlen(b);
    return alen == blen && memcmp(a, b, alen) == 0;
}

// The chroot directory's length (0: none) and whether `a` is at or below it.
size_t root_len() { return fsc().root_len > 1 ? fsc().root_len : 0; }
bool under_root(const char* a, size_t n) {
    size_t r = root_len();
    return r == 0 || (n >= r && memcmp(a, fsc().root, r) == 0 && (n == r || a[r] == '/'));
}

// Appends components of `path` onto `out` (which holds a normalised
// absolute path), resolving "." and ".." lexically; ".." never goes above
// the first `floor` bytes (the chroot directory, as Linux stops there).
long normalise_into(char* out, size_t* out_len, const char* path, size_t len, size_t floor = 1) {
    size_t n = *out_len;
    size_t i = 0;
    while (i < len) {
        while (i < len && path[i] == '/')
            ++i;
        size_t start = i;
        while (i < len && path[i] != '/')
            ++i;
        size_t clen = i - start;
        if (clen == 0 || (clen == 1 && path[start] == '.'))
            continue;
        if (clen == 2 && path[start] == '.' && path[start + 1] == '.') {
            if (n <= floor)
                continue;
            while (n > 1 && out[n - 1] != '/')
                --n;
            if (n > 1)
                --n;  // drop the separator too, but keep the root "/"
            continue;
        }
        if (n + (n > 1 ? 1 : 0) + clen >= abi::kMaxPath)
            return -err::kNameTooLong;
        if (n > 1)
            out[n++] = '/';
        memcpy(out + n, path + start, clen);
        n += clen;
    }
    out[n] = 0;
    *out_len = n;
    return 0;
}

bool is_dots(const char* c, size_t n) { return (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'); }

bool has_dot_components(const char* p, size_t len) {
    size_t i = 0;
    while (i < len) {
        while (i < len && p[i] == '/')
            ++i;
        size_t s = i;
        while (i < len && p[i] != '/')
            ++i;
        if (i > s && is_dots(p + s, i - s))
            return true;
    }
    return false;
}

// `.` and `..` must be resolved after symlinks (`link/..` is the link
// target's parent). Walk base+path lexically until the walk is inside the
// mount by at least one component, then keep the rest verbatim for the
// monitor's physical resolution. If the verbatim part would climb out of the
// mount, keep the lexical result (the monitor could not follow it anyway).
// `mount` is where `..` must stop (the mount point, or a chroot directory
// below it); the tail for the monitor is relative to the share's mount
// point, the first share_mlen bytes.
void physical_tail(long dirfd, const char* path, size_t len, const char* mount, size_t mlen, size_t share_mlen,
                   Resolved& out) {
    static char stack[abi::kMaxPath];  // single vCPU: no reentrancy
    size_t sn = 0;
    auto walk = [&](const char* p, size_t plen, bool& verbatim, size_t& tail_len, int& depth, bool& escaped) {
        size_t i = 0;
        while (i < plen) {
            while (i < plen && p[i] == '/')
                ++i;
            size_t s = i;
            while (i < plen && p[i] != '/')
                ++i;
            size_t cn = i - s;
            if (cn == 0)
                continue;
            const char* c = p + s;
            if (verbatim) {
                if (tail_len + cn + 1 >= sizeof out.relbuf) {
                    escaped = true;
                    return;
                }
                if (tail_len)
                    out.relbuf[tail_len++] = '/';
                memcpy(out.relbuf + tail_len, c, cn);
                tail_len += cn;
                if (cn == 2 && c[0] == '.' && c[1] == '.')
                    --depth;
                else if (!(cn == 1 && c[0] == '.'))
                    ++depth;
                if (depth < 0)
                    escaped = true;
                continue;
            }
            if (cn == 1 && c[0] == '.')
                continue;
            if (cn == 2 && c[0] == '.' && c[1] == '.') {
                if (sn <= root_len() && under_root(stack, sn))
                    continue;  // ".." at the chroot directory stays there
                while (sn > 0 && stack[sn - 1] != '/')
                    --sn;
                if (sn > 0)
                    --sn;
                continue;
            }
            if (sn + cn + 2 >= sizeof stack) {
                escaped = true;
                return;
            }
            stack[sn++] = '/';
            memcpy(stack + sn, c, cn);
            sn += cn;
            // Strictly inside the mount? Then everything after is verbatim.
            bool inside = mlen == 1 ? sn > 0
                                    : (sn > mlen && memcmp(stack, mount, mlen) == 0 && stack[mlen] == '/');
            if (inside) {
                verbatim = true;
                size_t skip = share_mlen == 1 ? 1 : share_mlen + 1;
                tail_len = sn - skip;
                memcpy(out.relbuf, stack + skip, tail_len);
                depth = 0;  // components below `mount`, which `..` may pop
                for (size_t k = mlen == 1 ? 1 : mlen + 1; k < sn; ++k)
                    depth += stack[k] == '/';
                depth += 1;
            }
        }
    };
    bool verbatim = false, escaped = false;
    size_t tail_len = 0;
    int depth = 0;
    if (path[0] != '/') {
        const char* base = vfs_cwd();
        if (dirfd != AT_FDCWD) {
            OpenFile* f = fd_get(dirfd);
            base = f && f->path ? f->path : "/";
        }
        walk(base, strlen(base), verbatim, tail_len, depth, escaped);
    } else if (root_len()) {
        walk(fsc().root, root_len(), verbatim, tail_len, depth, escaped);
    }
    walk(path, len, verbatim, tail_len, depth, escaped);
    if (!verbatim || escaped)
        return;  // lexical result stands
    out.rel = out.relbuf;
    out.rel_len = tail_len;
    out.physical = true;
}

}  // namespace

void vfs_init() {
    g_has_root_mount = false;
    for (uint32_t i = 0; i < boot().mount_count && i < abi::kMaxMounts; ++i)
        if (strcmp(boot().mounts[i].guest_path, "/") == 0)
            g_has_root_mount = true;
    // The monitor normalised it; bound it again anyway (it is only a string).
    const char* cwd = boot().initial_cwd;
    size_t n = 0;
    while (n < sizeof boot().initial_cwd && cwd[n])
        ++n;
    if (n > 0 && n < sizeof boot().initial_cwd && cwd[0] == '/')
        vfs_set_cwd(cwd, n);
}

const char* vfs_cwd() { return fsc().cwd; }

size_t vfs_path_in_root(const char* abs, size_t n, char* out, size_t cap) {
    size_t r = root_len();
    const char* src = abs;
    size_t len = n, pre = 0;
    const char* prefix = "";
    if (r && under_root(abs, n)) {
        src = n == r ? "/" : abs + r;
        len = n == r ? 1 : n - r;
    } else if (r) {
        prefix = "(unreachable)";  // Linux's getcwd for a directory outside the root
        pre = 13;
    }
    if (pre + len + 1 > cap)
        return 0;
    memcpy(out, prefix, pre);
    memcpy(out + pre, src, len);
    out[pre + len] = 0;
    return pre + len;
}

long vfs_set_root(const char* abs, size_t len) {
    if (len + 1 > sizeof fsc().root)
        return -err::kNameTooLong;
    memcpy(fsc().root, abs, len);
    fsc().root[len] = 0;
    fsc().root_len = len;
    return 0;
}

int last_component_dots(const char* p, size_t len) {
    while (len > 0 && p[len - 1] == '/')
        --len;
    size_t s = len;
    while (s > 0 && p[s - 1] != '/')
        --s;
    size_t n = len - s;
    if (n == 1 && p[s] == '.')
        return 1;
    if (n == 2 && p[s] == '.' && p[s + 1] == '.')
        return 2;
    return 0;
}

long vfs_set_cwd(const char* abs, size_t len) {
    if (len + 1 > sizeof fsc().cwd)
        return -err::kNameTooLong;
    memcpy(fsc().cwd, abs, len);
    fsc().cwd[len] = 0;
    fsc().cwd_len = len;
    return 0;
}

long copy_user_path(uint64_t addr, char* buf, size_t* len) {
    long n = strncpy_from_user(buf, addr, abi::kMaxPath);
    if (n < 0)
        return n;
    *len = static_cast<size_t>(n);
    return 0;
}

namespace {

// "N" (decimal, no sign) as a descriptor number; -1 if it is not one.
long parse_fd(const char* s, size_t n) {
    if (n == 0 || n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// The kernel's device nodes, /proc files and descriptor names. Returns 0
// with out.special set, 0 with Special::None (not one of them), or -errno.
long resolve_special(const char* a, size_t n, Resolved& out) {
    struct Name {
        const char* path;
        Special special;
        long fd;  // Special::Fd
        uint32_t minor;
    };
    static constexpr Name kNames[] = {
        {"/dev/null", Special::DevNull, 0, 0},
        {"/dev/zero", Special::DevZero, 0, 0},
        {"/dev/full", Special::DevFull, 0, 0},
        {"/dev/random", Special::DevRandom, 0, ident::kRandomMinor},
        {"/dev/urandom", Special::DevRandom, 0, ident::kURandomMinor},
        {"/dev/tty", Special::DevTty, 0, 0},
        {"/dev/ptmx", Special::DevPtmx, 0, 0},
        {"/dev/console", Special::DevConsole, 0, 0},
        {"/dev/stdin", Special::Fd, 0, 0},
        {"/dev/stdout", Special::Fd, 1, 0},
        {"/dev/stderr", Special::Fd, 2, 0},
        {"/proc/mounts", Special::ProcMounts, 0, 0},  // (/proc/self/... is /proc/PID/..., fs/proc_pid.cpp)
    };
    for (const Name& k : kNames) {
        if (equals(a, n, k.path)) {
            out.special = k.special;
            out.fd = k.fd;
            out.minor = k.minor;
            return out.special == Special::Fd && !fd_get(out.fd) ? -err::kNoEnt : 0;
        }
    }
    if (devpts_lookup(a, n, &out.minor)) {
        out.special = Special::PtsSlave;
        return 0;
    }
    if ((out.proc = proc_file_lookup(a, n)) != ProcFile::None) {
        out.special = Special::ProcText;  // /proc/cpuinfo, /proc/meminfo, ... (fs/proc_files.hpp)
        return 0;
    }
    static constexpr const char* kFdDirs[] = {"/dev/fd/"};
    for (const char* dir : kFdDirs) {
        size_t dlen = strlen(dir);
        if (n > dlen && memcmp(a, dir, dlen) == 0) {
            long fd = parse_fd(a + dlen, n - dlen);
            if (fd < 0 || !fd_get(fd))
                return -err::kNoEnt;  // Linux: no such entry in the directory
            out.special = Special::Fd;
            out.fd = fd;
            return 0;
        }
    }
    if (n == 8 && memcmp(a, "/dev/vd", 7) == 0 && a[7] >= 'a' && a[7] <= 'p') {
        // /dev/vda.. : the i-th block device in the boot page.
        uint32_t want = static_cast<uint32_t>(a[7] - 'a'), seen = 0;
        for (uint32_t i = 0; i < boot().device_count && i < abi::kMaxDevices; ++i) {
            if (boot().devices[i].type != abi::kDevBlock)
                continue;
            if (seen++ == want) {
                out.special = Special::Block;
                out.block = i;
            }
        }
        return out.special == Special::Block ? 0 : -err::kNoEnt;
    }
    return 0;
}

// The fixed kernel directory (/dev, /proc) whose tree holds `a`, as the
// length of its path; 0 if none. Like Linux's devtmpfs and procfs, these
// are mounted over whatever --rootfs has there.
size_t kernel_tree(const char* a, size_t n) {
    static constexpr const char* kTrees[] = {"/dev", "/proc"};
    for (const char* top : kTrees) {
        size_t tlen = strlen(top);
        if (n >= tlen && memcmp(a, top, tlen) == 0 && (n == tlen || a[tlen] == '/'))
            return tlen;
    }
    return 0;
}

}  // namespace

long vfs_resolve(long dirfd, const char* path, size_t len, Resolved& out) {
    if (len == 0)
        return -err::kNoEnt;
    out = Resolved{};
    out.trailing_slash = path[len - 1] == '/';
    out.abs_len = 1;
    out.abs[0] = '/';
    out.abs[1] = 0;
    size_t floor = 1;
    if (path[0] == '/' && root_len()) {
        memcpy(out.abs, fsc().root, root_len() + 1);
        out.abs_len = floor = root_len();
    }
    if (path[0] != '/') {
        const char* base = fsc().cwd;
        size_t base_len = fsc().cwd_len;
        if (dirfd != AT_FDCWD) {
            OpenFile* f = fd_get(dirfd);
            if (!f)
                return -err::kBadF;
            if ((f->kind != FileKind::HostDir && f->kind != FileKind::SynthDir && f->kind != FileKind::TmpDir) ||
                !f->path)
                return -err::kNotDir;
            base = f->path;
            base_len = strlen(base);
        }
        long r = normalise_into(out.abs, &out.abs_len, base, base_len);
        if (r < 0)
            return r;
        if (root_len() && under_root(out.abs, out.abs_len))
            floor = root_len();  // (a directory outside the root, after chroot without chdir: no floor)
    }
    long r = normalise_into(out.abs, &out.abs_len, path, len, floor);
    if (r < 0)
        return r;

    if ((r = proc_pid_resolve(out)) < 0 || out.special != Special::None)
        return r;
    const char* a = out.abs;
    size_t n = out.abs_len;
    if ((r = resolve_special(a, n, out)) < 0 || out.special != Special::None)
        return r;

    // Longest mount prefix wins.
    int best = -1;
    size_t best_len = 0;
    for (uint32_t i = 0; i < boot().mount_count && i < abi::kMaxMounts; ++i) {
        const char* m = boot().mounts[i].guest_path;
        size_t mlen = strlen(m);
        bool match = (mlen == 1 && m[0] == '/') ||
                     (n >= mlen && memcmp(a, m, mlen) == 0 && (n == mlen || a[mlen] == '/'));
        if (match && (best < 0 || mlen > best_len)) {
            best = static_cast<int>(i);
            best_len = mlen;
        }
    }
    size_t tree = kernel_tree(a, n), tlen = 0;
    int tmp = tmpfs_match(a, n, &tlen);
    if (tmp >= 0 && (best < 0 || tlen > best_len) && tlen > tree) {
        out.in_tmpfs = true;
        out.tmpfs = static_cast<uint32_t>(tmp);
        size_t skip = tlen + (n > tlen ? 1 : 0);
        out.rel = a + skip;
        out.rel_len = n - skip;
        return 0;
    }
    if (best < 0 || (tree && best_len < tree)) {
        size_t len;
        if ((n == 1 && !g_has_root_mount) || is_kernel_dir(a, n) || mount_child(a, 0, &len)) {
            out.special = Special::SynthDir;  // the kernel's, or on the way to a mount point
            return 0;
        }
        return -err::kNoEnt;
    }
    out.in_share = true;
    out.share = boot().mounts[best].share;
    out.read_only = boot().mounts[best].flags & abi::kDevReadOnly;
    size_t skip = best_len == 1 ? 1 : best_len + (n > best_len ? 1 : 0);
    out.rel = a + skip;
    out.rel_len = n - skip;
    // A bind-mounted file: "file/", "file/." and "file/x" are ENOTDIR, as
    // on Linux (lexically, "file/." would be the file itself).
    if ((boot().mounts[best].flags & abi::kFsMountFile) &&
        (out.rel_len > 0 || out.trailing_slash || last_component_dots(path, len)))
        return -err::kNotDir;
    if (has_dot_components(path, len) && !out.rewritten) {
        // Below a chroot directory inside the share, `..` must not be left
        // to the monitor past it: the root counts as the mount here.
        const char* m = boot().mounts[best].guest_path;
        size_t ml = best_len;
        if (root_len() > best_len && under_root(a, n)) {
            m = fsc().root;
            ml = root_len();
        }
        physical_tail(dirfd, path, len, m, ml, best_len, out);
    }
    // Keep a trailing slash for the monitor: "file/" must fail as on Linux,
    // and "link-to-dir/" must follow the link.
    if (out.trailing_slash && out.rel_len > 0 && out.rel_len + 1 < sizeof out.relbuf) {
        if (out.rel != out.relbuf) {
            memcpy(out.relbuf, out.rel, out.rel_len);
            out.rel = out.relbuf;
        }
        out.relbuf[out.rel_len++] = '/';
        out.physical = true;  // "name/" and "name" may differ (symlinks)
    }
    return 0;
}

}  // namespace lightvm::guest

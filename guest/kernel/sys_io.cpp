// Standard streams. A small fd table whose entries point at the host's
// stdin/stdout/stderr; dup/dup2/fcntl work on it. Files arrive with the
// filesystem device (issue #3) and will extend this table.
#include "kernel/console.hpp"
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/syscall.hpp"

namespace lightvm::guest {

namespace {

enum : unsigned {
    kSysRead = 0, kSysWrite = 1, kSysClose = 3, kSysFstat = 5, kSysLseek = 8, kSysIoctl = 16,
    kSysPread64 = 17, kSysPwrite64 = 18, kSysReadv = 19, kSysWritev = 20, kSysDup = 32, kSysDup2 = 33,
    kSysFcntl = 72, kSysReadlink = 89, kSysReadlinkat = 267, kSysNewfstatat = 262, kSysDup3 = 292,
    kSysOpen = 2, kSysOpenat = 257, kSysAccess = 21, kSysFaccessat = 269, kSysFaccessat2 = 439,
    kSysStat = 4, kSysLstat = 6, kSysPoll = 7, kSysFsync = 74, kSysFdatasync = 75, kSysStatx = 332,
};

enum class FdKind : uint8_t { Closed, Stdin, Stdout, Stderr };
struct Fd {
    FdKind kind;
    bool cloexec;
};
constexpr int kMaxFds = 256;
Fd g_fds[kMaxFds];

constexpr int kOpenMax = 1024;
constexpr int kAtEmptyPath = 0x1000;
constexpr uint64_t kIovMax = 1024;

Fd* lookup(uint64_t fd) {
    if (fd >= kMaxFds || g_fds[fd].kind == FdKind::Closed)
        return nullptr;
    return &g_fds[fd];
}

unsigned stream_of(FdKind k) { return k == FdKind::Stderr ? abi::kStreamStderr : abi::kStreamStdout; }
unsigned host_fd_of(FdKind k) { return k == FdKind::Stdin ? 0 : k == FdKind::Stdout ? 1 : 2; }
bool is_tty(FdKind k) {
    // The monitor asked isatty() on the host; a character device such as
    // /dev/null is not a terminal.
    uint32_t f = boot().flags;
    return k == FdKind::Stdin ? (f & abi::kBootStdinTty) : k == FdKind::Stdout ? (f & abi::kBootStdoutTty) : (f & abi::kBootStderrTty);
}

long do_write(Fd* f, const void* buf, uint64_t len) {
    if (f->kind == FdKind::Stdin)
        return -err::kBadF;
    return console_write(stream_of(f->kind), buf, len);
}

long do_read(Fd* f, void* buf, uint64_t len) {
    if (f->kind != FdKind::Stdin)
        return -err::kBadF;
    if (len == 0)
        return 0;
    volatile abi::HcIo io{};
    io.fd = 0;
    io.buf = reinterpret_cast<uint64_t>(buf);
    io.len = len;
    hypercall(abi::kHcRead, &io);
    return io.result;
}

long sys_read(const SyscallArgs& a) {
    Fd* f = lookup(a.a0);
    if (!f)
        return -err::kBadF;
    if (!user_range_ok(a.a1, a.a2))
        return -err::kFault;
    return do_read(f, reinterpret_cast<void*>(a.a1), a.a2);
}

long sys_write(const SyscallArgs& a) {
    Fd* f = lookup(a.a0);
    if (!f)
        return -err::kBadF;
    if (!user_range_ok(a.a1, a.a2))
        return -err::kFault;
    return do_write(f, reinterpret_cast<const void*>(a.a1), a.a2);
}

struct Iovec {
    uint64_t base, len;
};

long sys_rwv(const SyscallArgs& a, bool writing) {
    Fd* f = lookup(a.a0);
    if (!f)
        return -err::kBadF;
    if (a.a2 > kIovMax)
        return -err::kInval;
    if (!user_range_ok(a.a1, a.a2 * sizeof(Iovec)))
        return -err::kFault;
    auto* iov = reinterpret_cast<const Iovec*>(a.a1);
    long total = 0;
    for (uint64_t i = 0; i < a.a2; ++i) {
        if (iov[i].len == 0)
            continue;
        if (!user_range_ok(iov[i].base, iov[i].len))
            return total ? total : -err::kFault;
        long r = writing ? do_write(f, reinterpret_cast<const void*>(iov[i].base), iov[i].len)
                         : do_read(f, reinterpret_cast<void*>(iov[i].base), iov[i].len);
        if (r < 0)
            return total ? total : r;
        total += r;
        if (static_cast<uint64_t>(r) < iov[i].len)
            break;  // short read/write ends the vector, as on Linux
    }
    return total;
}
long sys_readv(const SyscallArgs& a) { return sys_rwv(a, false); }
long sys_writev(const SyscallArgs& a) { return sys_rwv(a, true); }

long sys_close(const SyscallArgs& a) {
    Fd* f = lookup(a.a0);
    if (!f)
        return -err::kBadF;
    f->kind = FdKind::Closed;
    return 0;
}

long dup_to(uint64_t from, uint64_t to, bool cloexec) {
    Fd* f = lookup(from);
    if (!f)
        return -err::kBadF;
    if (to >= kMaxFds)
        return -err::kBadF;
    g_fds[to] = {f->kind, cloexec};
    return static_cast<long>(to);
}

long lowest_free(uint64_t from) {
    for (uint64_t i = from; i < kMaxFds; ++i)
        if (g_fds[i].kind == FdKind::Closed)
            return static_cast<long>(i);
    return -24;  // EMFILE
}

long sys_dup(const SyscallArgs& a) {
    if (!lookup(a.a0))
        return -err::kBadF;
    long to = lowest_free(0);
    return to < 0 ? to : dup_to(a.a0, static_cast<uint64_t>(to), false);
}
long sys_dup2(const SyscallArgs& a) {
    if (!lookup(a.a0))
        return -err::kBadF;
    return a.a0 == a.a1 ? static_cast<long>(a.a1) : dup_to(a.a0, a.a1, false);
}
long sys_dup3(const SyscallArgs& a) {
    if (a.a0 == a.a1 || (a.a2 & ~0x80000ull))
        return -err::kInval;
    return dup_to(a.a0, a.a1, a.a2 & 0x80000);
}

long sys_fcntl(const SyscallArgs& a) {
    Fd* f = lookup(a.a0);
    if (!f)
        return -err::kBadF;
    switch (a.a1) {
    case 0:     // F_DUPFD
    case 1030:  // F_DUPFD_CLOEXEC
    {
        if (a.a2 >= kOpenMax)
            return -err::kInval;
        long to = lowest_free(a.a2);
        return to < 0 ? to : dup_to(a.a0, static_cast<uint64_t>(to), a.a1 == 1030);
    }
    case 1:  // F_GETFD
        return f->cloexec ? 1 : 0;
    case 2:  // F_SETFD
        f->cloexec = a.a2 & 1;
        return 0;
    case 3:  // F_GETFL
        return f->kind == FdKind::Stdin ? 0 /* O_RDONLY */ : 1 /* O_WRONLY */;
    case 4:  // F_SETFL
        return 0;
    default:
        return -err::kInval;
    }
}

// struct stat for x86-64 (144 bytes).
struct Stat {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad0;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t reserved[3];
};
static_assert(sizeof(Stat) == 144);

long stat_fd(Fd* f, uint64_t out) {
    if (!user_range_ok(out, sizeof(Stat)))
        return -err::kFault;
    Stat st{};
    st.dev = 1;
    st.ino = host_fd_of(f->kind) + 1;
    st.nlink = 1;
    st.mode = boot().stdio_mode[host_fd_of(f->kind)];
    if (!st.mode)
        st.mode = 0010600;  // unknown: call it a pipe
    st.blksize = 4096;
    memcpy(reinterpret_cast<void*>(out), &st, sizeof st);
    return 0;
}

long sys_fstat(const SyscallArgs& a) {
    Fd* f = lookup(a.a0);
    return f ? stat_fd(f, a.a1) : -err::kBadF;
}

long sys_newfstatat(const SyscallArgs& a) {
    size_t len;
    if (!user_string_ok(a.a1, 4096, &len))
        return -err::kFault;
    if (len == 0) {
        if (!(a.a3 & kAtEmptyPath))
            return -err::kNoEnt;
        Fd* f = lookup(a.a0);
        return f ? stat_fd(f, a.a2) : -err::kBadF;
    }
    return -err::kNoEnt;  // no filesystem yet
}

long sys_path_enoent(const SyscallArgs& a) {
    size_t len;
    if (!user_string_ok(a.a0, 4096, &len))
        return -err::kFault;
    return -err::kNoEnt;
}
long sys_at_path_enoent(const SyscallArgs& a) {
    size_t len;
    if (!user_string_ok(a.a1, 4096, &len))
        return -err::kFault;
    return -err::kNoEnt;
}

long sys_lseek(const SyscallArgs& a) { return lookup(a.a0) ? -err::kSPipe : -err::kBadF; }
long sys_pread(const SyscallArgs& a) { return lookup(a.a0) ? -err::kSPipe : -err::kBadF; }
long sys_fsync(const SyscallArgs& a) {
    if (!lookup(a.a0))
        return -err::kBadF;
    console_flush();
    return 0;
}

long sys_ioctl(const SyscallArgs& a) {
    constexpr uint64_t kTcgets = 0x5401, kTiocgwinsz = 0x5413, kTiocgpgrp = 0x540f, kFionread = 0x541b;
    Fd* f = lookup(a.a0);
    if (!f)
        return -err::kBadF;
    if (!is_tty(f->kind))
        return -err::kNotTy;
    switch (a.a1) {
    case kTcgets: {
        // The kernel's struct termios: 4 flag words, c_line, 19 c_cc = 36 bytes.
        constexpr size_t kTermiosSize = 36;
        if (!user_range_ok(a.a2, kTermiosSize))
            return -err::kFault;
        // A cooked terminal: ICRNL | OPOST|ONLCR | B38400|CS8|CREAD | ISIG|ICANON|ECHO...
        uint8_t t[kTermiosSize] = {};
        const uint32_t flags[4] = {0x500, 0x5, 0xbf, 0x8a3b};
        memcpy(t, flags, sizeof flags);
        memcpy(reinterpret_cast<void*>(a.a2), t, kTermiosSize);
        return 0;
    }
    case kTiocgwinsz: {
        if (!user_range_ok(a.a2, 8))
            return -err::kFault;
        uint16_t ws[4] = {24, 80, 0, 0};
        memcpy(reinterpret_cast<void*>(a.a2), ws, 8);
        return 0;
    }
    case kTiocgpgrp:
        if (!user_range_ok(a.a2, 4))
            return -err::kFault;
        *reinterpret_cast<int32_t*>(a.a2) = static_cast<int32_t>(boot().pid);
        return 0;
    case kFionread:
        if (!user_range_ok(a.a2, 4))
            return -err::kFault;
        *reinterpret_cast<int32_t*>(a.a2) = 0;
        return 0;
    default:
        return -err::kNotTy;
    }
}

long sys_poll(const SyscallArgs& a) {
    // Standard streams are always "ready": reads block in the monitor.
    struct Pollfd {
        int32_t fd;
        int16_t events, revents;
    };
    if (a.a1 > kMaxFds || !user_range_ok(a.a0, a.a1 * sizeof(Pollfd)))
        return -err::kFault;
    auto* p = reinterpret_cast<Pollfd*>(a.a0);
    long ready = 0;
    for (uint64_t i = 0; i < a.a1; ++i) {
        p[i].revents = 0;
        if (p[i].fd < 0)
            continue;
        if (!lookup(static_cast<uint64_t>(p[i].fd)))
            p[i].revents = 0x20;  // POLLNVAL
        else
            p[i].revents = p[i].events & 0x5;  // POLLIN | POLLOUT
        if (p[i].revents)
            ++ready;
    }
    return ready;
}

long copy_link(const char* target, uint64_t buf, uint64_t size) {
    size_t n = strlen(target);
    if (static_cast<int64_t>(size) <= 0)
        return -err::kInval;
    if (n > size)
        n = size;
    if (!user_range_ok(buf, n))
        return -err::kFault;
    memcpy(reinterpret_cast<void*>(buf), target, n);
    return static_cast<long>(n);
}

long readlink_path(uint64_t path, uint64_t buf, uint64_t size) {
    size_t len;
    if (!user_string_ok(path, 4096, &len))
        return -err::kFault;
    if (strcmp(reinterpret_cast<const char*>(path), "/proc/self/exe") == 0)
        return copy_link(boot().exe_path, buf, size);
    return -err::kNoEnt;
}
long sys_readlink(const SyscallArgs& a) { return readlink_path(a.a0, a.a1, a.a2); }
long sys_readlinkat(const SyscallArgs& a) { return readlink_path(a.a1, a.a2, a.a3); }

}  // namespace

bool user_string_ok(uint64_t addr, uint64_t max_len, size_t* len_out) {
    uint64_t size = boot().mem_size;
    if (addr < abi::kPageSize || addr >= size)
        return false;
    const char* s = reinterpret_cast<const char*>(addr);
    uint64_t limit = size - addr < max_len ? size - addr : max_len;
    for (uint64_t i = 0; i < limit; ++i)
        if (s[i] == 0) {
            *len_out = i;
            return true;
        }
    return false;
}

void io_init() {
    uint32_t f = boot().flags;
    g_fds[0] = {(f & abi::kBootStdinClosed) ? FdKind::Closed : FdKind::Stdin, false};
    g_fds[1] = {(f & abi::kBootStdoutClosed) ? FdKind::Closed : FdKind::Stdout, false};
    g_fds[2] = {(f & abi::kBootStderrClosed) ? FdKind::Closed : FdKind::Stderr, false};
}

void register_io_syscalls(SyscallHandler* t) {
    io_init();
    t[kSysRead] = sys_read;
    t[kSysWrite] = sys_write;
    t[kSysReadv] = sys_readv;
    t[kSysWritev] = sys_writev;
    t[kSysClose] = sys_close;
    t[kSysDup] = sys_dup;
    t[kSysDup2] = sys_dup2;
    t[kSysDup3] = sys_dup3;
    t[kSysFcntl] = sys_fcntl;
    t[kSysFstat] = sys_fstat;
    t[kSysNewfstatat] = sys_newfstatat;
    t[kSysStat] = sys_path_enoent;
    t[kSysLstat] = sys_path_enoent;
    t[kSysOpen] = sys_path_enoent;
    t[kSysAccess] = sys_path_enoent;
    t[kSysOpenat] = sys_at_path_enoent;
    t[kSysFaccessat] = sys_at_path_enoent;
    t[kSysFaccessat2] = sys_at_path_enoent;
    t[kSysStatx] = sys_at_path_enoent;
    t[kSysLseek] = sys_lseek;
    t[kSysPread64] = sys_pread;
    t[kSysPwrite64] = sys_pread;
    t[kSysFsync] = sys_fsync;
    t[kSysFdatasync] = sys_fsync;
    t[kSysIoctl] = sys_ioctl;
    t[kSysPoll] = sys_poll;
    t[kSysReadlink] = sys_readlink;
    t[kSysReadlinkat] = sys_readlinkat;
}

}  // namespace lightvm::guest

// The socket file type: the pool of Socket objects, the file operations
// (read/write/poll/ioctl/stat/release on a socket fd) and the send/recv
// entry points shared by the syscalls, dispatching to the backend.
#include "kernel/net/socket.hpp"

#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/identity.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/net/sock_uapi.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {
// VM-wide pool, like pipes: a socket is shared by whoever holds its fd.
// 1024: a server with 200 concurrent loopback connections holds 401 (each
// connection is two sockets inside the VM); 128 refused the 64th.
constexpr int kMaxSockets = 1024;
// Pages from frames as slots are first used, not .bss: the kernel image
// has a size limit (abi.h kKernelLimit) and this table is 632 KiB.
KTable<Socket, kMaxSockets> g_socks;
// Slots ever used: scans (the idle poll, bind lookups) stop here, so a VM
// that never opened a socket never touches the pool's 632 KiB. Scanning all
// of it on each idle made every sleeping VM's host memory grow by that much
// (docs/benchmarks.md, section 4c).
int g_socks_used;
}  // namespace

int sock_slots() { return g_socks_used; }
Socket* sock_slot(int i) { return g_socks.peek(i); }

Socket* sock_of(OpenFile* f) { return f->sock; }
bool sock_nonblocking(const OpenFile* f) { return f->flags & O_NONBLOCK; }

SockAddr sockaddr_for_family(const SockAddr& a, int family) {
    SockAddr out = a;
    if (family == AF_INET6 && a.bytes[0] == AF_INET && a.len >= sizeof(sockaddr_in)) {
        sockaddr_in in;
        memcpy(&in, a.bytes, sizeof in);
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = in.sin_port;
        in6.sin6_addr.s6_addr[10] = in6.sin6_addr.s6_addr[11] = 0xff;
        memcpy(&in6.sin6_addr.s6_addr[12], &in.sin_addr, 4);
        memcpy(out.bytes, &in6, sizeof in6);
        out.len = sizeof in6;
    } else if (family == AF_INET && a.bytes[0] == AF_INET6 && a.len >= 24) {
        static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a.bytes + 8, kMapped, sizeof kMapped) != 0)
            return out;
        sockaddr_in in{};
        in.sin_family = AF_INET;
        memcpy(&in.sin_port, a.bytes + 2, 2);
        memcpy(&in.sin_addr, a.bytes + 20, 4);
        out = SockAddr{};
        memcpy(out.bytes, &in, sizeof in);
        out.len = sizeof in;
    }
    return out;
}

Socket* sock_alloc(int family, int type) {
    for (int i = 0; i < kMaxSockets; ++i) {
        Socket* slot = g_socks.get(i);
        if (!slot)
            return nullptr;
        Socket& s = *slot;
        if (s.used)
            continue;
        if (i >= g_socks_used)
            g_socks_used = i + 1;
        s = Socket{};
        s.used = true;
        s.refs = 1;
        s.family = static_cast<uint16_t>(family);
        s.type = static_cast<uint8_t>(type);
        s.handle = s.published = kNoHostHandle;
        s.rcvbuf = 212992;  // Linux's default net.core.rmem_default
        s.sndbuf = 212992;
        s.rcvtimeo = s.sndtimeo = kNoTimeout;
        s.local.bytes[0] = static_cast<uint8_t>(family);
        s.local.len = family == AF_UNIX ? 2 : 0;
        return &s;
    }
    return nullptr;
}

void sock_put(Socket* s) {
    if (--s->refs)
        return;
    if (s->host && s->handle != kNoHostHandle)
        host_close(s->handle);
    if (s->published != kNoHostHandle)
        host_close(s->published);
    local_release(s);
    s->used = false;
}

namespace {
// Linux keeps socket timeouts in jiffies; 250 Hz is Debian's CONFIG_HZ, so
// getsockopt rounds as a native run on such a host does.
constexpr int64_t kHz = 250, kJiffyNs = 1000000000 / kHz, kUsecPerJiffy = 1000000 / kHz;

struct Timeval {
    int64_t sec, usec;
};
static_assert(sizeof(Timeval) == 16);  // old timeval and __kernel_sock_timeval alike on x86-64

bool is_send_timeout(int name) { return name == SO_SNDTIMEO_OLD || name == SO_SNDTIMEO_NEW; }
}  // namespace

bool sock_timeout_opt(int level, int name) {
    return level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_OLD ||
                                   name == SO_SNDTIMEO_NEW);
}

// As Linux's sock_set_timeout: a negative time means "do not wait", a zero
// one (or one too large for jiffies) "wait forever"; microseconds round up.
long sock_set_timeout(Socket* s, int name, const uint8_t* v, uint32_t len) {
    Timeval tv;
    if (len < sizeof tv)
        return -err::kInval;
    memcpy(&tv, v, sizeof tv);
    if (tv.usec < 0 || tv.usec >= 1000000)
        return -EDOM;
    int64_t j = kNoTimeout;
    if (tv.sec < 0)
        j = 0;
    else if ((tv.sec || tv.usec) && tv.sec < INT64_MAX / kHz - 1)
        j = tv.sec * kHz + (tv.usec + kUsecPerJiffy - 1) / kUsecPerJiffy;
    (is_send_timeout(name) ? s->sndtimeo : s->rcvtimeo) = j;
    return 0;
}

void sock_get_timeout(const Socket* s, int name, uint8_t* v) {
    int64_t j = is_send_timeout(name) ? s->sndtimeo : s->rcvtimeo;
    Timeval tv{0, 0};
    if (j != kNoTimeout)
        tv = {j / kHz, j % kHz * kUsecPerJiffy};
    memcpy(v, &tv, sizeof tv);
}

uint64_t sock_deadline(const Socket* s, bool send) {
    int64_t j = send ? s->sndtimeo : s->rcvtimeo;
    if (j == kNoTimeout)
        return 0;
    uint64_t now = monotonic_ns();
    constexpr auto kFar = static_cast<uint64_t>(INT64_MAX);  // years away, and no overflow
    if (static_cast<uint64_t>(j) > (kFar - now) / kJiffyNs)
        return kFar;
    return now + static_cast<uint64_t>(j) * kJiffyNs;  // j == 0: already passed
}

long sock_wait_errno(WaitResult w, uint64_t deadline) {
    if (w == WaitResult::TimedOut)
        return -err::kAgain;
    return deadline ? -err::kIntr : -ERESTARTSYS;
}

long sock_install(Socket* s, uint32_t flags) {
    OpenFile* f = file_alloc(FileKind::Socket, O_RDWR | (flags & O_NONBLOCK));
    if (!f) {
        sock_put(s);
        return -err::kNFile;
    }
    f->sock = s;
    long fd = fd_install(f, 0, flags & O_CLOEXEC);
    if (fd < 0)
        file_put(f);  // releases s
    return fd;
}

long sock_send(OpenFile* f, const void* buf, size_t len, int flags, const SockAddr* to, OpenFile** fds,
               uint32_t nfds) {
    Socket* s = sock_of(f);
    long r;
    SockAddr host_to;
    if (s->host) {
        r = host_send(f, buf, len, flags, to);
    } else if (pub_udp_attached(s) && pub_udp_client(s, to, &host_to)) {
        r = pub_udp_send(f, buf, len, flags, host_to);  // a reply to a -p client
    } else {
        uint32_t saved = f->flags;
        if (flags & MSG_DONTWAIT)
            f->flags |= O_NONBLOCK;
        r = local_send(f, buf, len, to, fds, nfds);
        f->flags = saved;
    }
    if (r == -err::kPipe && !(flags & MSG_NOSIGNAL))
        return signal_epipe();
    return r;
}

long sock_recv(OpenFile* f, void* buf, size_t len, int flags, SockAddr* from, bool* truncated) {
    Socket* s = sock_of(f);
    *truncated = false;
    if (s->host)
        return host_recv(f, buf, len, flags, from);
    if (pub_udp_attached(s))
        return pub_udp_recv(f, buf, len, flags, from, truncated);
    return local_recv(f, buf, len, flags, from, truncated);
}

namespace {

long sock_read(OpenFile* f, void* buf, size_t len, int64_t) {
    bool trunc;
    return sock_recv(f, buf, len, 0, nullptr, &trunc);
}

long sock_write(OpenFile* f, const void* buf, size_t len, int64_t) {
    return sock_send(f, buf, len, 0, nullptr, nullptr, 0);
}

int sock_poll(OpenFile* f) {
    Socket* s = sock_of(f);
    if (s->host)
        return host_poll(s);
    int r = local_poll(s);
    if (s->published != kNoHostHandle && (s->revents & POLLIN))
        r |= POLLIN;  // a connection waits on the -p listener
    return r;
}

WaitQueue* sock_queue(OpenFile* f) { return &sock_of(f)->wq; }

// Each socket its own inode on sockfs (fs/identity.hpp): its kernel
// object's address is stable and distinct while it is open.
long sock_stat(OpenFile* f, Stat* out) {
    auto ino = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(sock_of(f))) >> 4;
    return synthetic_stat(out, ident::kDevSocket, ino, 0140000 | 0777, 0);
}

long sock_ioctl(OpenFile* f, uint64_t request, uint64_t arg) {
    Socket* s = sock_of(f);
    if (request == FIONREAD || request == TIOCOUTQ) {
        int32_t n = 0;
        if (request == FIONREAD) {
            long r = s->host                ? host_readable(s, s->handle)
                     : pub_udp_attached(s) ? pub_udp_readable(s)
                                           : local_readable(s);
            if (r < 0)
                return r;
            n = static_cast<int32_t>(r);
        }
        return copy_to_user(arg, &n, sizeof n);
    }
    return -err::kNotTy;
}

long sock_release(OpenFile* f) {
    sock_put(f->sock);
    f->sock = nullptr;
    return 0;
}

}  // namespace

const FileOps kSocketOps = {
    .read = sock_read,
    .write = sock_write,
    .seek = nullptr,
    .stat = sock_stat,
    .sync = nullptr,
    .ioctl = sock_ioctl,
    .poll = sock_poll,
    .wait_queue = sock_queue,
    .release = sock_release,
    .tty = false,
    .seekable = false,
};

}  // namespace lightvm::guest

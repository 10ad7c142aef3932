// The socket system calls: argument checks, address copies between user
// and kernel, message vectors and control data; the work is the
// backend's (net/local_socket.cpp, net/host_socket.cpp).
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/net/sock_uapi.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

uint8_t g_msg_bounce[65536];  // gathers/scatters multi-iovec messages

bool inet(int family) { return family == AF_INET || family == AF_INET6; }

long socket_file(long fd, OpenFile** f, Socket** s) {
    *f = fd_get(fd);
    if (!*f)
        return -err::kBadF;
    if ((*f)->kind != FileKind::Socket)
        return -ENOTSOCK;
    *s = (*f)->sock;
    return 0;
}

// A sockaddr from user memory, checked for the socket's family.
long get_addr(uint64_t uaddr, uint64_t ulen, int family, SockAddr* a) {
    if (ulen > kSockAddrMax || ulen < 2)
        return -err::kInval;
    if (copy_from_user(a->bytes, uaddr, ulen) < 0)
        return -err::kFault;
    a->len = static_cast<uint32_t>(ulen);
    int fam = a->bytes[0] | a->bytes[1] << 8;
    if (family == AF_UNIX) {
        if (fam != AF_UNIX)
            return -err::kInval;
        if (a->len > 2 && a->bytes[2]) {  // a path: its length is up to the NUL
            uint32_t n = 2;
            while (n < a->len && a->bytes[n])
                ++n;
            if (n >= kSockAddrMax)
                return -err::kInval;
            a->bytes[n] = 0;
            a->len = n + 1;
        }
        return 0;
    }
    if (fam == AF_UNSPEC && family == AF_INET && a->len >= sizeof(sockaddr_in))
        return 0;  // bind(AF_UNSPEC, INADDR_ANY) is accepted by Linux
    if (fam != family)
        return -EAFNOSUPPORT;
    uint32_t need = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6) - 4;
    return a->len < need ? -err::kInval : 0;
}

// Writes an address back as accept/getsockname/recvfrom do: truncated to
// the caller's buffer, the full length in *ulen.
long put_addr(const SockAddr& a, uint64_t uaddr, uint64_t ulen_addr) {
    if (!ulen_addr)
        return 0;
    int32_t cap;
    if (copy_from_user(&cap, ulen_addr, sizeof cap) < 0)
        return -err::kFault;
    if (cap < 0)
        return -err::kInval;
    uint32_t n = a.len < static_cast<uint32_t>(cap) ? a.len : static_cast<uint32_t>(cap);
    if (n && copy_to_user(uaddr, a.bytes, n) < 0)
        return -err::kFault;
    int32_t full = static_cast<int32_t>(a.len);
    return copy_to_user(ulen_addr, &full, sizeof full);
}

SockAddr unnamed(int family) {
    SockAddr a{};
    a.bytes[0] = static_cast<uint8_t>(family);
    a.len = family == AF_UNIX ? 2 : family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    return a;
}

long new_socket(int family, uint64_t type_arg, uint64_t protocol, Socket** out, uint32_t* flags) {
    int type = static_cast<int>(type_arg & 0xf);
    if (type_arg & ~uint64_t{0xf | SOCK_NONBLOCK | SOCK_CLOEXEC})
        return -err::kInval;
    if (family != AF_UNIX && !inet(family))
        return -EAFNOSUPPORT;
    if (type != SOCK_STREAM && type != SOCK_DGRAM)
        return type == SOCK_SEQPACKET || type == SOCK_RAW ? -ESOCKTNOSUPPORT : -err::kInval;
    if (family == AF_UNIX ? protocol != 0 : (protocol != 0 && protocol != (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP)))
        return -EPROTONOSUPPORT;
    Socket* s = sock_alloc(family, type);
    if (!s)
        return -err::kNFile;
    if (inet(family))
        s->local = unnamed(family);
    if (inet(family) && net_host_mode()) {
        if (long r = host_socket(s, static_cast<int>(protocol)); r < 0) {
            sock_put(s);
            return r;
        }
    }
    *out = s;
    *flags = static_cast<uint32_t>(type_arg & (SOCK_NONBLOCK | SOCK_CLOEXEC));
    return 0;
}

bool backlog_waiting(const Socket* s) { return s->backlog_n > 0 || s->state != SockState::Listening; }

long do_accept(long fd, uint64_t uaddr, uint64_t ulen, uint64_t flags) {
    if (flags & ~uint64_t{SOCK_NONBLOCK | SOCK_CLOEXEC})
        return -err::kInval;
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd, &f, &s));
    if (s->type != SOCK_STREAM)
        return -err::kOpNotSupp;
    if (s->state != SockState::Listening)
        return -err::kInval;
    Socket* c = nullptr;
    const uint64_t deadline = sock_deadline(s, false);  // accept waits under SO_RCVTIMEO
    for (;;) {
        long r;
        if (s->host) {
            r = host_accept(f, s->handle, deadline, &c);
        } else {
            r = local_accept(f, &c);
            if (r == -err::kAgain && s->published != kNoHostHandle)
                r = host_accept(f, s->published, deadline, &c);
        }
        if (r == 0)
            break;
        if (r != -err::kAgain || sock_nonblocking(f))
            return r;
        WaitResult w;
        if (s->host || s->published != kNoHostHandle)
            w = host_wait(s, POLLIN, deadline, s->host ? nullptr : backlog_waiting, true);
        else
            w = wait_event_interruptible(s->wq, [s] { return backlog_waiting(s); }, deadline);
        if (w != WaitResult::Ready)
            return sock_wait_errno(w, deadline);
    }
    SockAddr peer = c->remote;
    long nfd = sock_install(c, static_cast<uint32_t>(flags));
    if (nfd < 0)
        return nfd;
    if (uaddr && put_addr(peer, uaddr, ulen) < 0)
        return -err::kFault;  // as Linux: the connection is consumed
    return nfd;
}

struct Iov {
    uint64_t base, len;
};

// The message's data as one buffer: the single iovec itself, or the
// bounce buffer (gathered when sending). total: bytes it covers.
long msg_buffer(const UserMsghdr& m, bool sending, uint8_t** buf, uint64_t* total) {
    if (m.iovlen > UIO_MAXIOV)
        return -EMSGSIZE;
    if (m.iovlen && !access_ok(m.iov, m.iovlen * sizeof(Iov)))
        return -err::kFault;
    auto* iov = reinterpret_cast<const Iov*>(m.iov);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < m.iovlen; ++i) {
        // Receiving: access_ok_write also brings the pages in (and breaks
        // copy-on-write) before the monitor or a ring writes into them.
        if (iov[i].len && !(sending ? access_ok(iov[i].base, iov[i].len) : access_ok_write(iov[i].base, iov[i].len)))
            return -err::kFault;
        sum += iov[i].len;
    }
    if (m.iovlen == 1) {
        *buf = reinterpret_cast<uint8_t*>(iov[0].base);
        *total = sum;
        return 0;
    }
    *total = sum < sizeof g_msg_bounce ? sum : sizeof g_msg_bounce;  // a larger vector moves in parts
    *buf = g_msg_bounce;
    if (sending) {
        uint64_t off = 0;
        for (uint64_t i = 0; i < m.iovlen && off < *total; ++i) {
            uint64_t n = iov[i].len < *total - off ? iov[i].len : *total - off;
            memcpy(g_msg_bounce + off, reinterpret_cast<const void*>(iov[i].base), n);
            off += n;
        }
    }
    return 0;
}

void scatter(const UserMsghdr& m, uint64_t n) {
    if (m.iovlen == 1)
        return;
    auto* iov = reinterpret_cast<const Iov*>(m.iov);
    uint64_t off = 0;
    for (uint64_t i = 0; i < m.iovlen && off < n; ++i) {
        uint64_t k = iov[i].len < n - off ? iov[i].len : n - off;
        memcpy(reinterpret_cast<void*>(iov[i].base), g_msg_bounce + off, k);
        off += k;
    }
}

constexpr uint32_t kMaxPassFds = 16;

// SCM_RIGHTS in a sendmsg's control data (AF_UNIX): the files to pass.
long control_fds(const UserMsghdr& m, OpenFile** files, uint32_t* n) {
    *n = 0;
    if (!m.control || m.controllen < sizeof(Cmsghdr))
        return 0;
    if (m.controllen > 4096 || !access_ok(m.control, m.controllen))
        return -err::kInval;
    uint64_t off = 0;
    while (off + sizeof(Cmsghdr) <= m.controllen) {
        Cmsghdr c;
        memcpy(&c, reinterpret_cast<const void*>(m.control + off), sizeof c);
        if (c.len < sizeof c || off + c.len > m.controllen)
            return -err::kInval;
        if (c.level == SOL_SOCKET && c.type == SCM_RIGHTS) {
            uint64_t count = (c.len - sizeof c) / 4;
            for (uint64_t i = 0; i < count; ++i) {
                int32_t fd;
                memcpy(&fd, reinterpret_cast<const void*>(m.control + off + sizeof c + 4 * i), 4);
                OpenFile* f = fd_get(fd);
                if (!f)
                    return -err::kBadF;
                if (*n >= kMaxPassFds)
                    return -ETOOMANYREFS;
                files[(*n)++] = f;
            }
        } else {
            return -err::kInval;
        }
        off += (c.len + 7) & ~uint64_t{7};
    }
    return 0;
}

long do_sendmsg(long fd, uint64_t umsg, uint64_t flags) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd, &f, &s));
    UserMsghdr m;
    if (copy_from_user(&m, umsg, sizeof m) < 0)
        return -err::kFault;
    SockAddr to{};
    if (m.name && m.namelen)
        TRY_ERRNO(get_addr(m.name, m.namelen, s->family, &to));
    OpenFile* files[kMaxPassFds];
    uint32_t nfiles = 0;
    TRY_ERRNO(control_fds(m, files, &nfiles));
    if (nfiles && s->host)
        return -err::kInval;
    uint8_t* buf;
    uint64_t total;
    TRY_ERRNO(msg_buffer(m, true, &buf, &total));
    return sock_send(f, buf, total, static_cast<int>(flags), to.len ? &to : nullptr, files, nfiles);
}

// Installs passed files as new fds and writes the SCM_RIGHTS message.
long deliver_fds(Socket* s, UserMsghdr& m, uint64_t flags) {
    uint64_t room = m.controllen;
    m.controllen = 0;
    if (s->host || !s->passed_n)
        return 0;
    if (!m.control || room < sizeof(Cmsghdr) + 4) {
        m.flags |= MSG_CTRUNC;
        return 0;
    }
    uint32_t max = static_cast<uint32_t>((room - sizeof(Cmsghdr)) / 4);
    OpenFile* files[kMaxPassFds];
    uint32_t n = local_take_fds(s, files, max < kMaxPassFds ? max : kMaxPassFds);
    int32_t fds[kMaxPassFds];
    for (uint32_t i = 0; i < n; ++i) {
        long nfd = fd_install(files[i], 0, flags & MSG_CMSG_CLOEXEC);
        if (nfd < 0) {
            file_put(files[i]);
            m.flags |= MSG_CTRUNC;
            n = i;
            break;
        }
        fds[i] = static_cast<int32_t>(nfd);
    }
    Cmsghdr c{sizeof(Cmsghdr) + 4 * n, SOL_SOCKET, SCM_RIGHTS};
    if (copy_to_user(m.control, &c, sizeof c) < 0 || copy_to_user(m.control + sizeof c, fds, 4 * n) < 0)
        return -err::kFault;
    m.controllen = c.len;
    return 0;
}

long do_recvmsg(long fd, uint64_t umsg, uint64_t flags) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd, &f, &s));
    UserMsghdr m;
    if (copy_from_user(&m, umsg, sizeof m) < 0)
        return -err::kFault;
    uint8_t* buf;
    uint64_t total;
    TRY_ERRNO(msg_buffer(m, false, &buf, &total));
    SockAddr from{};
    bool trunc = false;
    long n = sock_recv(f, buf, total, static_cast<int>(flags), m.name ? &from : nullptr, &trunc);
    if (n < 0)
        return n;
    scatter(m, static_cast<uint64_t>(n) < total ? static_cast<uint64_t>(n) : total);
    m.flags = trunc ? MSG_TRUNC : 0;
    if (m.name) {
        uint32_t k = from.len < m.namelen ? from.len : m.namelen;
        if (k && copy_to_user(m.name, from.bytes, k) < 0)
            return -err::kFault;
        m.namelen = from.len;
    }
    TRY_ERRNO(deliver_fds(s, m, flags));
    if (copy_to_user(umsg, &m, sizeof m) < 0)
        return -err::kFault;
    return n;
}

// --- options ----------------------------------------------------------

uint32_t bool_opt(int level, int name) {
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR: return kOptReuseAddr;
        case SO_REUSEPORT: return kOptReusePort;
        case SO_KEEPALIVE: return kOptKeepAlive;
        case SO_BROADCAST: return kOptBroadcast;
        case SO_PASSCRED: return kOptPassCred;
        default: return 0;
        }
    }
    if (level == SOL_TCP_LEVEL && name == TCP_NODELAY)
        return kOptNoDelay;
    if (level == SOL_IPV6_LEVEL && name == IPV6_V6ONLY)
        return kOptV6Only;
    return 0;
}

long local_setopt(Socket* s, int level, int name, const uint8_t* v, uint32_t len) {
    int32_t iv = 0;
    if (len >= 4)
        memcpy(&iv, v, 4);
    if (uint32_t bit = bool_opt(level, name)) {
        if (len < 4)
            return -err::kInval;
        s->opts = iv ? s->opts | bit : s->opts & ~bit;
        return 0;
    }
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_RCVBUF:
        case SO_SNDBUF:
            if (len < 4)
                return -err::kInval;
            (name == SO_RCVBUF ? s->rcvbuf : s->sndbuf) = iv < 1152 ? 2304 : iv * 2;  // Linux doubles it
            return 0;
        case SO_LINGER:
            if (len < 8)
                return -err::kInval;
            memcpy(&s->linger_on, v, 4);
            memcpy(&s->linger_s, v + 4, 4);
            return 0;
        case SO_RCVTIMEO_OLD:
        case SO_RCVTIMEO_NEW:
        case SO_SNDTIMEO_OLD:
        case SO_SNDTIMEO_NEW:
            return sock_set_timeout(s, name, v, len);
        case SO_RCVLOWAT:
        case SO_OOBINLINE:
        case SO_PRIORITY:
            return 0;  // accepted; not applied (documented)
        default:
            return -ENOPROTOOPT;
        }
    }
    if (level == SOL_TCP_LEVEL && inet(s->family))
        return 0;  // keepalive timers, cork, ...: nothing to tune on a loopback in memory
    if ((level == SOL_IP_LEVEL && s->family == AF_INET) || (level == SOL_IPV6_LEVEL && s->family == AF_INET6))
        return 0;
    return -ENOPROTOOPT;
}

long local_getopt(Socket* s, int level, int name, uint8_t* v, uint32_t* len) {
    int32_t iv;
    if (uint32_t bit = bool_opt(level, name)) {
        iv = (s->opts & bit) ? 1 : 0;
    } else if (level == SOL_SOCKET) {
        switch (name) {
        case SO_TYPE: iv = s->type; break;
        case SO_DOMAIN: iv = s->family; break;
        case SO_PROTOCOL: iv = s->family == AF_UNIX ? 0 : s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP; break;
        case SO_ACCEPTCONN: iv = s->state == SockState::Listening; break;
        case SO_ERROR: iv = s->so_error; s->so_error = 0; break;
        case SO_RCVBUF: iv = s->rcvbuf; break;
        case SO_SNDBUF: iv = s->sndbuf; break;
        case SO_RCVTIMEO_OLD:
        case SO_RCVTIMEO_NEW:
        case SO_SNDTIMEO_OLD:
        case SO_SNDTIMEO_NEW: {
            uint8_t tv[16];
            sock_get_timeout(s, name, tv);
            uint32_t n = *len < sizeof tv ? *len : sizeof tv;
            memcpy(v, tv, n);
            *len = n;
            return 0;
        }
        case SO_LINGER: {
            int32_t l[2] = {s->linger_on, s->linger_s};
            uint32_t n = *len < 8 ? *len : 8;
            memcpy(v, l, n);
            *len = n;
            return 0;
        }
        case SO_PEERCRED: {
            if (s->family != AF_UNIX)
                return -ENOPROTOOPT;
            const Process* p = current_process();  // one process per VM today: the peer is us
            uint32_t cred[3] = {p->pid, p->cred.uid, p->cred.gid};
            uint32_t n = *len < 12 ? *len : 12;
            memcpy(v, cred, n);
            *len = n;
            return 0;
        }
        default:
            return -ENOPROTOOPT;
        }
    } else if (level == SOL_TCP_LEVEL && inet(s->family) && name == TCP_MAXSEG) {
        iv = 65483;  // loopback MTU minus headers
    } else {
        return -ENOPROTOOPT;
    }
    uint32_t n = *len < 4 ? *len : 4;
    memcpy(v, &iv, n);
    *len = n;
    return 0;
}

}  // namespace

long sys_socket(const SyscallArgs& a) {
    Socket* s;
    uint32_t flags;
    TRY_ERRNO(new_socket(static_cast<int>(a.a0), a.a1, a.a2, &s, &flags));
    return sock_install(s, flags);
}

long sys_socketpair(const SyscallArgs& a) {
    int family = static_cast<int>(a.a0);
    if (inet(family))
        return -err::kOpNotSupp;
    if (!access_ok(a.a3, 8))
        return -err::kFault;
    Socket *x, *y;
    uint32_t flags;
    TRY_ERRNO(new_socket(family, a.a1, a.a2, &x, &flags));
    long r = new_socket(family, a.a1, a.a2, &y, &flags);
    if (r < 0) {
        sock_put(x);
        return r;
    }
    if ((r = local_pair(x, y)) < 0) {
        sock_put(x);
        sock_put(y);
        return r;
    }
    long fx = sock_install(x, flags);
    if (fx < 0) {
        sock_put(y);
        return fx;
    }
    long fy = sock_install(y, flags);
    if (fy < 0) {
        fd_close(fx);
        return fy;
    }
    int32_t fds[2] = {static_cast<int32_t>(fx), static_cast<int32_t>(fy)};
    return copy_to_user(a.a3, fds, sizeof fds);
}

long sys_bind(const SyscallArgs& a) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd_arg(a.a0), &f, &s));
    SockAddr addr;
    TRY_ERRNO(get_addr(a.a1, a.a2, s->family, &addr));
    if (s->host)
        return host_bind(s, addr);
    TRY_ERRNO(local_bind(s, addr));
    pub_udp_attach(s);  // a -p /udp port (--net none)
    return 0;
}

long sys_listen(const SyscallArgs& a) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd_arg(a.a0), &f, &s));
    int backlog = static_cast<int32_t>(a.a1);
    if (s->host)
        return host_listen(s, backlog < 0 ? 4096 : backlog);
    TRY_ERRNO(local_listen(s, backlog < 0 ? 4096 : backlog));
    if (inet(s->family) && s->published == kNoHostHandle) {
        uint16_t port = static_cast<uint16_t>(s->local.bytes[2] << 8 | s->local.bytes[3]);
        long pub = host_published(port, SOCK_STREAM);
        if (pub >= 0) {
            s->published = static_cast<uint32_t>(pub);
            s->revents = 0;
        }
    }
    return 0;
}

long sys_accept(const SyscallArgs& a) { return do_accept(fd_arg(a.a0), a.a1, a.a2, 0); }
long sys_accept4(const SyscallArgs& a) { return do_accept(fd_arg(a.a0), a.a1, a.a2, a.a3); }

long sys_connect(const SyscallArgs& a) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd_arg(a.a0), &f, &s));
    SockAddr addr;
    TRY_ERRNO(get_addr(a.a1, a.a2, s->family, &addr));
    if (s->host)
        return host_connect(f, addr);
    return local_connect(f, addr);
}

long sys_sendto(const SyscallArgs& a) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd_arg(a.a0), &f, &s));
    if (!access_ok(a.a1, a.a2))
        return -err::kFault;
    SockAddr to{};
    if (a.a4 && a.a5)
        TRY_ERRNO(get_addr(a.a4, a.a5, s->family, &to));
    return sock_send(f, reinterpret_cast<const void*>(a.a1), a.a2, static_cast<int>(a.a3), to.len ? &to : nullptr,
                     nullptr, 0);
}

long sys_recvfrom(const SyscallArgs& a) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd_arg(a.a0), &f, &s));
    if (!access_ok_write(a.a1, a.a2))
        return -err::kFault;
    SockAddr from{};
    bool trunc;
    long n = sock_recv(f, reinterpret_cast<void*>(a.a1), a.a2, static_cast<int>(a.a3), a.a4 ? &from : nullptr,
                       &trunc);
    if (n >= 0 && a.a4 && put_addr(from, a.a4, a.a5) < 0)
        return -err::kFault;
    return n;
}

long sys_sendmsg(const SyscallArgs& a) { return do_sendmsg(fd_arg(a.a0), a.a1, a.a2); }
long sys_recvmsg(const SyscallArgs& a) { return do_recvmsg(fd_arg(a.a0), a.a1, a.a2); }

long sys_sendmmsg(const SyscallArgs& a) {
    uint64_t n = a.a2 > UIO_MAXIOV ? UIO_MAXIOV : a.a2;
    uint64_t done = 0;
    for (; done < n; ++done) {
        uint64_t um = a.a1 + done * sizeof(UserMmsghdr);
        long r = do_sendmsg(fd_arg(a.a0), um, a.a3);
        if (r < 0)
            return done ? static_cast<long>(done) : r;
        uint32_t len = static_cast<uint32_t>(r);
        if (copy_to_user(um + offsetof(UserMmsghdr, len), &len, 4) < 0)
            return -err::kFault;
    }
    return static_cast<long>(done);
}

namespace {
struct Timespec {
    int64_t sec, nsec;
};

// recvmmsg's timeout as a monotonic end (0 for a zero timeout: over after
// the first datagram, as Linux's poll_select_set_timeout leaves it).
long mmsg_end(uint64_t utimeout, int64_t* end) {
    Timespec ts;
    if (copy_from_user(&ts, utimeout, sizeof ts) < 0)
        return -err::kFault;
    if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
        return -err::kInval;
    *end = 0;
    if (ts.sec || ts.nsec) {
        constexpr int64_t kMaxSec = INT64_MAX / 1000000000 / 2;  // ~146 years: "now" plus it cannot overflow
        int64_t sec = ts.sec < kMaxSec ? ts.sec : kMaxSec;
        *end = static_cast<int64_t>(monotonic_ns()) + sec * 1000000000 + ts.nsec;
    }
    return 0;
}
}  // namespace

// The timeout is checked after each datagram only, so a wait for the next
// one is not cut short (man 2 recvmmsg, BUGS: Linux's do_recvmmsg); the
// time left is written back when a datagram came.
long sys_recvmmsg(const SyscallArgs& a) {
    uint64_t n = a.a2 > UIO_MAXIOV ? UIO_MAXIOV : a.a2;
    uint64_t flags = a.a3;
    int64_t end = 0, left = 0;
    if (a.a4)
        TRY_ERRNO(mmsg_end(a.a4, &end));
    uint64_t done = 0;
    while (done < n) {
        uint64_t um = a.a1 + done * sizeof(UserMmsghdr);
        long r = do_recvmsg(fd_arg(a.a0), um, flags);
        if (r < 0 && !done)
            return r;
        if (r < 0)
            break;
        uint32_t len = static_cast<uint32_t>(r);
        if (copy_to_user(um + offsetof(UserMmsghdr, len), &len, 4) < 0)
            return -err::kFault;
        ++done;
        if (flags & MSG_WAITFORONE)
            flags |= MSG_DONTWAIT;
        if (a.a4 && (left = end - static_cast<int64_t>(monotonic_ns())) <= 0) {
            left = 0;
            break;
        }
    }
    Timespec rest{left / 1000000000, left % 1000000000};
    if (a.a4 && done && copy_to_user(a.a4, &rest, sizeof rest) < 0)
        return -err::kFault;
    return static_cast<long>(done);
}

long sys_shutdown(const SyscallArgs& a) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd_arg(a.a0), &f, &s));
    int how = static_cast<int32_t>(a.a1);
    if (how < SHUT_RD || how > SHUT_RDWR)
        return -err::kInval;
    return s->host ? host_shutdown(s, how) : local_shutdown(s, how);
}

static long sock_name(const SyscallArgs& a, bool peer) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd_arg(a.a0), &f, &s));
    SockAddr name{};
    if (s->host) {
        TRY_ERRNO(host_name(s, peer, &name));
    } else if (peer) {
        if (s->state != SockState::Connected)
            return -ENOTCONN;
        name = s->remote;
    } else {
        name = s->local;
    }
    return put_addr(name, a.a1, a.a2);
}
long sys_getsockname(const SyscallArgs& a) { return sock_name(a, false); }
long sys_getpeername(const SyscallArgs& a) { return sock_name(a, true); }

long sys_setsockopt(const SyscallArgs& a) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd_arg(a.a0), &f, &s));
    int level = static_cast<int32_t>(a.a1), name = static_cast<int32_t>(a.a2);
    uint32_t len = static_cast<uint32_t>(a.a4);
    uint8_t v[64];
    if (len > sizeof v)
        len = sizeof v;
    if (copy_from_user(v, a.a3, len) < 0)
        return -err::kFault;
    // Timeouts are the guest's to apply (the host socket never blocks).
    if (s->host && !sock_timeout_opt(level, name))
        return host_setopt(s, level, name, v, len);
    return local_setopt(s, level, name, v, len);
}

long sys_getsockopt(const SyscallArgs& a) {
    OpenFile* f;
    Socket* s;
    TRY_ERRNO(socket_file(fd_arg(a.a0), &f, &s));
    int level = static_cast<int32_t>(a.a1), name = static_cast<int32_t>(a.a2);
    int32_t ulen;
    if (copy_from_user(&ulen, a.a4, sizeof ulen) < 0)
        return -err::kFault;
    if (ulen < 0)
        return -err::kInval;
    uint8_t v[128] = {};
    uint32_t len = static_cast<uint32_t>(ulen) < sizeof v ? static_cast<uint32_t>(ulen) : sizeof v;
    long r = s->host && !sock_timeout_opt(level, name) ? host_getopt(s, level, name, v, &len)
                                                        : local_getopt(s, level, name, v, &len);
    if (r < 0)
        return r;
    if (copy_to_user(a.a3, v, len) < 0)
        return -err::kFault;
    int32_t out = static_cast<int32_t>(len);
    return copy_to_user(a.a4, &out, sizeof out);
}

}  // namespace lightvm::guest

// The Local backend: sockets that never leave the VM. AF_UNIX always;
// AF_INET/AF_INET6 with --net none, where 127.0.0.0/8, ::1 and the
// unspecified address all mean this VM (one loopback host, ports shared by
// both families). Data moves between rings in guest memory, so nothing
// here costs an exit; waiting is the wait queues' (as for pipes).
// Simplifications, documented in docs/design.md: AF_UNIX names live in the
// VM (no socket file appears in a share); descriptors passed with
// SCM_RIGHTS are delivered with the next recvmsg that asks for them.
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/net/sock_uapi.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

struct SockRing {
    bool used;
    uint32_t head, tail;  // free-running
    uint8_t* data;        // kRingCap bytes from guest RAM on first use, kept for reuse
};

namespace {

constexpr uint32_t kRingCap = 65536;  // per direction, like a pipe
// One per connected stream socket or bound datagram socket; the 64 KiB of
// data is taken from guest RAM on first use only (200 loopback connections:
// 400 rings, 25 MiB), so a large table costs nothing until used.
constexpr int kMaxRings = 1024;
SockRing g_rings[kMaxRings];
uint16_t g_next_port = 32768;  // ephemeral ports, as Linux's ip_local_port_range starts

uint32_t used(const SockRing* r) { return r->head - r->tail; }
uint32_t room(const SockRing* r) { return kRingCap - used(r); }

SockRing* ring_alloc() {
    for (auto& r : g_rings) {
        if (r.used)
            continue;
        if (!r.data) {
            r.data = static_cast<uint8_t*>(kmem_alloc(kRingCap));
            if (!r.data)
                return nullptr;
        }
        r.used = true;
        r.head = r.tail = 0;
        return &r;
    }
    return nullptr;
}

void ring_put(SockRing* r, const void* src, uint32_t n) {
    auto* in = static_cast<const uint8_t*>(src);
    uint32_t at = r->head % kRingCap, first = n < kRingCap - at ? n : kRingCap - at;
    memcpy(r->data + at, in, first);
    memcpy(r->data, in + first, n - first);
    r->head += n;
}

// Copies n bytes at offset `skip` from the tail without consuming them.
void ring_peek(const SockRing* r, uint32_t skip, void* dst, uint32_t n) {
    auto* out = static_cast<uint8_t*>(dst);
    uint32_t at = (r->tail + skip) % kRingCap, first = n < kRingCap - at ? n : kRingCap - at;
    memcpy(out, r->data + at, first);
    memcpy(out + first, r->data, n - first);
}

bool inet(int family) { return family == AF_INET || family == AF_INET6; }
uint16_t port_of(const SockAddr& a) { return a.len >= 4 ? static_cast<uint16_t>(a.bytes[2] << 8 | a.bytes[3]) : 0; }
void set_port(SockAddr& a, uint16_t port) {
    a.bytes[2] = static_cast<uint8_t>(port >> 8);
    a.bytes[3] = static_cast<uint8_t>(port);
}

// The loopback address of the family, with a port.
SockAddr loopback(int family, uint16_t port) {
    SockAddr a{};
    if (family == AF_INET) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = __builtin_bswap32(0x7f000001);
        memcpy(a.bytes, &in, sizeof in);
        a.len = sizeof in;
    } else {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_addr.s6_addr[15] = 1;
        memcpy(a.bytes, &in6, sizeof in6);
        a.len = sizeof in6;
    }
    set_port(a, port);
    return a;
}

// Is this address this VM (the only host a --net none VM has)?
bool is_local_inet(const SockAddr& a) {
    if (a.bytes[0] == AF_INET && a.len >= sizeof(sockaddr_in)) {
        uint32_t ip = __builtin_bswap32(reinterpret_cast<const sockaddr_in*>(a.bytes)->sin_addr.s_addr);
        return ip == 0 || (ip >> 24) == 127;
    }
    if (a.bytes[0] == AF_INET6 && a.len >= sizeof(sockaddr_in6)) {
        const uint8_t* b = reinterpret_cast<const sockaddr_in6*>(a.bytes)->sin6_addr.s6_addr;
        bool zero10 = true;
        for (int i = 0; i < 10; ++i)
            zero10 = zero10 && b[i] == 0;
        if (!zero10)
            return false;
        bool any = true, one = true;
        for (int i = 10; i < 16; ++i) {
            any = any && b[i] == 0;
            one = one && b[i] == (i == 15 ? 1 : 0);
        }
        bool v4mapped_loop = b[10] == 0xff && b[11] == 0xff && b[12] == 127;
        return any || one || v4mapped_loop;
    }
    return false;
}

bool same_name(const Socket* s, const SockAddr& a, int family) {
    if (family == AF_UNIX)
        return s->local.len == a.len && memcmp(s->local.bytes, a.bytes, a.len) == 0;
    return port_of(s->local) == port_of(a);
}

// The bound socket of the VM with this name (and type), if any.
Socket* find_bound(int family, int type, const SockAddr& a);

uint16_t ephemeral_port(int type) {
    for (int tries = 0; tries < 28232; ++tries) {
        uint16_t p = g_next_port++;
        if (g_next_port >= 60999)
            g_next_port = 32768;
        if (!find_bound(AF_INET, type, loopback(AF_INET, p)))
            return p;
    }
    return 0;
}

// An INET socket gets a local address when it first sends or connects.
long autobind(Socket* s) {
    if (s->bound || !inet(s->family))
        return 0;
    uint16_t p = ephemeral_port(s->type);
    if (!p)
        return -EADDRNOTAVAIL;
    s->local = loopback(s->family, p);
    s->bound = true;
    return 0;
}

void connect_pair(Socket* a, Socket* b) {
    a->peer = b;
    b->peer = a;
    a->state = b->state = SockState::Connected;
}

long give_rings(Socket* a, Socket* b) {
    if (!a->rx)
        a->rx = ring_alloc();
    if (!b->rx)
        b->rx = ring_alloc();
    return a->rx && b->rx ? 0 : -err::kNoMem;
}

}  // namespace

// Declared in the anonymous namespace above; the pool lives in socket.cpp.
// The socket table (net/socket.cpp): slots ever used, and slot i (on a page
// that exists: every slot below sock_slots() is).
int sock_slots();
Socket* sock_slot(int i);

namespace {
Socket* find_bound(int family, int type, const SockAddr& a) {
    for (int i = 0, n = sock_slots(); i < n; ++i) {
        Socket* s = sock_slot(i);
        if (!s || !s->used || s->host || !s->bound || s->type != type || (s->family == AF_UNIX) != (family == AF_UNIX))
            continue;
        if (same_name(s, a, family))
            return s;
    }
    return nullptr;
}
}  // namespace

long local_pair(Socket* a, Socket* b) {
    TRY_ERRNO(give_rings(a, b));
    connect_pair(a, b);
    a->local.len = b->local.len = 2;  // unnamed AF_UNIX
    a->local.bytes[0] = b->local.bytes[0] = AF_UNIX;
    a->remote = b->local;
    b->remote = a->local;
    return 0;
}

long local_bind(Socket* s, const SockAddr& a) {
    if (s->bound)
        return -err::kInval;
    if (s->family == AF_UNIX) {
        if (a.len <= 2)
            return -err::kInval;  // autobind to an abstract name is not done
        if (find_bound(AF_UNIX, s->type, a))
            return -EADDRINUSE;
        s->local = a;
    } else {
        if (!is_local_inet(a))
            return -EADDRNOTAVAIL;  // the VM has no other address
        SockAddr mine = a;
        if (port_of(a) == 0) {
            uint16_t p = ephemeral_port(s->type);
            if (!p)
                return -EADDRNOTAVAIL;
            set_port(mine, p);
        } else if (Socket* o = find_bound(s->family, s->type, a)) {
            bool reuse = (s->opts & o->opts & kOptReusePort) != 0;
            if (!reuse && !(o->state != SockState::Listening && (s->opts & o->opts & kOptReuseAddr)))
                return -EADDRINUSE;
        }
        s->local = mine;
    }
    s->bound = true;
    return 0;
}

long local_listen(Socket* s, int backlog) {
    if (s->type != SOCK_STREAM)
        return -err::kOpNotSupp;
    if (s->state == SockState::Connected)
        return -err::kInval;
    TRY_ERRNO(autobind(s));
    if (!s->bound)
        return -err::kInval;  // AF_UNIX: Linux autobinds; we need a name to be found by
    int cap = static_cast<int>(sizeof s->backlog / sizeof s->backlog[0]);
    s->backlog_max = backlog < 1 ? 1 : backlog > cap ? cap : backlog;
    s->state = SockState::Listening;
    return 0;
}

long local_accept(OpenFile* f, Socket** out) {
    Socket* s = sock_of(f);
    if (s->state != SockState::Listening)
        return -err::kInval;
    if (s->backlog_n == 0)
        return -err::kAgain;  // caller waits (it also watches the -p listener)
    Socket* c = s->backlog[0];
    memmove(s->backlog, s->backlog + 1, sizeof(Socket*) * static_cast<size_t>(--s->backlog_n));
    wake_up(s->wq);  // connecters waiting for room
    *out = c;
    return 0;
}

long local_connect(OpenFile* f, const SockAddr& a) {
    Socket* s = sock_of(f);
    if (s->state == SockState::Connected)
        return s->type == SOCK_DGRAM ? 0 : -EISCONN;
    if (s->state == SockState::Listening)
        return -err::kInval;
    if (inet(s->family) && !is_local_inet(a))
        return -ENETUNREACH;  // --net none: no route out of the VM
    Socket* l = find_bound(s->family, s->type, a);
    if (s->type == SOCK_DGRAM) {
        if (!l)
            return s->family == AF_UNIX ? -err::kNoEnt : -ECONNREFUSED;
        TRY_ERRNO(autobind(s));
        s->peer = l;
        s->remote = a;
        s->state = SockState::Connected;
        return 0;
    }
    if (!l)
        return s->family == AF_UNIX ? -err::kNoEnt : -ECONNREFUSED;
    if (l->state != SockState::Listening)
        return -ECONNREFUSED;
    if (l->backlog_n >= l->backlog_max) {
        if (sock_nonblocking(f))
            return -err::kAgain;
        const uint64_t deadline = sock_deadline(s, true);  // connect waits under SO_SNDTIMEO
        WaitResult w = wait_event_interruptible(
            l->wq, [l] { return l->backlog_n < l->backlog_max || l->state != SockState::Listening; }, deadline);
        if (w == WaitResult::TimedOut && inet(s->family))
            return -EINPROGRESS;  // as TCP's: its SYN is still unanswered
        if (w != WaitResult::Ready)
            return sock_wait_errno(w, deadline);
        if (l->state != SockState::Listening || !l->used)
            return -ECONNREFUSED;
    }
    TRY_ERRNO(autobind(s));
    Socket* server = sock_alloc(l->family, SOCK_STREAM);
    if (!server)
        return -err::kNFile;
    if (long r = give_rings(s, server); r < 0) {
        sock_put(server);
        return r;
    }
    connect_pair(s, server);
    server->local = l->local;
    if (inet(l->family))
        server->local = loopback(l->family, port_of(l->local));
    server->bound = true;
    server->remote = s->local;
    s->remote = a;
    server->opts = l->opts & kOptInherited;
    if (inet(l->family)) {  // a TCP child is a copy of its listener; AF_UNIX's starts afresh
        server->rcvtimeo = l->rcvtimeo;
        server->sndtimeo = l->sndtimeo;
    }
    l->backlog[l->backlog_n++] = server;
    wake_up(l->wq);
    return 0;
}

long local_send(OpenFile* f, const void* buf, size_t len, const SockAddr* to, OpenFile** fds, uint32_t nfds) {
    Socket* s = sock_of(f);
    if (s->shut_wr)
        return -err::kPipe;
    const uint64_t deadline = sock_deadline(s, true);
    Socket* dst = s->peer;
    if (s->type == SOCK_DGRAM) {
        if (to && to->len) {
            if (inet(s->family) && !is_local_inet(*to))
                return -ENETUNREACH;
            dst = find_bound(s->family, SOCK_DGRAM, *to);
            if (!dst)
                return s->family == AF_UNIX ? -err::kNoEnt : -ECONNREFUSED;
        }
        if (!dst)
            return s->family == AF_UNIX ? -ENOTCONN : -EDESTADDRREQ;
        TRY_ERRNO(autobind(s));
        if (!dst->rx && !(dst->rx = ring_alloc()))
            return -err::kNoMem;
        uint32_t rec = static_cast<uint32_t>(8 + s->local.len + len);
        if (len > kRingCap - 8 - kSockAddrMax)
            return -EMSGSIZE;
        if (room(dst->rx) < rec) {
            if (sock_nonblocking(f))
                return -err::kAgain;
            WaitResult w =
                wait_event_interruptible(dst->wq, [dst, rec] { return !dst->used || room(dst->rx) >= rec; }, deadline);
            if (w != WaitResult::Ready)
                return sock_wait_errno(w, deadline);
            if (!dst->used)
                return -ECONNREFUSED;
        }
        uint32_t hdr[2] = {static_cast<uint32_t>(len), s->local.len};
        ring_put(dst->rx, hdr, sizeof hdr);
        ring_put(dst->rx, s->local.bytes, s->local.len);
        ring_put(dst->rx, buf, static_cast<uint32_t>(len));
        wake_up(dst->wq);
        return static_cast<long>(len);
    }
    if (s->state != SockState::Connected)
        return -ENOTCONN;
    auto* in = static_cast<const uint8_t*>(buf);
    size_t done = 0;
    for (;;) {
        dst = s->peer;
        if (!dst || s->peer_gone || dst->shut_rd)
            return done ? static_cast<long>(done) : -err::kPipe;
        if (nfds && dst->passed_n + nfds <= sizeof dst->passed / sizeof dst->passed[0]) {
            for (uint32_t i = 0; i < nfds; ++i) {
                file_get(fds[i]);
                dst->passed[dst->passed_n++] = fds[i];
            }
            nfds = 0;
        } else if (nfds) {
            return -ETOOMANYREFS;
        }
        uint32_t n = room(dst->rx);
        if (n > len - done)
            n = static_cast<uint32_t>(len - done);
        ring_put(dst->rx, in + done, n);
        done += n;
        if (n)
            wake_up(dst->wq);
        if (done == len)
            return static_cast<long>(done);
        if (sock_nonblocking(f))
            return done ? static_cast<long>(done) : -err::kAgain;
        WaitResult w = wait_event_interruptible(
            s->wq, [s] { return !s->peer || s->peer_gone || s->peer->shut_rd || room(s->peer->rx) > 0; }, deadline);
        if (w != WaitResult::Ready)
            return done ? static_cast<long>(done) : sock_wait_errno(w, deadline);
    }
}

long local_recv(OpenFile* f, void* buf, size_t len, int flags, SockAddr* from, bool* truncated) {
    Socket* s = sock_of(f);
    if (s->type == SOCK_STREAM && s->state != SockState::Connected)
        return -ENOTCONN;
    if (!s->rx && !(s->rx = ring_alloc()))
        return -err::kNoMem;
    bool peek = flags & MSG_PEEK, dontwait = (flags & MSG_DONTWAIT) || sock_nonblocking(f);
    bool waitall = (flags & MSG_WAITALL) && s->type == SOCK_STREAM && !peek;
    auto eof = [s] { return s->shut_rd || s->peer_gone || (s->type == SOCK_STREAM && !s->peer); };
    auto* out = static_cast<uint8_t*>(buf);
    size_t done = 0;
    const uint64_t deadline = dontwait ? 0 : sock_deadline(s, false);
    for (;;) {
        if (used(s->rx) == 0) {
            // MSG_WAITALL waits for the rest; a timeout or signal then returns what came.
            if ((done && !waitall) || eof() || len == 0)
                return static_cast<long>(done);
            if (dontwait)
                return done ? static_cast<long>(done) : -err::kAgain;
            if (!done && s->so_error)
                return -__atomic_exchange_n(&s->so_error, 0, __ATOMIC_RELAXED);
            WaitResult w = wait_event_interruptible(s->wq, [s, eof] { return used(s->rx) != 0 || eof(); }, deadline);
            if (w != WaitResult::Ready)
                return done ? static_cast<long>(done) : sock_wait_errno(w, deadline);
            continue;
        }
        if (s->type == SOCK_DGRAM) {
            uint32_t hdr[2];
            ring_peek(s->rx, 0, hdr, sizeof hdr);
            uint32_t n = hdr[0] < len ? hdr[0] : static_cast<uint32_t>(len);
            if (from) {
                from->len = hdr[1];
                ring_peek(s->rx, 8, from->bytes, hdr[1]);
                *from = sockaddr_for_family(*from, s->family);  // an IPv4 sender to an IPv6 socket is mapped
            }
            ring_peek(s->rx, 8 + hdr[1], out, n);
            *truncated = n < hdr[0];
            if (!peek) {
                s->rx->tail += 8 + hdr[1] + hdr[0];
                wake_up(s->wq);  // senders waiting for room sleep on the receiver's queue
            }
            return static_cast<long>(flags & MSG_TRUNC ? hdr[0] : n);
        }
        uint32_t n = used(s->rx);
        if (n > len - done)
            n = static_cast<uint32_t>(len - done);
        ring_peek(s->rx, 0, out + done, n);
        if (peek)
            return static_cast<long>(n);
        s->rx->tail += n;
        done += n;
        if (s->peer)
            wake_up(s->peer->wq);  // its writers wait for room in our ring
        if (from)
            *from = s->remote;
        if (!waitall || done == len)
            return static_cast<long>(done);
    }
}

long local_shutdown(Socket* s, int how) {
    if (s->state != SockState::Connected)
        return -ENOTCONN;
    if (how == SHUT_RD || how == SHUT_RDWR)
        s->shut_rd = true;
    if (how == SHUT_WR || how == SHUT_RDWR) {
        s->shut_wr = true;
        if (s->peer && s->type == SOCK_STREAM)
            s->peer->peer_gone = true;  // the peer reads EOF once our bytes are gone
    }
    wake_up(s->wq);
    if (s->peer)
        wake_up(s->peer->wq);
    return 0;
}

int local_poll(Socket* s) {
    if (s->state == SockState::Listening)
        return s->backlog_n ? POLLIN : 0;
    int r = 0;
    if (s->rx && used(s->rx))
        r |= POLLIN;
    if (s->type == SOCK_DGRAM) {
        Socket* d = s->peer;
        if (!d || !d->rx || room(d->rx) > 8 + kSockAddrMax)
            r |= POLLOUT;
        return r;
    }
    if (s->state != SockState::Connected)
        return r | POLLOUT | POLLHUP;  // as Linux reports an unconnected stream socket
    // A closed AF_UNIX peer (no peer left) shuts both directions of ours
    // (Linux's unix_release_sock): POLLHUP; its shutdown(SHUT_WR), or a TCP
    // peer's FIN, only ends reading.
    if (s->peer_gone || !s->peer)
        r |= POLLIN | POLLRDHUP | (s->shut_wr || (!s->peer && s->family == AF_UNIX) ? POLLHUP : 0);
    else if (!s->shut_wr && room(s->peer->rx) > 0)
        r |= POLLOUT;
    if (s->shut_rd)
        r |= POLLIN | POLLRDHUP;
    if (s->shut_rd && s->shut_wr)
        r |= POLLHUP;
    return r;
}

uint32_t local_readable(Socket* s) {
    if (!s->rx || !used(s->rx))
        return 0;
    if (s->type == SOCK_DGRAM) {
        uint32_t hdr[2];
        ring_peek(s->rx, 0, hdr, sizeof hdr);
        return hdr[0];
    }
    return used(s->rx);
}

bool local_pending(const Socket* s) { return s->rx && used(s->rx) != 0; }

uint32_t local_take_fds(Socket* s, OpenFile** out, uint32_t max) {
    uint32_t n = s->passed_n < max ? s->passed_n : max;
    memcpy(out, s->passed, sizeof(OpenFile*) * n);
    memmove(s->passed, s->passed + n, sizeof(OpenFile*) * (s->passed_n - n));
    s->passed_n -= n;
    return n;
}

void local_release(Socket* s) {
    if (Socket* p = s->peer) {
        if (p->peer == s) {
            p->peer = nullptr;
            p->peer_gone = true;
        }
        wake_up(p->wq);
    }
    // Dgram sockets that name s as their destination forget it.
    for (int i = 0, n = sock_slots(); i < n; ++i)
        if (Socket* o = sock_slot(i); o && o->used && o->peer == s)
            o->peer = nullptr;
    for (int i = 0; i < s->backlog_n; ++i)
        sock_put(s->backlog[i]);  // connections never accepted: their clients see EOF
    s->backlog_n = 0;
    for (uint32_t i = 0; i < s->passed_n; ++i)
        file_put(s->passed[i]);
    s->passed_n = 0;
    if (s->rx)
        s->rx->used = false;
    s->rx = nullptr;
    wake_up(s->wq);
}

}  // namespace lightvm::guest

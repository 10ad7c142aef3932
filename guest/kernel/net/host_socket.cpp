// The Host backend: AF_INET/AF_INET6 sockets that are host sockets owned
// by the monitor (kHcNet), one exit per call. The monitor keeps them
// non-blocking. A blocking call with nothing else to run asks the monitor
// to wait for readiness first (HcNet.wait_ns), so it still costs one exit;
// otherwise the task sleeps on the socket's wait queue and the CPU, once
// idle, polls every host socket somebody waits on in one exit (net_idle).
// Each reply carries the socket's poll state (revents), which poll() uses
// without asking again.
#include "arch/x86_64/cpu.hpp"
#include "kernel/dev/stdin_wait.hpp"
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/net/sock_uapi.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

// The socket table (net/socket.cpp): slots ever used, and slot i (on a page
// that exists: every slot below sock_slots() is).
int sock_slots();
Socket* sock_slot(int i);

namespace {

constexpr uint16_t kAllEvents = POLLIN | POLLOUT | POLLPRI;
abi::NetPollEntry g_poll[abi::kMaxNetPoll];
Socket* g_poll_sock[abi::kMaxNetPoll];
int g_waiters;  // tasks sleeping on a host socket (net_idle must poll)

abi::HcNet request(uint32_t op, uint32_t handle) {
    abi::HcNet r{};
    r.op = op;
    r.handle = handle;
    return r;
}

long call(abi::HcNet& r) {
    volatile abi::HcNet& hc = this_cpu().hc_net;
    memcpy(const_cast<abi::HcNet*>(&hc), &r, sizeof r);
    hypercall(abi::kHcNet, &hc);
    memcpy(&r, const_cast<abi::HcNet*>(&hc), sizeof r);
    return r.result;
}

// One call on a socket's handle; the reply's poll state is remembered, and
// a change wakes the socket's queue like the idle poll's does: an epoll
// watching the socket must hear of data that came with this reply, since
// the idle poll only asks for events the socket does not have yet.
long call_on(Socket* s, abi::HcNet& r) {
    long res = call(r);
    if ((r.handle == s->handle || r.handle == s->published) && s->revents != r.revents) {
        s->revents = r.revents;
        wake_up(s->wq);
    }
    return res;
}

}  // namespace

int64_t host_monitor_wait(const OpenFile* f, uint64_t deadline) {
    if (sock_nonblocking(f) || g_waiters)
        return 0;
    int64_t ns = 0;
    if (!sched_monitor_may_wait(&ns))
        return 0;
    if (!deadline || ns == 0)
        return ns;
    uint64_t now = monotonic_ns();
    if (now >= deadline)
        return 0;
    auto left = static_cast<int64_t>(deadline - now);
    return ns < 0 || left < ns ? left : ns;
}

namespace {

void set_addr(abi::HcNet& r, const SockAddr* a) {
    if (a && a->len) {
        r.addr = kernel_to_gpa(a->bytes);
        r.addr_len = a->len;
    }
}

// Sleeps until the call can make progress: the socket reports one of
// `events` (or an error/hang-up), the deadline passes or a signal comes.
WaitResult wait_ready(Socket* s, uint16_t events, uint64_t deadline) {
    return host_wait(s, events, deadline, nullptr, true);
}

}  // namespace

bool net_host_mode() { return boot().net_mode == abi::kNetModeHost; }

long host_socket(Socket* s, int protocol) {
    abi::HcNet r = request(abi::kNetSocket, 0);
    r.arg = s->family;
    r.arg2 = s->type;
    r.flags = static_cast<uint32_t>(protocol);
    long h = call(r);
    if (h < 0)
        return h;
    s->host = true;
    s->handle = static_cast<uint32_t>(h);
    s->revents = r.revents;
    return 0;
}

void host_close(uint32_t handle) {
    abi::HcNet r = request(abi::kNetClose, handle);
    call(r);
}

WaitResult host_wait(Socket* s, uint16_t events, uint64_t deadline, bool (*also)(const Socket*), bool interruptible) {
    uint16_t want = events | POLLERR | POLLHUP;
    auto ready = [s, want, also] { return (s->revents & want) != 0 || (also && also(s)); };
    g_waiters++;
    WaitResult w =
        interruptible ? wait_event_interruptible(s->wq, ready, deadline) : wait_event(s->wq, ready, deadline);
    g_waiters--;
    return w;
}

long host_bind(Socket* s, const SockAddr& a) {
    uint16_t port = a.len >= 4 ? static_cast<uint16_t>(a.bytes[2] << 8 | a.bytes[3]) : 0;
    if (port) {
        long pub = host_published(port, s->type);
        if (pub >= 0) {
            // A -p port: this socket becomes the listener the monitor opened.
            host_close(s->handle);
            s->handle = static_cast<uint32_t>(pub);
            s->bound = true;
            return 0;
        }
    }
    abi::HcNet r = request(abi::kNetBind, s->handle);
    set_addr(r, &a);
    long res = call_on(s, r);
    if (res == 0)
        s->bound = true;
    return res;
}

long host_listen(Socket* s, int backlog) {
    abi::HcNet r = request(abi::kNetListen, s->handle);
    r.arg = static_cast<uint32_t>(backlog);
    long res = call_on(s, r);
    if (res == 0)
        s->state = SockState::Listening;
    return res;
}

long host_published(uint16_t port, int type, uint32_t* revents) {
    if (!boot().net_published)
        return -err::kNoEnt;  // no -p at all: no exit to ask
    abi::HcNet r = request(abi::kNetPublished, 0);
    r.arg = port;
    r.arg2 = static_cast<uint32_t>(type);
    long h = call(r);
    if (revents)
        *revents = r.revents;
    return h;
}

// Accepts on a host listener: `listener` is s->handle (--net host) or the
// -p listener of a local socket (--net none). -EAGAIN when none waits.
long host_accept(OpenFile* f, uint32_t listener, uint64_t deadline, Socket** out) {
    Socket* s = sock_of(f);
    Socket* c = sock_alloc(s->family, SOCK_STREAM);
    if (!c)
        return -err::kNFile;
    abi::HcNet r = request(abi::kNetAccept, listener);
    r.wait_ns = host_monitor_wait(f, deadline);
    r.addr_len = kSockAddrMax;
    r.addr = kernel_to_gpa(c->remote.bytes);
    long h = call_on(s, r);
    if (h < 0) {
        sock_put(c);
        return h;
    }
    c->remote.len = r.addr_len;
    if (s->family == AF_INET6)  // an IPv4 peer as ::ffff:a.b.c.d
        c->remote = sockaddr_for_family(c->remote, AF_INET6);
    c->host = true;
    c->handle = static_cast<uint32_t>(h);
    c->state = SockState::Connected;
    c->bound = true;
    c->revents = POLLOUT;  // refreshed by its first call
    c->rcvtimeo = s->rcvtimeo;  // a TCP child is a copy of its listener
    c->sndtimeo = s->sndtimeo;
    *out = c;
    return 0;
}

// A blocking connect waits under SO_SNDTIMEO and then, as Linux's, returns
// EINPROGRESS. EALREADY: the connect a signal interrupted goes on.
long host_connect(OpenFile* f, const SockAddr& a) {
    Socket* s = sock_of(f);
    const uint64_t deadline = sock_deadline(s, true);
    abi::HcNet r = request(abi::kNetConnect, s->handle);
    set_addr(r, &a);
    r.wait_ns = host_monitor_wait(f, deadline);
    long res = call_on(s, r);
    if ((res == -EINPROGRESS || res == -EALREADY) && !sock_nonblocking(f)) {
        WaitResult w = wait_ready(s, POLLOUT, deadline);
        if (w == WaitResult::TimedOut)
            return -EINPROGRESS;
        if (w == WaitResult::Interrupted)
            return sock_wait_errno(w, deadline);
        int32_t e = 0;
        uint32_t n = sizeof e;
        res = host_getopt(s, SOL_SOCKET, SO_ERROR, &e, &n);
        if (res == 0)
            res = -e;
    }
    if (res == 0)
        s->state = SockState::Connected;
    return res;
}

// The monitor moves data straight between the socket and guest-physical
// memory: a user buffer goes as its physically contiguous pieces, up to
// kMaxNetSegs per call (a stream takes the rest in the next call, as a
// short count; a datagram larger than that is EMSGSIZE).
abi::NetSeg g_segs[abi::kMaxNetSegs];

static long set_data(abi::HcNet& r, const void* p, uint64_t len) {
    uint32_t n = 0;
    uint64_t done = 0;
    while (done < len && n < abi::kMaxNetSegs) {
        uint64_t gpa;
        uint64_t k = phys_extent(static_cast<const uint8_t*>(p) + done, len - done, &gpa);
        if (n && g_segs[n - 1].gpa + g_segs[n - 1].len == gpa)
            g_segs[n - 1].len += k;  // pieces that happen to be adjacent
        else
            g_segs[n++] = abi::NetSeg{gpa, k};
        done += k;
    }
    if (n == 1) {
        r.buf = g_segs[0].gpa;
        r.len = g_segs[0].len;
        r.arg = 0;
    } else {
        r.buf = kernel_to_gpa(g_segs);
        r.len = done;
        r.arg = n;
    }
    return done == len ? 0 : -EMSGSIZE;
}

long host_send_once(Socket* s, uint32_t handle, const void* buf, size_t len, int flags, const SockAddr* to,
                    int64_t wait_ns) {
    abi::HcNet r = request(abi::kNetSend, handle);
    r.flags = static_cast<uint32_t>(flags & (MSG_OOB | MSG_DONTROUTE | MSG_EOR | MSG_MORE));
    if (set_data(r, buf, len) < 0 && s->type == SOCK_DGRAM)
        return -EMSGSIZE;
    set_addr(r, to);
    r.wait_ns = wait_ns;
    return call_on(s, r);
}

long host_recv_once(Socket* s, uint32_t handle, void* buf, size_t len, int flags, SockAddr* from, int64_t wait_ns) {
    abi::HcNet r = request(abi::kNetRecv, handle);
    r.flags = static_cast<uint32_t>(flags & (MSG_OOB | MSG_PEEK | MSG_TRUNC));
    set_data(r, buf, len);  // a datagram beyond the pieces is truncated
    if (from) {
        r.addr = kernel_to_gpa(from->bytes);
        r.addr_len = kSockAddrMax;
    }
    r.wait_ns = wait_ns;
    long n = call_on(s, r);
    if (from && n >= 0)
        from->len = r.addr_len < kSockAddrMax ? r.addr_len : kSockAddrMax;
    return n;
}

long host_send(OpenFile* f, const void* buf, size_t len, int flags, const SockAddr* to) {
    Socket* s = sock_of(f);
    bool nonblock = sock_nonblocking(f) || (flags & MSG_DONTWAIT);
    const uint64_t deadline = nonblock ? 0 : sock_deadline(s, true);
    auto* in = static_cast<const uint8_t*>(buf);
    size_t done = 0;
    for (;;) {
        int64_t wait_ns = (flags & MSG_DONTWAIT) ? 0 : host_monitor_wait(f, deadline);
        long n = host_send_once(s, s->handle, in + done, len - done, flags, to, wait_ns);
        if (n < 0 && n != -err::kAgain)
            return done ? static_cast<long>(done) : n;
        if (n > 0)
            done += static_cast<size_t>(n);
        if (done == len || s->type == SOCK_DGRAM)
            return n < 0 && !done ? n : static_cast<long>(done);
        if (nonblock)
            return done ? static_cast<long>(done) : -err::kAgain;
        if (WaitResult w = wait_ready(s, POLLOUT, deadline); w != WaitResult::Ready)
            return done ? static_cast<long>(done) : sock_wait_errno(w, deadline);
    }
}

long host_recv(OpenFile* f, void* buf, size_t len, int flags, SockAddr* from) {
    Socket* s = sock_of(f);
    bool nonblock = sock_nonblocking(f) || (flags & MSG_DONTWAIT);
    bool waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK) && s->type == SOCK_STREAM;
    const uint64_t deadline = nonblock ? 0 : sock_deadline(s, false);
    auto* out = static_cast<uint8_t*>(buf);
    size_t done = 0;
    for (;;) {
        int64_t wait_ns = (flags & MSG_DONTWAIT) ? 0 : host_monitor_wait(f, deadline);
        long n = host_recv_once(s, s->handle, out + done, len - done, flags, from, wait_ns);
        if (n < 0 && n != -err::kAgain)
            return done ? static_cast<long>(done) : n;
        if (n > 0)
            done += static_cast<size_t>(n);
        if (n == 0 || (n > 0 && (!waitall || done == len)))
            return static_cast<long>(done);
        if (nonblock)
            return done ? static_cast<long>(done) : -err::kAgain;
        if (WaitResult w = wait_ready(s, POLLIN, deadline); w != WaitResult::Ready)
            return done ? static_cast<long>(done) : sock_wait_errno(w, deadline);
    }
}

long host_shutdown(Socket* s, int how) {
    abi::HcNet r = request(abi::kNetShutdown, s->handle);
    r.arg = static_cast<uint32_t>(how);
    return call_on(s, r);
}

long host_name(Socket* s, bool peer, SockAddr* out) {
    abi::HcNet r = request(abi::kNetSockName, s->handle);
    r.arg = peer ? 1 : 0;
    r.addr = kernel_to_gpa(out->bytes);
    r.addr_len = kSockAddrMax;
    long res = call(r);
    if (res == 0)
        out->len = r.addr_len;
    return res;
}

long host_getopt(Socket* s, int level, int name, void* val, uint32_t* len) {
    abi::HcNet r = request(abi::kNetGetOpt, s->handle);
    r.arg = static_cast<uint32_t>(level);
    r.arg2 = static_cast<uint32_t>(name);
    r.buf = kernel_to_gpa(val);
    r.len = *len;
    long res = call(r);
    if (res < 0)
        return res;
    *len = static_cast<uint32_t>(res);
    return 0;
}

long host_setopt(Socket* s, int level, int name, const void* val, uint32_t len) {
    abi::HcNet r = request(abi::kNetSetOpt, s->handle);
    r.arg = static_cast<uint32_t>(level);
    r.arg2 = static_cast<uint32_t>(name);
    r.buf = kernel_to_gpa(val);
    r.len = len;
    return call(r);
}

long host_readable(Socket* s, uint32_t handle) {
    abi::HcNet r = request(abi::kNetReadable, handle);
    return call_on(s, r);
}

int host_poll(Socket* s) { return static_cast<int>(s->revents); }

namespace {

// Every host socket (or -p listener) somebody sleeps on, each waiting for
// a change: the events it does not have now. The host's stdin rides along
// (a null socket) when a task waits for input.
uint32_t gather(bool all) {
    const int n = sock_slots();
    uint32_t k = 0;
    uint16_t stdin_events = 0;
    if (stdin_watch(all, &stdin_events)) {
        g_poll[k] = {abi::kNetPollStdin, stdin_events, 0};
        g_poll_sock[k++] = nullptr;
    }
    for (int i = 0; i < n && k < abi::kMaxNetPoll; ++i) {
        Socket* s = sock_slot(i);
        if (!s || !s->used || (!all && wait_queue_empty(s->wq)))
            continue;
        uint32_t h = s->host ? s->handle : s->published;
        if (h == kNoHostHandle)
            continue;
        g_poll[k] = {h, static_cast<uint16_t>(all ? kAllEvents : kAllEvents & ~s->revents), 0};
        g_poll_sock[k++] = s;
    }
    return k;
}

bool poll_host(uint32_t k, int64_t wait_ns) {
    abi::HcNet r = request(abi::kNetPoll, 0);
    r.buf = kernel_to_gpa(g_poll);
    r.len = k;
    r.wait_ns = wait_ns;
    call(r);
    bool changed = false;
    for (uint32_t i = 0; i < k; ++i) {
        Socket* s = g_poll_sock[i];
        if (!s) {
            changed |= stdin_polled(g_poll[i].revents);
        } else if (s->revents != g_poll[i].revents) {
            s->revents = g_poll[i].revents;
            changed = true;
            wake_up(s->wq);
        }
    }
    return changed;
}

// The scheduler's idle: sleep in the monitor until a watched host socket
// changes or the deadline (ns from now) comes. False: no host socket is
// watched, the scheduler sleeps as usual.
bool net_idle(uint64_t ns, bool forever) {
    uint32_t k = gather(false);
    if (!k)
        return false;
    poll_host(k, forever ? -1 : static_cast<int64_t>(ns));
    return true;
}

}  // namespace

bool net_refresh() {
    uint32_t k = gather(true);
    return k && poll_host(k, 0);
}

void net_init() { sched_set_idle_poller(net_idle); }

}  // namespace lightvm::guest

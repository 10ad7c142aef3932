// -p HOSTPORT:GUESTPORT/udp under --net none. A Local UDP socket bound to
// the wildcard address on GUESTPORT (what covers a published port, as in a
// container: a server on 127.0.0.1 only is not reached) is attached to the
// monitor's host socket for the port, as a TCP listener is. It receives
// what the VM's own sockets send it (its ring, no exit) and what host
// clients send the host port (one kNetRecv exit each, the client's real
// address as the source), and a reply to such a client goes out through
// the host socket (one kNetSend exit). The monitor lets that socket send
// only to its last abi::kPublishedUdpPeers sources; the guest keeps the
// same list to tell a host client from a VM socket with the same loopback
// address and port: whoever sent from it last gets the reply.
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/net/sock_uapi.hpp"
#include "kernel/net/socket.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// An inet address and port as one key for both families (IPv4 as
// ::ffff:a.b.c.d), as the monitor compares them.
struct PeerKey {
    uint8_t bytes[18];
};

struct Peer {
    PeerKey key;
    uint8_t len;       // of addr
    uint8_t addr[28];  // sockaddr_in or sockaddr_in6, as the host socket reported it
    uint64_t stamp;    // when last heard from: the oldest is forgotten first
};

struct PeerTable {
    uint32_t handle;  // the -p socket
    uint32_t n;
    uint64_t clock;
    Peer peers[abi::kPublishedUdpPeers];
};

// One table per published UDP port ever attached, from kernel memory on
// first use (a VM without one pays for the pointers only).
constexpr int kMaxTables = 64;
PeerTable* g_tables[kMaxTables];

bool key_of(const SockAddr& a, PeerKey* k) {
    *k = PeerKey{};
    if (a.bytes[0] == AF_INET && a.bytes[1] == 0 && a.len >= sizeof(sockaddr_in)) {
        k->bytes[10] = k->bytes[11] = 0xff;
        memcpy(k->bytes + 12, a.bytes + 4, 4);
        memcpy(k->bytes + 16, a.bytes + 2, 2);
        return true;
    }
    if (a.bytes[0] == AF_INET6 && a.bytes[1] == 0 && a.len >= 24) {  // scope id optional, as get_addr allows
        memcpy(k->bytes, a.bytes + 8, 16);
        memcpy(k->bytes + 16, a.bytes + 2, 2);
        return true;
    }
    return false;
}

bool same(const PeerKey& a, const PeerKey& b) { return memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0; }

PeerTable* table_of(uint32_t handle, bool create) {
    for (PeerTable* t : g_tables)
        if (t && t->handle == handle)
            return t;
    if (!create)
        return nullptr;
    for (PeerTable*& t : g_tables) {
        if (t)
            continue;
        t = static_cast<PeerTable*>(kmem_alloc(sizeof(PeerTable)));
        if (t)
            t->handle = handle;
        return t;
    }
    return nullptr;
}

Peer* find(PeerTable* t, const PeerKey& k) {
    for (uint32_t i = 0; i < t->n; ++i)
        if (same(t->peers[i].key, k))
            return &t->peers[i];
    return nullptr;
}

// Where peer k goes: its own entry, a free one, or (full) the least
// recently heard from, as the monitor replaces them.
Peer* slot_for(PeerTable* t, const PeerKey& k) {
    if (Peer* p = find(t, k))
        return p;
    if (t->n < abi::kPublishedUdpPeers)
        return &t->peers[t->n++];
    Peer* oldest = &t->peers[0];
    for (uint32_t i = 1; i < t->n; ++i)
        if (t->peers[i].stamp < oldest->stamp)
            oldest = &t->peers[i];
    return oldest;
}

// A host client sent from `src`: replies to it go to the host.
void remember(PeerTable* t, const SockAddr& src) {
    PeerKey k;
    if (!key_of(src, &k) || src.len > sizeof(Peer::addr))
        return;
    Peer* p = slot_for(t, k);
    p->key = k;
    p->len = static_cast<uint8_t>(src.len);
    memcpy(p->addr, src.bytes, src.len);
    p->stamp = ++t->clock;
}

// A VM socket sent from `src`: replies to that address stay in the VM.
void forget(PeerTable* t, const SockAddr& src) {
    PeerKey k;
    Peer* p = key_of(src, &k) ? find(t, k) : nullptr;
    if (p)
        *p = t->peers[--t->n];
}

bool is_wildcard(const SockAddr& a) {
    uint32_t from = a.bytes[0] == AF_INET ? 4 : 8, to = a.bytes[0] == AF_INET ? 8 : 24;
    if (!(a.bytes[0] == AF_INET || a.bytes[0] == AF_INET6) || a.len < to)
        return false;
    for (uint32_t i = from; i < to; ++i)
        if (a.bytes[i])
            return false;
    return true;
}

uint16_t port_of(const SockAddr& a) { return static_cast<uint16_t>(a.bytes[2] << 8 | a.bytes[3]); }

}  // namespace

void pub_udp_attach(Socket* s) {
    if (s->type != SOCK_DGRAM || s->family == AF_UNIX || s->published != kNoHostHandle || !is_wildcard(s->local))
        return;
    uint32_t revents = 0;
    long h = host_published(port_of(s->local), SOCK_DGRAM, &revents);
    if (h < 0)
        return;
    if (!table_of(static_cast<uint32_t>(h), true)) {
        host_close(static_cast<uint32_t>(h));  // no room to remember its clients: the port stays unattached
        return;
    }
    s->published = static_cast<uint32_t>(h);
    s->revents = revents;
}

bool pub_udp_attached(const Socket* s) { return !s->host && s->type == SOCK_DGRAM && s->published != kNoHostHandle; }

bool pub_udp_client(const Socket* s, const SockAddr* to, SockAddr* host_to) {
    PeerKey k;
    PeerTable* t = to && to->len ? table_of(s->published, false) : nullptr;
    Peer* p = t && key_of(*to, &k) ? find(t, k) : nullptr;
    if (!p)
        return false;
    host_to->len = p->len;
    memcpy(host_to->bytes, p->addr, p->len);
    return true;
}

long pub_udp_send(OpenFile* f, const void* buf, size_t len, int flags, const SockAddr& host_to) {
    Socket* s = sock_of(f);
    const bool nonblock = sock_nonblocking(f) || (flags & MSG_DONTWAIT);
    const uint64_t deadline = nonblock ? 0 : sock_deadline(s, true);
    for (;;) {
        long n = host_send_once(s, s->published, buf, len, flags, &host_to, nonblock ? 0 : host_monitor_wait(f, deadline));
        if (n != -err::kAgain || nonblock)
            return n;
        if (WaitResult w = host_wait(s, POLLOUT, deadline, nullptr, true); w != WaitResult::Ready)
            return sock_wait_errno(w, deadline);
    }
}

// The VM's own senders first (no exit), then the host's; a blocking call
// with nothing else to run waits for a host datagram inside the monitor,
// so it is one exit.
long pub_udp_recv(OpenFile* f, void* buf, size_t len, int flags, SockAddr* from, bool* truncated) {
    Socket* s = sock_of(f);
    PeerTable* t = table_of(s->published, false);
    const bool nonblock = sock_nonblocking(f) || (flags & MSG_DONTWAIT);
    const uint64_t deadline = nonblock ? 0 : sock_deadline(s, false);
    SockAddr src{};
    for (;;) {
        if (local_pending(s)) {
            long n = local_recv(f, buf, len, flags, &src, truncated);
            if (n >= 0 && t)
                forget(t, src);
            if (from)
                *from = src;
            return n;
        }
        long n = host_recv_once(s, s->published, buf, len, flags, &src,
                                nonblock ? 0 : host_monitor_wait(f, deadline));
        if (n >= 0) {
            if (t)
                remember(t, src);
            if (from)
                *from = sockaddr_for_family(src, s->family);
            return n;
        }
        if (n != -err::kAgain || nonblock)
            return n;
        if (WaitResult w = host_wait(s, POLLIN, deadline, local_pending, true); w != WaitResult::Ready)
            return sock_wait_errno(w, deadline);
    }
}

long pub_udp_readable(Socket* s) {
    return local_pending(s) ? local_readable(s) : host_readable(s, s->published);
}

}  // namespace lightvm::guest

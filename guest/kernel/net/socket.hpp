// Sockets: one open-file type (FileKind::Socket, kSocketOps) with two
// backends behind it.
//   Local: in the guest kernel only, like pipes: AF_UNIX (socketpair,
//     bind/listen/connect by path or abstract name) and, with --net none,
//     AF_INET/AF_INET6 on a loopback inside the VM. No exit at all.
//   Host: AF_INET/AF_INET6 forwarded to a host socket the monitor owns
//     (kHcNet, net/host_socket.cpp): --net host, and connections accepted
//     on a port published with -p. One exit per call. Under --net none a
//     Local socket on a published port is attached to the -p host socket
//     (a TCP listener; a UDP socket, net/published_udp.cpp).
// docs/design.md ("Networking") says why, with the numbers.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/fs/open_file.hpp"
#include "kernel/proc/wait.hpp"

namespace lightvm::guest {

inline constexpr uint32_t kSockAddrMax = 128;  // sizeof(sockaddr_storage)
inline constexpr uint32_t kNoHostHandle = ~0u;

struct SockAddr {
    uint32_t len;
    uint8_t bytes[kSockAddrMax];
};

struct SockRing;

enum class SockState : uint8_t { Fresh, Listening, Connected, Closed };

struct Socket {
    bool used;
    bool host;            // Host backend (handle below) or Local
    uint16_t family;      // AF_UNIX, AF_INET, AF_INET6
    uint8_t type;         // SOCK_STREAM or SOCK_DGRAM
    SockState state;
    bool bound;
    bool shut_rd, shut_wr;   // this side shut down (or the peer closed)
    bool peer_gone;          // Local: the peer was closed
    uint32_t refs;           // open files pointing here (always 1) plus backlog membership
    uint32_t handle;         // Host: the monitor's handle
    uint32_t published;      // Local, --net none: the -p host socket attached (a TCP listener's, a UDP socket's)
    uint32_t revents;        // Host: poll state as of the last exit that saw it
    int32_t so_error;        // pending error (SO_ERROR)
    int32_t backlog_max;
    SockAddr local, remote;
    Socket* peer;            // Local stream: the other end; Local dgram: default destination
    SockRing* rx;            // Local: bytes (stream) or records (dgram) to read
    Socket* backlog[16];     // Local listener: connected server-side sockets not yet accepted
    int32_t backlog_n;
    uint32_t opts;           // boolean options set (SO_REUSEADDR, ...), see socket.cpp
    int32_t rcvbuf, sndbuf;
    int32_t linger_on, linger_s;
    // SO_RCVTIMEO/SO_SNDTIMEO in jiffies, as Linux keeps them (getsockopt
    // reports that rounding); kNoTimeout: wait forever; 0: do not wait.
    int64_t rcvtimeo, sndtimeo;
    // Passed descriptors (SCM_RIGHTS) waiting with the data, in order.
    OpenFile* passed[16];
    uint32_t passed_n;
    WaitQueue wq;            // readers, writers, accepters, connecters, poll
};

Socket* sock_of(OpenFile* f);
// An inet address as a socket of `family` reports it: an IPv6 socket sees
// an IPv4 peer as ::ffff:a.b.c.d and an IPv4 one a mapped peer as IPv4, as
// Linux's dual-stack sockets do; anything else unchanged.
SockAddr sockaddr_for_family(const SockAddr& a, int family);
Socket* sock_alloc(int family, int type);
void sock_put(Socket* s);
// A new socket file for s (flags: O_NONBLOCK | O_CLOEXEC as SOCK_*), installed as an fd.
long sock_install(Socket* s, uint32_t flags);
bool sock_nonblocking(const OpenFile* f);

inline constexpr int64_t kNoTimeout = -1;
// SO_RCVTIMEO/SO_SNDTIMEO (the _OLD and _NEW names: both a 16-byte timeval
// on x86-64). set: -EINVAL (short), -EDOM (tv_usec out of range) or 0.
// get: fills 16 bytes of v.
long sock_set_timeout(Socket* s, int name, const uint8_t* v, uint32_t len);
void sock_get_timeout(const Socket* s, int name, uint8_t* v);
bool sock_timeout_opt(int level, int name);
// The monotonic deadline of a blocking call on s starting now (0: none):
// the whole call shares it, as Linux's timeo counts down across waits.
uint64_t sock_deadline(const Socket* s, bool send);
// A wait that did not end Ready as the call's -errno: timed out is EAGAIN;
// interrupted is EINTR under a deadline (timed socket calls are never
// restarted: Linux's sock_intr_errno, man 7 signal), else -ERESTARTSYS.
long sock_wait_errno(WaitResult w, uint64_t deadline);

// Send and receive on any socket file (the syscalls, read and write);
// -EPIPE without MSG_NOSIGNAL also sends SIGPIPE (proc/signal.hpp).
long sock_send(OpenFile* f, const void* buf, size_t len, int flags, const SockAddr* to, OpenFile** fds,
               uint32_t nfds);
long sock_recv(OpenFile* f, void* buf, size_t len, int flags, SockAddr* from, bool* truncated);

// Local backend (net/local_socket.cpp).
long local_pair(Socket* a, Socket* b);
long local_bind(Socket* s, const SockAddr& a);
long local_listen(Socket* s, int backlog);
long local_accept(OpenFile* f, Socket** out);
long local_connect(OpenFile* f, const SockAddr& a);
long local_send(OpenFile* f, const void* buf, size_t len, const SockAddr* to, OpenFile** fds, uint32_t nfds);
long local_recv(OpenFile* f, void* buf, size_t len, int flags, SockAddr* from, bool* truncated);
long local_shutdown(Socket* s, int how);
int local_poll(Socket* s);
uint32_t local_readable(Socket* s);
bool local_pending(const Socket* s);  // a datagram or bytes wait in s's ring
void local_release(Socket* s);
// Descriptors that arrived with the data (SCM_RIGHTS): taken in order.
uint32_t local_take_fds(Socket* s, OpenFile** out, uint32_t max);

// -p GUESTPORT/udp under --net none (net/published_udp.cpp): a Local UDP
// socket bound to the wildcard address on a published port is attached to
// the monitor's host socket for it (Socket::published).
// After a bind: attach s if its port is published.
void pub_udp_attach(Socket* s);
bool pub_udp_attached(const Socket* s);
// Is `to` a host client of s's -p socket? Its address as the host socket
// reported it goes to *host_to.
bool pub_udp_client(const Socket* s, const SockAddr* to, SockAddr* host_to);
long pub_udp_send(OpenFile* f, const void* buf, size_t len, int flags, const SockAddr& host_to);
long pub_udp_recv(OpenFile* f, void* buf, size_t len, int flags, SockAddr* from, bool* truncated);
long pub_udp_readable(Socket* s);

// Host backend (net/host_socket.cpp).
bool net_host_mode();
long host_socket(Socket* s, int protocol);
long host_bind(Socket* s, const SockAddr& a);
long host_listen(Socket* s, int backlog);
long host_accept(OpenFile* f, uint32_t listener, uint64_t deadline, Socket** out);
long host_connect(OpenFile* f, const SockAddr& a);
long host_send(OpenFile* f, const void* buf, size_t len, int flags, const SockAddr* to);
long host_recv(OpenFile* f, void* buf, size_t len, int flags, SockAddr* from);
long host_shutdown(Socket* s, int how);
long host_name(Socket* s, bool peer, SockAddr* out);
long host_getopt(Socket* s, int level, int name, void* val, uint32_t* len);
long host_setopt(Socket* s, int level, int name, const void* val, uint32_t len);
// FIONREAD of `handle`: s's own, or the -p socket a Local one is attached to.
long host_readable(Socket* s, uint32_t handle);
// The -p host socket for a guest port and type (SOCK_STREAM/SOCK_DGRAM), or
// -ENOENT; *revents (if given): its poll state.
long host_published(uint16_t port, int type, uint32_t* revents = nullptr);
// One send/receive on `handle` (s's own, or its -p socket), the monitor
// waiting at most wait_ns for readiness first; from (may be null) gets the
// source. -EAGAIN: nothing moved.
long host_send_once(Socket* s, uint32_t handle, const void* buf, size_t len, int flags, const SockAddr* to,
                    int64_t wait_ns);
long host_recv_once(Socket* s, uint32_t handle, void* buf, size_t len, int flags, SockAddr* from, int64_t wait_ns);
// How long a blocking call on f may wait inside the monitor (the wait_ns of
// its request): only when nothing else in the VM could run meanwhile, for
// as long as the earliest other deadline and the call's own deadline (0:
// none) allow; -1: no limit, 0: do not wait.
int64_t host_monitor_wait(const OpenFile* f, uint64_t deadline);
void host_close(uint32_t handle);
int host_poll(Socket* s);
// Waits (sleeping the task; the CPU idles in the monitor polling every
// host socket someone waits on) until the host socket's poll state has
// one of `events`, the deadline passes or (interruptible: a socket call)
// a signal comes.
WaitResult host_wait(Socket* s, uint16_t events, uint64_t deadline_ns, bool (*also)(const Socket*),
                     bool interruptible = false);
// poll() with a zero timeout found nothing: refresh every host socket's
// poll state in one exit. True if any changed.
bool net_refresh();
void net_init();

}  // namespace lightvm::guest

#include "devices/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/stop.hpp"
#include "lightvm/abi.h"

namespace lightvm {

namespace {

constexpr size_t kMaxSockets = 4096;
constexpr uint64_t kMaxIo = 0x7ffff000;  // what Linux moves in one call at most
constexpr short kAllEvents = POLLIN | POLLOUT | POLLPRI | POLLRDHUP;

int64_t neg_errno() { return -static_cast<int64_t>(errno); }

uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// poll() on fds until one is ready, the wait is over (wait_ns; -1 = no
// limit) or a stop is requested. Interrupted calls (the stop ticker, the
// guest timer) go round again; a stop ends the wait at once.
int wait_poll(pollfd* fds, nfds_t n, int64_t wait_ns) {
    uint64_t deadline = wait_ns < 0 ? 0 : now_ns() + static_cast<uint64_t>(wait_ns);
    for (;;) {
        if (stop_requested())
            return 0;
        int ms = -1;
        if (wait_ns >= 0) {
            uint64_t now = now_ns();
            if (now >= deadline)
                return ::poll(fds, n, 0);
            ms = static_cast<int>(std::min<uint64_t>((deadline - now + 999999) / 1000000, 1000000));
        }
        int r = ::poll(fds, n, ms);
        if (r >= 0 && (r > 0 || wait_ns >= 0))
            return r;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

// Not ready in time: errno is the caller's again (the EAGAIN of the call
// that made it wait), not the EINTR of a poll the guest timer or the stop
// ticker interrupted on the way; that one reached guests as a failed
// accept ("Interrupted system call") when a restored timer was running.
bool wait_fd(int fd, short events, int64_t wait_ns) {
    const int caller_errno = errno;
    pollfd p{fd, events, 0};
    if (wait_poll(&p, 1, wait_ns) > 0)
        return true;
    errno = caller_errno;
    return false;
}

// What is left of a call's wait that began at `start` (wait_ns; -1: no
// limit): a call that waits more than once shares it, so the guest's
// SO_RCVTIMEO/SO_SNDTIMEO bound the whole call.
int64_t wait_left(int64_t wait_ns, uint64_t start) {
    if (wait_ns <= 0)
        return wait_ns;
    uint64_t spent = now_ns() - start;
    return spent >= static_cast<uint64_t>(wait_ns) ? 0 : wait_ns - static_cast<int64_t>(spent);
}

// The options a guest may set or read on a host socket: what servers and
// clients use. Others (SO_BINDTODEVICE, SO_MARK, IP_TRANSPARENT, filters,
// ...) are ENOPROTOOPT: the guest gets a socket, not the host's network
// configuration.
bool option_allowed(uint32_t level, uint32_t name) {
    switch (level) {
    case SOL_SOCKET:
        switch (name) {
        case SO_REUSEADDR: case SO_REUSEPORT: case SO_KEEPALIVE: case SO_RCVBUF: case SO_SNDBUF:
        case SO_ERROR: case SO_TYPE: case SO_LINGER: case SO_BROADCAST: case SO_OOBINLINE:
        case SO_ACCEPTCONN: case SO_DOMAIN: case SO_PROTOCOL: case SO_RCVLOWAT: case SO_SNDLOWAT:
        case SO_PRIORITY:
            return true;
        default:
            return false;
        }
    case IPPROTO_TCP:
        switch (name) {
        case TCP_NODELAY: case TCP_KEEPIDLE: case TCP_KEEPINTVL: case TCP_KEEPCNT: case TCP_CORK:
        case TCP_QUICKACK: case TCP_USER_TIMEOUT: case TCP_DEFER_ACCEPT: case TCP_MAXSEG: case TCP_INFO:
        case TCP_FASTOPEN: case TCP_NOTSENT_LOWAT:
            return true;
        default:
            return false;
        }
    // IP_RECVERR: glibc's DNS resolver sets it on its UDP socket and gives
    // up on the lookup when it fails.
    case IPPROTO_IPV6:
        return name == IPV6_V6ONLY || name == IPV6_TCLASS || name == IPV6_UNICAST_HOPS || name == IPV6_RECVERR;
    case IPPROTO_IP:
        return name == IP_TOS || name == IP_TTL || name == IP_RECVERR;
    default:
        return false;
    }
}

Result<sockaddr_storage> publish_address(const PublishSpec& p, socklen_t* len) {
    sockaddr_storage ss{};
    const std::string where = "-p " + (p.host_ip.empty() ? "" : p.host_ip + ":") + std::to_string(p.host_port);
    if (p.host_ip.find(':') != std::string::npos) {
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(p.host_port);
        if (::inet_pton(AF_INET6, p.host_ip.c_str(), &a6->sin6_addr) != 1)
            return make_error(ErrorKind::BadInput, where, "'" + p.host_ip + "' is not an IP address");
        *len = sizeof *a6;
    } else {
        auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
        a4->sin_family = AF_INET;
        a4->sin_port = htons(p.host_port);
        if (!p.host_ip.empty() && ::inet_pton(AF_INET, p.host_ip.c_str(), &a4->sin_addr) != 1)
            return make_error(ErrorKind::BadInput, where, "'" + p.host_ip + "' is not an IP address");
        *len = sizeof *a4;
    }
    return ss;
}

}  // namespace

NetDevice::NetDevice(NetDevice&& o) noexcept
    : m_mode(o.m_mode), m_user(std::move(o.m_user)), m_socks(std::move(o.m_socks)), m_publish(std::move(o.m_publish)) {
    o.m_socks.clear();
}

NetDevice& NetDevice::operator=(NetDevice&& o) noexcept {
    if (this != &o) {
        for (auto& s : m_socks)
            if (s.fd >= 0)
                ::close(s.fd);
        m_mode = o.m_mode;
        m_user = std::move(o.m_user);
        m_socks = std::move(o.m_socks);
        m_publish = std::move(o.m_publish);
        o.m_socks.clear();
    }
    return *this;
}

NetDevice::~NetDevice() {
    for (auto& s : m_socks)
        if (s.fd >= 0)
            ::close(s.fd);
}

namespace {

// setns needs CAP_SYS_ADMIN, which the sandbox drops: done before it.
Result<void> join_network_namespace(const std::string& path) {
    const std::string where = "--net ns:" + path;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sys_error(where);
    int r = ::setns(fd, CLONE_NEWNET);
    int err = errno;
    ::close(fd);
    if (r == 0)
        return {};
    if (err == EINVAL)
        return make_error(ErrorKind::BadInput, where, path + " is not a network namespace");
    return sys_error(where, err);
}

// Runs `body` in the host's namespace `host_ns` (this thread's: namespaces
// are per thread), and comes back to this one unless `stay`.
template <typename F>
auto in_host_namespace(int host_ns, bool stay, F&& body) -> decltype(body()) {
    UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!own.valid())
        return sys_error("network namespace: /proc/thread-self/ns/net");
    if (::setns(host_ns, CLONE_NEWNET) != 0)
        return sys_error("network namespace: entering the host's");
    auto r = body();
    if (!stay && ::setns(own.get(), CLONE_NEWNET) != 0)
        return sys_error("network namespace: leaving the host's");
    return r;
}

}  // namespace

Result<NetDevice> NetDevice::create(NetMode mode, const std::vector<PublishSpec>& publish,
                                    const std::string& netns_path, int host_ns) {
    // Only when something needs the host's network: a pool shell's VM with
    // --net none and no -p stays where it is.
    if (host_ns >= 0 && (mode != NetMode::None || !publish.empty()))
        // --net none comes back (only its -p listeners are the host's); the
        // others stay where create() put the thread: the host's namespace,
        // the one at ns:PATH, or pasta's new one.
        return in_host_namespace(host_ns, /*stay=*/mode != NetMode::None,
                                 [&] { return create(mode, publish, netns_path); });
    if (!netns_path.empty())
        TRY(join_network_namespace(netns_path));
    NetDevice d;
    d.m_mode = mode;
    d.m_publish = publish;
    for (size_t i = 0; i < publish.size(); ++i) {
        const PublishSpec& p = publish[i];
        const std::string where = "-p " + (p.host_ip.empty() ? "" : p.host_ip + ":") + std::to_string(p.host_port) +
                                  ":" + std::to_string(p.guest_port) + (p.udp ? "/udp" : "");
        for (size_t k = 0; k < i; ++k)
            if (publish[k].guest_port == p.guest_port && publish[k].udp == p.udp)
                return make_error(ErrorKind::BadInput, where, "guest port " + std::to_string(p.guest_port) +
                                                                  " is published twice");
        socklen_t len = 0;
        sockaddr_storage ss = TRY(publish_address(p, &len));
        int fd = ::socket(ss.ss_family, (p.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return sys_error(where);
        d.m_socks.push_back(Sock{fd, ss.ss_family, p.guest_port, true});
        // TCP: a port in TIME_WAIT is free. Not UDP, where SO_REUSEADDR
        // would share a port another such socket holds, not refuse it.
        int one = 1;
        if (!p.udp)
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
            if (errno == EADDRINUSE)
                return tl::unexpected(Error{ErrorKind::BadInput, EADDRINUSE, where,
                                            "host port " + std::to_string(p.host_port) + " is already in use"});
            return sys_error(where);
        }
        if (!p.udp && ::listen(fd, SOMAXCONN) < 0)
            return sys_error(where);
    }
    if (mode == NetMode::User)
        d.m_user = TRY(UserNetwork::start());
    return d;
}

size_t NetDevice::open_sockets() const {
    return static_cast<size_t>(std::count_if(m_socks.begin(), m_socks.end(), [](const Sock& s) { return s.fd >= 0; }));
}

uint16_t NetDevice::published_host_port(uint16_t guest_port) const {
    for (const auto& p : m_publish)
        if (p.guest_port == guest_port)
            return p.host_port;
    return 0;
}

int NetDevice::fd_of(uint32_t handle) const { return handle < m_socks.size() ? m_socks[handle].fd : -1; }

namespace {

// An inet address and port as one key for both families (IPv4 as
// ::ffff:a.b.c.d); nullopt for anything else.
std::optional<std::array<uint8_t, 18>> peer_key(std::span<const uint8_t> a) {
    std::array<uint8_t, 18> k{};
    sa_family_t family = 0;
    if (a.size() >= sizeof family)
        std::memcpy(&family, a.data(), sizeof family);
    if (family == AF_INET && a.size() >= sizeof(sockaddr_in)) {
        sockaddr_in in{};
        std::memcpy(&in, a.data(), sizeof in);
        k[10] = k[11] = 0xff;
        std::memcpy(&k[12], &in.sin_addr, 4);
        std::memcpy(&k[16], &in.sin_port, 2);
        return k;
    }
    if (family == AF_INET6 && a.size() >= offsetof(sockaddr_in6, sin6_scope_id)) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, a.data(), offsetof(sockaddr_in6, sin6_scope_id));
        std::memcpy(&k[0], &in6.sin6_addr, 16);
        std::memcpy(&k[16], &in6.sin6_port, 2);
        return k;
    }
    return std::nullopt;
}

}  // namespace

// --net none gives the guest no way out but its -p sockets: a UDP one may
// answer whoever sent to it, and nobody else.
bool NetDevice::confined_udp(uint32_t handle) const {
    return m_mode == NetMode::None && handle < m_publish.size() && m_publish[handle].udp;
}

void NetDevice::remember_peer(uint32_t handle, const sockaddr_storage& from, socklen_t len) {
    auto key = peer_key({reinterpret_cast<const uint8_t*>(&from), len});
    if (!key)
        return;
    auto& peers = m_socks[handle].peers;
    std::erase_if(peers, [&](const UdpPeer& p) { return p.key == *key; });
    if (peers.size() >= abi::kPublishedUdpPeers)
        peers.erase(peers.begin());  // the least recently heard from
    peers.push_back(UdpPeer{*key, from, len});
}

const NetDevice::UdpPeer* NetDevice::find_peer(uint32_t handle, std::span<const uint8_t> to) const {
    auto key = peer_key(to);
    if (!key)
        return nullptr;
    for (const auto& p : m_socks[handle].peers)
        if (p.key == *key)
            return &p;
    return nullptr;
}

// Only a poll may name stdin: no other operation reaches the host's stdin.
int NetDevice::poll_fd_of(uint32_t handle) const { return handle == abi::kNetPollStdin ? m_stdin : fd_of(handle); }

int64_t NetDevice::add(int fd, int family, uint16_t guest_port) {
    for (size_t i = m_publish.size(); i < m_socks.size(); ++i) {
        if (m_socks[i].fd < 0) {
            m_socks[i] = Sock{fd, family, guest_port, false};
            return static_cast<int64_t>(i);
        }
    }
    if (m_socks.size() >= kMaxSockets) {
        ::close(fd);
        return -EMFILE;
    }
    m_socks.push_back(Sock{fd, family, guest_port, false});
    return static_cast<int64_t>(m_socks.size() - 1);
}

int64_t NetDevice::adopt(const int (&fds)[3], uint32_t (&out)[3]) {
    size_t free_slots = kMaxSockets - m_socks.size();
    for (size_t i = m_publish.size(); i < m_socks.size(); ++i)
        free_slots += m_socks[i].fd < 0;
    if (free_slots < 3) {
        for (int fd : fds)
            ::close(fd);
        return -EMFILE;
    }
    for (int i = 0; i < 3; ++i) {
        (void)::fcntl(fds[i], F_SETFL, ::fcntl(fds[i], F_GETFL) | O_NONBLOCK);  // as every socket here
        out[i] = static_cast<uint32_t>(add(fds[i], AF_UNIX, 0));
    }
    return 0;
}

uint32_t NetDevice::poll_state(int fd) const {
    pollfd p{fd, kAllEvents, 0};
    return ::poll(&p, 1, 0) > 0 ? static_cast<uint16_t>(p.revents) : 0;
}

int64_t NetDevice::do_socket(uint32_t family, uint32_t type, uint32_t protocol) {
    if (!uses_host_sockets(m_mode))
        return -EAFNOSUPPORT;  // --net none: the guest's loopback is its own
    if (family != AF_INET && family != AF_INET6)
        return -EAFNOSUPPORT;
    if (type != SOCK_STREAM && type != SOCK_DGRAM)
        return -EINVAL;
    if (protocol != 0 && protocol != (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
        return -EPROTONOSUPPORT;
    // In this thread's namespace, or the namespace process's (rootless --net user).
    int fd = m_user.make_socket(static_cast<int>(family), static_cast<int>(type) | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                static_cast<int>(protocol));
    return fd < 0 ? fd : add(fd, static_cast<int>(family), 0);
}

namespace {

// The request's data as host iovecs: buf/len, or arg NetSeg pieces
// (each checked against guest memory); at most kMaxIo bytes in all.
Result<std::vector<iovec>> data_iovecs(GuestMemory& mem, const abi::HcNet& r) {
    std::vector<iovec> iov;
    auto add = [&](uint64_t gpa, uint64_t len, uint64_t& total) -> Result<void> {
        len = std::min(len, kMaxIo - total);
        auto sp = TRY(mem.span(gpa, len));
        iov.push_back(iovec{sp.data(), sp.size()});
        total += len;
        return {};
    };
    uint64_t total = 0;
    if (r.arg == 0) {
        TRY(add(r.buf, r.len, total));
        return iov;
    }
    if (r.arg > abi::kMaxNetSegs)
        return make_error(ErrorKind::GuestFault, "net", std::to_string(r.arg) + " data pieces");
    auto raw = TRY(mem.span(r.buf, r.arg * sizeof(abi::NetSeg)));
    std::vector<abi::NetSeg> segs(r.arg);
    if (!raw.empty())  // empty vectors may have a null data(): memcpy must not see it
        std::memcpy(segs.data(), raw.data(), raw.size());
    for (const auto& sg : segs)
        TRY(add(sg.gpa, sg.len, total));
    return iov;
}

// iov without its first `skip` bytes.
std::vector<iovec> after(const std::vector<iovec>& iov, uint64_t skip) {
    std::vector<iovec> out;
    for (const auto& v : iov) {
        if (skip >= v.iov_len) {
            skip -= v.iov_len;
            continue;
        }
        out.push_back(iovec{static_cast<uint8_t*>(v.iov_base) + skip, v.iov_len - skip});
        skip = 0;
    }
    return out;
}

uint64_t total_len(const std::vector<iovec>& iov) {
    uint64_t n = 0;
    for (const auto& v : iov)
        n += v.iov_len;
    return n;
}

// The source of a datagram received (a receive's address, whether or not
// the guest asked for it).
struct Source {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

// One send or receive, never blocking the monitor beyond r.wait_ns: a
// blocking stream send moves everything (as Linux's does) unless the wait
// runs out or a stop comes; a receive returns what the first ready call
// gives, its source in *from. Bytes moved, or -errno.
int64_t transfer(int fd, abi::HcNet& r, std::span<uint8_t> addr, const std::vector<iovec>& iov, Source* from) {
    const bool send = r.op == abi::kNetSend;
    int flags = static_cast<int>(r.flags & (MSG_OOB | MSG_DONTROUTE | MSG_EOR | MSG_MORE | MSG_PEEK | MSG_TRUNC));
    flags |= MSG_DONTWAIT | MSG_NOSIGNAL;  // never block, never SIGPIPE the monitor
    const uint64_t want = total_len(iov);
    const uint64_t start = now_ns();
    uint64_t done = 0;
    for (;;) {
        std::vector<iovec> rest = after(iov, done);
        msghdr m{};
        m.msg_name = send ? static_cast<void*>(addr.empty() ? nullptr : addr.data()) : &from->addr;
        m.msg_namelen = send ? static_cast<socklen_t>(addr.size()) : sizeof from->addr;
        m.msg_iov = rest.data();
        m.msg_iovlen = rest.size();
        ssize_t n = send ? ::sendmsg(fd, &m, flags) : ::recvmsg(fd, &m, flags);
        if (n >= 0) {
            if (!send) {
                from->len = std::min<socklen_t>(m.msg_namelen, sizeof from->addr);
                if (!addr.empty()) {  // as much as fits; the length is the whole address's
                    std::memcpy(addr.data(), &from->addr, std::min<size_t>(addr.size(), from->len));
                    r.addr_len = m.msg_namelen;
                }
            }
            done += static_cast<uint64_t>(n);
            if (!send || done == want || !r.wait_ns || stop_requested() ||
                !wait_fd(fd, POLLOUT, wait_left(r.wait_ns, start)))
                return static_cast<int64_t>(done);
            continue;
        }
        if (errno != EAGAIN || !r.wait_ns || !wait_fd(fd, send ? POLLOUT : POLLIN, wait_left(r.wait_ns, start)))
            return done ? static_cast<int64_t>(done) : neg_errno();
    }
}

}  // namespace

Result<void> NetDevice::hypercall(GuestMemory& mem, uint64_t arg_gpa) {
    auto r = TRY(mem.read<abi::HcNet>(arg_gpa));
    int fd = fd_of(r.handle);
    auto need_fd = [&]() { return fd >= 0; };
    auto addr_span = [&](bool out) -> Result<std::span<uint8_t>> {
        if (r.addr_len > abi::kMaxSockaddr)
            return make_error(ErrorKind::GuestFault, "net", "socket address of " + std::to_string(r.addr_len) + " bytes");
        if (!r.addr || (!out && !r.addr_len))
            return std::span<uint8_t>{};
        return mem.span(r.addr, r.addr_len);
    };
    int64_t res = 0;
    uint32_t state_fd = ~0u;  // whose poll state to report
    switch (r.op) {
    case abi::kNetSocket:
        if (m_mode == NetMode::User && !m_user.up()) {  // the first one waits for pasta (user_net.hpp)
            if (!wait_fd(m_user.ready_fd.get(), POLLIN, -1))
                return stop_requested() ? make_error(ErrorKind::BadInput, "--net user", "stopped while pasta was starting")
                                        : sys_error("--net user: waiting for pasta");
            TRY(m_user.take_ready());
        }
        res = do_socket(r.arg, r.arg2, r.flags);
        if (res >= 0)
            state_fd = static_cast<uint32_t>(res);
        break;
    case abi::kNetClose:
        if (!need_fd()) {
            res = -EBADF;
        } else if (!m_socks[r.handle].published) {
            ::close(fd);
            m_socks[r.handle].fd = -1;
        }
        break;
    case abi::kNetBind:
    case abi::kNetConnect: {
        auto a = TRY(addr_span(false));
        if (!need_fd()) {
            res = -EBADF;
            break;
        }
        if (!uses_host_sockets(m_mode)) {
            res = r.op == abi::kNetBind ? -EADDRNOTAVAIL : -ENETUNREACH;
            break;
        }
        auto* sa = reinterpret_cast<const sockaddr*>(a.data());
        auto len = static_cast<socklen_t>(a.size());
        if (r.op == abi::kNetBind) {
            res = ::bind(fd, sa, len) < 0 ? neg_errno() : 0;
            break;
        }
        res = ::connect(fd, sa, len) < 0 ? neg_errno() : 0;
        if (res == -EINPROGRESS && r.wait_ns && wait_fd(fd, POLLOUT, r.wait_ns)) {
            int e = 0;
            socklen_t el = sizeof e;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
            res = -e;
        }
        state_fd = r.handle;
        break;
    }
    case abi::kNetListen:
        res = !need_fd() ? -EBADF : ::listen(fd, static_cast<int>(std::min<uint32_t>(r.arg, SOMAXCONN))) < 0 ? neg_errno() : 0;
        state_fd = r.handle;
        break;
    case abi::kNetAccept: {
        auto a = TRY(addr_span(true));
        if (!need_fd()) {
            res = -EBADF;
            break;
        }
        sockaddr_storage peer{};
        socklen_t plen = sizeof peer;
        const uint64_t start = now_ns();
        int c;
        while ((c = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0 &&
               errno == EAGAIN && r.wait_ns && wait_fd(fd, POLLIN, wait_left(r.wait_ns, start)))
            plen = sizeof peer;
        if (c < 0) {
            res = neg_errno();
        } else {
            res = add(c, m_socks[r.handle].family, m_socks[r.handle].guest_port);
            size_t n = std::min<size_t>(a.size(), plen);
            if (n)  // no address buffer: a.data() is null, which memcpy may not see even for 0 bytes
                std::memcpy(a.data(), &peer, n);
            r.addr_len = static_cast<uint32_t>(plen);
        }
        state_fd = r.handle;
        break;
    }
    case abi::kNetSend:
    case abi::kNetRecv: {
        auto a = TRY(addr_span(r.op == abi::kNetRecv));
        std::vector<iovec> iov = TRY(data_iovecs(mem, r));
        if (!need_fd()) {
            res = -EBADF;
            break;
        }
        state_fd = r.handle;
        const bool confined = confined_udp(r.handle);
        Source from;
        sockaddr_storage client{};
        if (confined && r.op == abi::kNetSend) {
            // Only to a client, at the address it came from (not the guest's spelling of it).
            const UdpPeer* p = find_peer(r.handle, a);
            if (!p) {
                res = a.empty() ? -EDESTADDRREQ : -ENETUNREACH;
                break;
            }
            client = p->addr;
            a = std::span<uint8_t>(reinterpret_cast<uint8_t*>(&client), p->len);
        }
        res = transfer(fd, r, a, iov, &from);
        if (confined && r.op == abi::kNetRecv && res >= 0)
            remember_peer(r.handle, from.addr, from.len);
        break;
    }
    case abi::kNetShutdown:
        res = !need_fd() ? -EBADF : ::shutdown(fd, static_cast<int>(r.arg)) < 0 ? neg_errno() : 0;
        state_fd = r.handle;
        break;
    case abi::kNetSockName: {
        auto a = TRY(addr_span(true));
        if (!need_fd()) {
            res = -EBADF;
            break;
        }
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int rc = r.arg ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                       : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        if (rc < 0) {
            res = neg_errno();
            break;
        }
        // A -p socket's own name is the guest's port, not the host's.
        uint16_t gp = m_socks[r.handle].guest_port;
        if (!r.arg && gp && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
            reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(gp);  // same offset in sockaddr_in6
        if (!a.empty())
            std::memcpy(a.data(), &ss, std::min<size_t>(a.size(), len));
        r.addr_len = len;
        break;
    }
    case abi::kNetGetOpt:
    case abi::kNetSetOpt: {
        auto v = TRY(mem.span(r.buf, std::min<uint64_t>(r.len, 256)));
        if (!need_fd()) {
            res = -EBADF;
        } else if (!option_allowed(r.arg, r.arg2)) {
            res = -ENOPROTOOPT;
        } else if (r.op == abi::kNetSetOpt) {
            res = ::setsockopt(fd, static_cast<int>(r.arg), static_cast<int>(r.arg2), v.data(),
                               static_cast<socklen_t>(v.size())) < 0 ? neg_errno() : 0;
        } else {
            auto len = static_cast<socklen_t>(v.size());
            res = ::getsockopt(fd, static_cast<int>(r.arg), static_cast<int>(r.arg2), v.data(), &len) < 0
                      ? neg_errno() : static_cast<int64_t>(len);
        }
        break;
    }
    case abi::kNetPoll: {
        if (r.len > abi::kMaxNetPoll)
            return make_error(ErrorKind::GuestFault, "net", "poll of " + std::to_string(r.len) + " sockets");
        auto raw = TRY(mem.span(r.buf, r.len * sizeof(abi::NetPollEntry)));
        std::vector<abi::NetPollEntry> e(r.len);
        if (!raw.empty())
            std::memcpy(e.data(), raw.data(), raw.size());
        std::vector<pollfd> p(r.len);
        for (size_t i = 0; i < e.size(); ++i)
            p[i] = pollfd{poll_fd_of(e[i].handle), static_cast<short>(e[i].events & kAllEvents), 0};
        if (wait_poll(p.data(), p.size(), r.wait_ns) < 0) {
            res = neg_errno();
            break;
        }
        // Report each socket's whole state, not just what was waited for:
        // the guest caches it until the socket's next call.
        for (size_t i = 0; i < e.size(); ++i) {
            e[i].revents = p[i].fd < 0 ? POLLNVAL : static_cast<uint16_t>(poll_state(p[i].fd));
            res += e[i].revents & (POLLIN | POLLOUT | POLLERR | POLLHUP) ? 1 : 0;
        }
        if (!raw.empty())
            std::memcpy(raw.data(), e.data(), raw.size());
        break;
    }
    case abi::kNetPublished: {
        res = -ENOENT;
        for (size_t i = 0; i < m_publish.size(); ++i)
            if (m_publish[i].guest_port == r.arg && m_publish[i].udp == (r.arg2 == SOCK_DGRAM))
                res = static_cast<int64_t>(i);
        if (res >= 0)
            state_fd = static_cast<uint32_t>(res);
        break;
    }
    case abi::kNetReadable: {
        int n = 0;
        res = !need_fd() ? -EBADF : ::ioctl(fd, FIONREAD, &n) < 0 ? neg_errno() : n;
        state_fd = r.handle;
        break;
    }
    default:
        return make_error(ErrorKind::GuestFault, "net", "unknown operation " + std::to_string(r.op));
    }
    r.result = res;
    int sfd = fd_of(state_fd);
    r.revents = sfd >= 0 ? poll_state(sfd) : 0;
    return mem.write(arg_gpa, r);
}

}  // namespace lightvm

#include "monitor/exec_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "devices/net.hpp"

namespace lightvm {

namespace {

// An untaken queue is rung again this often: news sent before the guest's
// first process existed (or while the VM was not yet running) is not lost.
constexpr int kRingAgainMs = 100;

void close_all(const int (&fds)[3]) {
    for (int fd : fds)
        if (fd >= 0)
            ::close(fd);
}

void reply(int fd, ExecReplyKind kind, int32_t value) {
    if (fd < 0)
        return;
    ExecReply r{kind, value};
    // A client that went away must not stop (or SIGPIPE) the monitor.
    // sendmsg/recvmsg: the calls the sandbox allows (send/recv are sendto/recvfrom).
    iovec iov{&r, sizeof r};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    (void)::sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
}

// The request a client sent: well-formed or refused with EINVAL. The
// guest checks the strings again; this keeps garbage out of the queue.
bool well_formed(const std::vector<char>& msg) {
    if (msg.size() < sizeof(abi::ExecRequest))
        return false;
    abi::ExecRequest h;
    std::memcpy(&h, msg.data(), sizeof h);
    return h.kind == abi::kExecStart && h.argc >= 1 && h.ngroups <= abi::kExecMaxGroups &&
           h.strings_len == msg.size() - sizeof h && h.path[0] == '/' && memchr(h.path, 0, sizeof h.path) &&
           memchr(h.cwd, 0, sizeof h.cwd) && (h.strings_len == 0 || msg.back() == 0);
}

}  // namespace

namespace {

// A socket's address for `path`. Paths past sun_path's 108 bytes (Docker's
// state directories are longer) are reached through the directory:
// /proc/self/fd/DIR/NAME, with DIR an O_PATH fd the caller keeps open
// (*dir) until bind or connect is done.
Result<sockaddr_un> address(const std::string& path, int* dir) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string name = path;
    if (path.size() >= sizeof addr.sun_path) {
        const auto slash = path.rfind('/');
        *dir = ::open(slash == std::string::npos ? "." : path.substr(0, slash).c_str(), O_PATH | O_CLOEXEC);
        if (*dir < 0)
            return sys_error("open " + path.substr(0, slash));
        name = "/proc/self/fd/" + std::to_string(*dir) + "/" + path.substr(slash + 1);
        if (name.size() >= sizeof addr.sun_path)
            return make_error(ErrorKind::BadInput, "exec socket " + path, "name too long");
    }
    std::memcpy(addr.sun_path, name.c_str(), name.size());
    return addr;
}

// bind/listen or connect at `path`; the fd, or the error.
Result<int> socket_at(const std::string& path, bool server) {
    int dir = -1;
    auto addr = address(path, &dir);
    if (!addr)
        return tl::unexpected(addr.error());
    int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (server)
        ::unlink(path.c_str());
    const bool ok = fd >= 0 && (server ? ::bind(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) == 0 &&
                                             ::listen(fd, 16) == 0
                                       : ::connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) == 0);
    const int err = errno;
    if (dir >= 0)
        ::close(dir);
    if (ok)
        return fd;
    if (fd >= 0)
        ::close(fd);
    return sys_error(std::string(server ? "bind " : "connect ") + path, err);
}

}  // namespace

Result<std::unique_ptr<ExecChannel>> ExecChannel::listen(const std::string& path) {
    const int fd = TRY(socket_at(path, true));
    return std::unique_ptr<ExecChannel>(new ExecChannel(fd));
}

Result<int> ExecChannel::connect(const std::string& path) { return socket_at(path, false); }

ExecChannel::~ExecChannel() {
    {
        std::lock_guard g(m_lock);
        m_stop = true;
    }
    if (m_wake[1] >= 0)
        (void)!::write(m_wake[1], "x", 1);
    if (m_thread.joinable())
        m_thread.join();
    for (auto& [id, c] : m_clients)
        if (c.fd >= 0)
            ::close(c.fd);
    for (auto& item : m_queue)
        close_all(item.stdio);
    for (int fd : {m_listen, m_wake[0], m_wake[1]})
        if (fd >= 0)
            ::close(fd);
}

void ExecChannel::start(std::function<void()> ring) {
    m_ring = std::move(ring);
    if (::pipe2(m_wake, O_CLOEXEC) != 0)
        m_wake[0] = m_wake[1] = -1;
    m_thread = std::thread([this] { serve(); });
}

void ExecChannel::serve() {
    // Signals to the monitor are the vCPU loop's (a stop, a forward).
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
    for (;;) {
        std::vector<pollfd> fds{{m_listen, POLLIN, 0}, {m_wake[0], POLLIN, 0}};
        std::vector<uint32_t> ids;
        bool waiting = false;
        {
            std::lock_guard g(m_lock);
            if (m_stop)
                return;
            for (auto& [id, c] : m_clients)
                if (c.fd >= 0) {
                    fds.push_back({c.fd, POLLIN, 0});
                    ids.push_back(id);
                }
            waiting = !m_queue.empty();
        }
        if (waiting && m_ring)
            m_ring();
        if (::poll(fds.data(), fds.size(), waiting ? kRingAgainMs : -1) < 0)
            continue;
        if (fds[1].revents) {
            char b[16];
            (void)!::read(m_wake[0], b, sizeof b);
        }
        if (fds[0].revents & POLLIN)
            accept_one();
        for (size_t i = 0; i < ids.size(); ++i)
            if (fds[i + 2].revents)
                read_client(ids[i]);
    }
}

void ExecChannel::accept_one() {
    int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    std::vector<char> msg(abi::kExecRequestMax);
    alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
    iovec iov{msg.data(), msg.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    // The client sends its request right after connecting: a short wait.
    pollfd p{fd, POLLIN, 0};
    ssize_t n = ::poll(&p, 1, 5000) == 1 ? ::recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) : -1;
    Item item{0, abi::kExecStart};
    cmsghdr* c = n > 0 ? CMSG_FIRSTHDR(&m) : nullptr;
    int got = 0;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        got = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        std::memcpy(item.stdio, CMSG_DATA(c), std::min(got, 3) * sizeof(int));
    }
    if (n > 0)
        msg.resize(static_cast<size_t>(n));
    std::lock_guard g(m_lock);
    const bool full = m_clients.size() >= kMaxExecClients;
    if (n <= 0 || got != 3 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || !well_formed(msg) || full) {
        reply(fd, kExecRefused, full ? EAGAIN : EINVAL);
        close_all(item.stdio);
        ::close(fd);
        return;
    }
    item.id = m_next_id++;
    item.request = std::move(msg);
    m_clients[item.id] = Client{fd};
    queue(std::move(item));
}

// A signal or a terminal size from the client, or its hang-up (SIGKILL
// for its process).
void ExecChannel::read_client(uint32_t id) {
    std::lock_guard g(m_lock);
    auto it = m_clients.find(id);
    if (it == m_clients.end())
        return;
    Client& c = it->second;
    ExecResizeMsg msg{};
    int32_t& sig = msg.zero;  // a signal message is this int32 alone
    iovec iov{&msg, sizeof msg};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    ssize_t n = ::recvmsg(c.fd, &m, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    const bool gone = n <= 0;
    if (gone) {
        ::close(c.fd);
        c.fd = -1;
        sig = SIGKILL;
    }
    if (!c.started) {  // still queued: it never reaches the guest
        for (auto q = m_queue.begin(); q != m_queue.end(); ++q)
            if (q->id == id && q->kind == abi::kExecStart && gone) {
                close_all(q->stdio);
                m_queue.erase(q);
                m_clients.erase(it);
                return;
            }
    }
    if (c.ended) {
        if (gone)
            m_clients.erase(it);
        return;
    }
    if (n == sizeof msg && msg.zero == 0) {
        Item item{id, abi::kExecResize};
        item.signal = static_cast<int>(uint32_t{msg.rows} << 16 | msg.cols);
        queue(std::move(item));
        return;
    }
    if (n == sizeof sig && (sig < 1 || sig > 64))
        return;  // not a signal: ignored
    Item item{id, abi::kExecSignal};
    item.signal = sig;
    queue(std::move(item));
}

void ExecChannel::queue(Item item) {
    m_queue.push_back(std::move(item));
    if (m_ring)
        m_ring();
}

Result<void> ExecChannel::hypercall(GuestMemory& mem, NetDevice* net, uint64_t arg_gpa) {
    auto hc = TRY(mem.read<abi::HcExec>(arg_gpa));
    int64_t result;
    if (hc.op == abi::kExecTake) {
        if (hc.len < sizeof(abi::ExecRequest) || hc.len > abi::kExecRequestMax)
            return make_error(ErrorKind::GuestFault, "exec", "request buffer of " + std::to_string(hc.len) + " bytes");
        TRY(mem.span(hc.buf, hc.len));  // the whole buffer is the guest's, whatever comes
        result = take(mem, net, hc.buf, hc.len);
    } else if (hc.op == abi::kExecDone) {
        result = done(hc.id, hc.status);
    } else {
        return make_error(ErrorKind::GuestFault, "exec", "unknown op " + std::to_string(hc.op));
    }
    return mem.write<int64_t>(arg_gpa + offsetof(abi::HcExec, result), result);
}

int64_t ExecChannel::take(GuestMemory& mem, NetDevice* net, uint64_t buf, uint64_t len) {
    std::lock_guard g(m_lock);
    while (!m_queue.empty()) {
        Item item = std::move(m_queue.front());
        m_queue.pop_front();
        auto client = m_clients.find(item.id);
        if (item.kind != abi::kExecStart) {  // a signal or a terminal size
            abi::ExecRequest r{};
            r.kind = item.kind;
            r.id = item.id;
            r.signal = static_cast<uint32_t>(item.signal);
            (void)mem.write(buf, r);
            return 1;
        }
        if (client == m_clients.end() || item.request.size() > len) {
            close_all(item.stdio);
            continue;
        }
        abi::ExecRequest r;
        std::memcpy(&r, item.request.data(), sizeof r);
        r.id = item.id;
        r.flags &= abi::kExecFlagsKnown;
        if (!net)
            close_all(item.stdio);  // adopt closes them on failure; here nobody would
        const int64_t err = net ? net->adopt(item.stdio, r.stdio) : -ENODEV;
        if (err < 0) {  // the fds are closed; the client hears why
            reply(client->second.fd, kExecRefused, static_cast<int32_t>(-err));
            client->second.ended = true;
            continue;
        }
        std::memcpy(item.request.data(), &r, sizeof r);
        (void)mem.write_bytes(buf, std::span(reinterpret_cast<const uint8_t*>(item.request.data()), item.request.size()));
        client->second.started = true;
        return 1;
    }
    return 0;
}

int64_t ExecChannel::done(uint32_t id, int32_t status) {
    std::lock_guard g(m_lock);
    auto it = m_clients.find(id);
    if (it == m_clients.end() || !it->second.started || it->second.ended)
        return -ENOENT;  // a confused guest: nothing to report to
    reply(it->second.fd, kExecExited, status);
    it->second.ended = true;
    if (it->second.fd < 0)
        m_clients.erase(it);
    return 0;
}

}  // namespace lightvm

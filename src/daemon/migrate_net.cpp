#include "daemon/migrate_net.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace lightvm::daemon {

namespace {

tl::unexpected<Error> bad(const std::string& text, const std::string& why) {
    return make_error(ErrorKind::BadInput, "address", "'" + text + "': " + why);
}

struct AddrInfo {
    addrinfo* list = nullptr;
    ~AddrInfo() {
        if (list)
            ::freeaddrinfo(list);
    }
};

Result<void> resolve(const Endpoint& e, bool passive, AddrInfo& out) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    const std::string port = std::to_string(e.port);
    if (int rc = ::getaddrinfo(e.host.c_str(), port.c_str(), &hints, &out.list); rc != 0)
        return make_error(ErrorKind::BadInput, "address", e.host + ": " + ::gai_strerror(rc));
    return {};
}

}  // namespace

Result<Endpoint> parse_endpoint(const std::string& text) {
    Endpoint e;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return bad(text, "expected [IPV6]:PORT");
        e.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon)
            return bad(text, "expected HOST:PORT (IPv6 as [ADDR]:PORT)");
        e.host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (e.host.empty())
        return bad(text, "no host");
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
        return bad(text, "the port must be a number");
    const unsigned long n = std::stoul(port);
    if (n == 0 || n > 65535)
        return bad(text, "the port must be 1-65535");
    e.port = static_cast<uint16_t>(n);
    return e;
}

void prepare_migration_socket(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0)
        ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{kMigrationIoTimeout, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

Result<UniqueFd> connect_endpoint(const Endpoint& to, int timeout_ms) {
    AddrInfo ai;
    TRY(resolve(to, false, ai));
    int last = ECONNREFUSED;
    for (addrinfo* a = ai.list; a; a = a->ai_next) {
        UniqueFd fd(::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd.valid()) {
            last = errno;
            continue;
        }
        if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
            last = errno;
            continue;
        }
        pollfd p{fd.get(), POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (::poll(&p, 1, timeout_ms) != 1) {
            last = ETIMEDOUT;
            continue;
        }
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            last = err;
            continue;
        }
        prepare_migration_socket(fd.get());
        return fd;
    }
    return make_error(ErrorKind::System, "migrate",
                      "cannot connect to " + to.host + ":" + std::to_string(to.port) + ": " + std::strerror(last));
}

Result<UniqueFd> listen_endpoint(const Endpoint& at) {
    AddrInfo ai;
    TRY(resolve(at, true, ai));
    int last = EADDRNOTAVAIL;
    for (addrinfo* a = ai.list; a; a = a->ai_next) {
        UniqueFd fd(::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!fd.valid()) {
            last = errno;
            continue;
        }
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd.get(), 16) == 0)
            return fd;
        last = errno;
    }
    return make_error(ErrorKind::System, "--migrate-listen",
                      at.host + ":" + std::to_string(at.port) + ": " + std::strerror(last));
}

}  // namespace lightvm::daemon

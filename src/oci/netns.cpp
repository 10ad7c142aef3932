#include "oci/netns.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.hpp"

namespace lightvm::oci {

Result<void> join_network_namespace(const std::string& path) {
    UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid() || ::setns(ns.get(), CLONE_NEWNET) != 0)
        return sys_error("join network namespace " + path);
    return {};
}

Result<void> new_network_namespace() {
    if (::unshare(CLONE_NEWNET) != 0)
        return sys_error("new network namespace (unshare)");
    // A new namespace's loopback starts down; runc brings it up, and a
    // guest expects 127.0.0.1 to work.
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid())
        return sys_error("new network namespace: socket");
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0)
        return sys_error("new network namespace: loopback flags");
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &req) != 0)
        return sys_error("new network namespace: loopback up");
    return {};
}

}  // namespace lightvm::oci

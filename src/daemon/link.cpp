#include "daemon/link.hpp"

#include "common/fd_passing.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace lightvm::daemon {

Result<void> send_message(int sock, const std::string& text, const std::vector<int>& fds) {
    if (text.size() > kMaxMessage || fds.size() > kMaxFds)
        return make_error(ErrorKind::BadInput, "monitor link", "message too large");
    return send_with_fds(sock, text, fds, "monitor link send");
}

Result<Message> recv_message(int sock, bool interruptible) {
    Message m;
    // Not a zero-filled std::string: a monitor keeps its workload message
    // for the VM's life, and a string keeps its capacity after resize, so
    // each idle VM held 256 KiB of dirty memory for a message of ~2 KiB.
    std::unique_ptr<char[]> buf(new char[kMaxMessage]);
    iovec iov{buf.get(), kMaxMessage};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
        if (errno != EINTR || interruptible)
            return sys_error("monitor link receive");
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            m.fds.emplace_back(fd);
        }
    }
    if (n == 0 && m.fds.empty()) {
        m.eof = true;
        return m;
    }
    if (msg.msg_flags & MSG_TRUNC)
        return make_error(ErrorKind::BadInput, "monitor link", "message truncated");
    m.text.assign(buf.get(), static_cast<size_t>(n));
    return m;
}

namespace {

constexpr const char* kRelinkName = "link.sock";

sockaddr_un relink_address(int dir_fd) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dir_fd, kRelinkName);
    return a;
}

}  // namespace

Result<UniqueFd> relink_listen(int vm_dir_fd) {
    ::unlinkat(vm_dir_fd, kRelinkName, 0);  // a previous monitor's, if any
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.valid())
        return sys_error("relink socket");
    sockaddr_un a = relink_address(vm_dir_fd);
    // Room for many restarts' connections: each waits here until the next
    // request takes the newest (those of dead daemons are closed then).
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s.get(), 64) != 0)
        return sys_error("relink socket bind");
    return s;
}

Result<UniqueFd> relink_connect(const std::string& vm_dir) {
    UniqueFd dir(::open(vm_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid())
        return sys_error(vm_dir);
    // Non-blocking: a full backlog (a monitor that took no request through
    // dozens of restarts) must not hang the daemon's recovery; a local
    // connect succeeds at once or fails (EAGAIN), it never pends.
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.valid())
        return sys_error("relink socket");
    sockaddr_un a = relink_address(dir.get());
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        return sys_error(vm_dir + "/" + kRelinkName);
    if (::fcntl(s.get(), F_SETFL, ::fcntl(s.get(), F_GETFL) & ~O_NONBLOCK) != 0)
        return sys_error("relink socket");
    return s;
}

}  // namespace lightvm::daemon

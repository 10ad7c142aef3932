#include "daemon/link.hpp"

#include "common/fd_passing.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace lightvm::daemon {

Result<void> send_message(int sock, const std::string& text, const std::vector<int>& fds) {
    if (text.size() > kMaxMessage || fds.size() > kMaxFds)
        return make_error(ErrorKind::BadInput, "monitor link", "message too large");
    return send_with_fds(sock, text, fds, "monitor link send");
}

Result<Message> recv_message(int sock, bool interruptible) {
    Message m;
    std::string buf(kMaxMessage, '\0');
    iovec iov{buf.data(), buf.size()};
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
    buf.resize(static_cast<size_t>(n));
    m.text = std::move(buf);
    return m;
}

}  // namespace lightvm::daemon

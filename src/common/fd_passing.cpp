#include "common/fd_passing.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace lightvm {

Result<void> send_with_fds(int sock, std::string_view bytes, std::span<const int> fds, const char* what) {
    constexpr size_t kMaxFds = 16;
    if (fds.size() > kMaxFds)
        return make_error(ErrorKind::BadInput, what, "too many descriptors in one message");
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
    if (!fds.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    for (;;) {
        const ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return n == static_cast<ssize_t>(bytes.size()) ? Result<void>{}
                                                           : make_error(ErrorKind::System, what, "message cut short");
        if (errno != EINTR)
            return sys_error(what);
    }
}

}  // namespace lightvm

#include "devices/socket_factory.hpp"

#include "common/fd_passing.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace lightvm {

namespace {

constexpr const char* kWhere = "--net user";

struct Request {
    int32_t domain, type, protocol;
};

// A few bytes into a /proc file, raw calls only (a fork of a possibly
// multithreaded process: no malloc, no stdio).
bool write_file(const char* path, const char* text) {
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = ::write(fd, text, strlen(text)) == static_cast<ssize_t>(strlen(text));
    ::close(fd);
    return ok;
}

// Maps the caller's own ids into the new namespace, and nothing else (what
// an unprivileged process may do; setgroups must be denied first).
bool map_own_ids(const char* uid_line, const char* gid_line) {
    return write_file("/proc/self/uid_map", uid_line) && write_file("/proc/self/setgroups", "deny") &&
           write_file("/proc/self/gid_map", gid_line);
}

// An errno (0: ok) and the socket, if any. send_with_fds allocates only
// to describe a failure, which this process ignores (it ends at the next
// recv when the monitor is gone).
void reply(int chan, int32_t err, int fd) {
    const std::string_view bytes(reinterpret_cast<const char*>(&err), sizeof err);
    (void)send_with_fds(chan, bytes, fd >= 0 ? std::span<const int>(&fd, 1) : std::span<const int>(), kWhere);
}

// The namespace process: tells the monitor whether the namespaces exist
// (errno or 0), then makes sockets until the monitor's end closes.
[[noreturn]] void serve(int chan, const char* uid_line, const char* gid_line, pid_t monitor) {
    ::syscall(SYS_close_range, 3u, static_cast<unsigned>(chan) - 1u, 0u);
    ::syscall(SYS_close_range, static_cast<unsigned>(chan) + 1u, ~0u, 0u);
    int32_t err = 0;
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0 || !map_own_ids(uid_line, gid_line))
        err = errno ? errno : EPERM;
    // Set after unshare: a change of credentials (the new namespace's)
    // clears it. The monitor may have gone meanwhile: then go too.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != monitor)
        ::_exit(0);
    reply(chan, err, -1);
    if (err)
        ::_exit(1);
    for (;;) {
        Request r{};
        ssize_t n = ::recv(chan, &r, sizeof r, 0);
        if (n == 0 || (n < 0 && errno != EINTR))
            ::_exit(0);  // the monitor is gone
        if (n != sizeof r)
            continue;
        int fd = ::socket(r.domain, r.type, r.protocol);
        reply(chan, fd < 0 ? errno : 0, fd);
        if (fd >= 0)
            ::close(fd);
    }
}

// One reply: its errno (0: ok) and the fd it carried, if any.
int32_t take_reply(int chan, int* fd) {
    int32_t err = EPROTO;
    char control[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{&err, sizeof err};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    *fd = -1;
    ssize_t n;
    do
        n = ::recvmsg(chan, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n != sizeof err)
        return n < 0 ? errno : EPROTO;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(fd, CMSG_DATA(c), sizeof(int));
    return err;
}

Result<UniqueFd> open_ns(pid_t pid, const char* kind) {
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/" + kind;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return sys_error(std::string(kWhere) + ": " + path);
    return fd;
}

}  // namespace

Result<SocketFactory> SocketFactory::start() {
    char uid_line[32], gid_line[32];
    std::snprintf(uid_line, sizeof uid_line, "%u %u 1\n", ::getuid(), ::getuid());
    std::snprintf(gid_line, sizeof gid_line, "%u %u 1\n", ::getgid(), ::getgid());
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return sys_error(kWhere);
    UniqueFd mine(sv[0]), theirs(sv[1]);
    const pid_t monitor = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0)
        return sys_error(std::string(kWhere) + ": fork");
    if (pid == 0)
        serve(theirs.get(), uid_line, gid_line, monitor);
    theirs = UniqueFd();
    SocketFactory f;
    f.m_pid = pid;
    int none;
    if (int32_t err = take_reply(mine.get(), &none); err != 0) {
        ::waitpid(pid, nullptr, 0);
        return make_error(ErrorKind::BadInput, kWhere,
                          std::string("a user and network namespace of the VM's own: ") + std::strerror(err) +
                              " (unprivileged user namespaces disabled? kernel.unprivileged_userns_clone)");
    }
    f.m_chan = std::move(mine);
    f.m_user_ns = TRY(open_ns(pid, "user"));
    f.m_net_ns = TRY(open_ns(pid, "net"));
    return f;
}

int SocketFactory::make(int domain, int type, int protocol) const {
    const Request r{domain, type, protocol};
    // (sendmsg inside, not send: the monitor's sandbox allows the one.)
    if (!send_with_fds(m_chan.get(), {reinterpret_cast<const char*>(&r), sizeof r}, {}, kWhere))
        return -EPIPE;
    int fd = -1;
    int32_t err = take_reply(m_chan.get(), &fd);
    if (err != 0) {
        if (fd >= 0)
            ::close(fd);
        return -err;
    }
    return fd >= 0 ? fd : -EPROTO;
}

}  // namespace lightvm

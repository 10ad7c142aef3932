/* Sockets between processes and at scale, no network needed (issue 14's
   test list): AF_UNIX with SCM_RIGHTS between two processes, a socket
   inherited across fork, non-blocking connect (EINPROGRESS, then SO_ERROR),
   an epoll-driven TCP server with 200 concurrent connections from a forked
   client, UDP echo with sendmmsg/recvmmsg, sendfile from a file to a TCP
   socket, IPv6 loopback. Prints only what is the same on Linux and in
   lightvm (--net none), so the two outputs can be compared. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kConns = 200 };

static void check(const char* what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAILED"); }

static int child_status(pid_t pid) {
    int st = 0;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A TCP listener on the loopback of `family`, port chosen by the kernel. */
static int listener(int family, struct sockaddr_storage* ss, socklen_t* len, int flags) {
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in* a = (struct sockaddr_in*)ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *a;
    } else {
        struct sockaddr_in6* a = (struct sockaddr_in6*)ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        *len = sizeof *a;
    }
    int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (l < 0 || bind(l, (struct sockaddr*)ss, *len) < 0 || listen(l, kConns + 8) < 0)
        return -1;
    getsockname(l, (struct sockaddr*)ss, len);
    return l;
}

static int send_fd(int sock, int fd) {
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {"F", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock) {
    char cbuf[CMSG_SPACE(sizeof(int))], one;
    struct iovec iov = {&one, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    if (recvmsg(sock, &m, 0) != 1)
        return -1;
    struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
    int fd = -1;
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

/* The child opens a pipe, passes its write end to the parent over an
   AF_UNIX socketpair and then reads what the parent wrote through it. */
static void fd_passing_between_processes(void) {
    int sv[2];
    check("socketpair for two processes", socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        int p[2];
        if (pipe(p) < 0 || send_fd(sv[1], p[1]) < 0)
            _exit(1);
        close(p[1]);
        char buf[32] = {0};
        ssize_t n = read(p[0], buf, sizeof buf - 1);
        _exit(n == 15 && strcmp(buf, "through the fd\n") == 0 ? 0 : 2);
    }
    close(sv[1]);
    int fd = recv_fd(sv[0]);
    check("SCM_RIGHTS from another process", fd >= 0);
    check("write through the passed fd", fd >= 0 && write(fd, "through the fd\n", 15) == 15);
    close(fd);
    check("the other process read it", child_status(pid) == 0);
    close(sv[0]);
}

/* A connected TCP socket shared by parent and child after fork: the child
   sends, the parent's peer receives; both ends stay usable. */
static void socket_across_fork(void) {
    struct sockaddr_storage ss;
    socklen_t len;
    int l = listener(AF_INET, &ss, &len, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    check("fork: connect", l >= 0 && connect(c, (struct sockaddr*)&ss, len) == 0);
    int s = accept(l, NULL, NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(send(c, "from child", 10, 0) == 10 ? 0 : 1);
    check("fork: child sent on the inherited socket", child_status(pid) == 0);
    char buf[32];
    check("fork: peer got the child's bytes", recv(s, buf, sizeof buf, 0) == 10 && memcmp(buf, "from child", 10) == 0);
    check("fork: parent still sends", send(c, "parent", 6, 0) == 6 && recv(s, buf, sizeof buf, 0) == 6);
    close(c);
    check("fork: EOF once both copies are closed", recv(s, buf, sizeof buf, 0) == 0);
    close(s);
    close(l);
}

static void nonblocking_connect(int family) {
    struct sockaddr_storage ss;
    socklen_t len;
    int l = listener(family, &ss, &len, 0);
    int c = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr*)&ss, len);
    /* Linux completes a loopback connect at once or says EINPROGRESS. */
    check(family == AF_INET ? "non-blocking connect 4" : "non-blocking connect 6",
          l >= 0 && (r == 0 || errno == EINPROGRESS));
    struct pollfd p = {c, POLLOUT, 0};
    int err = -1;
    socklen_t elen = sizeof err;
    check("connect completes: writable", poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT));
    check("connect completes: SO_ERROR 0", getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0);
    int s = accept(l, NULL, NULL);
    check("connected both ways", s >= 0 && send(c, "x", 1, 0) == 1);
    close(s);
    close(c);
    /* Refused: nobody listens any more. */
    close(l);
    c = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r = connect(c, (struct sockaddr*)&ss, len);
    if (r < 0 && errno == EINPROGRESS) {
        p.fd = c;
        poll(&p, 1, 5000);
        getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen);
    } else {
        err = r < 0 ? errno : 0;
    }
    check("non-blocking connect refused: ECONNREFUSED", err == ECONNREFUSED);
    close(c);
}

/* Client process: kConns connections open at once, then a request on each,
   every answer read, and only then all closed. */
static int many_clients(const struct sockaddr_storage* ss, socklen_t len) {
    static int fds[kConns];
    for (int i = 0; i < kConns; ++i) {
        fds[i] = socket(ss->ss_family, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (const struct sockaddr*)ss, len) < 0)
            return 1;
    }
    for (int i = 0; i < kConns; ++i) {
        char req[16];
        int n = snprintf(req, sizeof req, "%d\n", i);
        if (send(fds[i], req, (size_t)n, 0) != n)
            return 2;
    }
    for (int i = 0; i < kConns; ++i) {
        char buf[16] = {0}, want[16];
        snprintf(want, sizeof want, "%d\n", i * 2);
        size_t got = 0;
        ssize_t n;
        while (got < sizeof buf - 1 && !memchr(buf, '\n', got) &&
               (n = recv(fds[i], buf + got, sizeof buf - 1 - got, 0)) > 0)
            got += (size_t)n;
        if (strcmp(buf, want) != 0)
            return 3;
    }
    for (int i = 0; i < kConns; ++i)  /* every answer came: all were accepted */
        close(fds[i]);
    return 0;
}

/* Server: non-blocking listener and connections in one epoll set; each
   request "N\n" is answered "2N\n"; done when all connections closed. */
static void epoll_server(void) {
    struct sockaddr_storage ss;
    socklen_t len;
    int l = listener(AF_INET, &ss, &len, SOCK_NONBLOCK);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    pid_t pid = fork();
    if (pid == 0)
        _exit(many_clients(&ss, len));
    int accepted = 0, answered = 0, closed = 0, max_open = 0, open_now = 0;
    while (closed < kConns) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 10000);
        if (n <= 0)
            break;
        for (int i = 0; i < n; ++i) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                int s;
                while ((s = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = s};
                    epoll_ctl(ep, EPOLL_CTL_ADD, s, &cev);
                    ++accepted;
                    if (++open_now > max_open)
                        max_open = open_now;
                }
                continue;
            }
            char buf[64];
            ssize_t got = recv(fd, buf, sizeof buf - 1, 0);
            if (got > 0) {
                buf[got] = 0;
                char out[16];
                int m = snprintf(out, sizeof out, "%d\n", atoi(buf) * 2);
                if (send(fd, out, (size_t)m, 0) == m)
                    ++answered;
            } else if (got == 0 || errno != EAGAIN) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                ++closed;
                --open_now;
            }
        }
    }
    check("epoll server: 200 connections accepted", accepted == kConns);
    check("epoll server: 200 open at once", max_open == kConns);
    check("epoll server: 200 requests answered", answered == kConns);
    check("epoll server: the client saw every answer", child_status(pid) == 0);
    close(ep);
    close(l);
}

static void udp_mmsg(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(a, (struct sockaddr*)&sa, sizeof sa);
    socklen_t len = sizeof sa;
    getsockname(a, (struct sockaddr*)&sa, &len);
    check("udp connect", connect(b, (struct sockaddr*)&sa, sizeof sa) == 0);
    char* words[3] = {"one", "three", "seven!!"};
    struct iovec iov[3];
    struct mmsghdr out[3];
    memset(out, 0, sizeof out);
    for (int i = 0; i < 3; ++i) {
        iov[i].iov_base = words[i];
        iov[i].iov_len = strlen(words[i]);
        out[i].msg_hdr.msg_iov = &iov[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    check("sendmmsg 3 datagrams", sendmmsg(b, out, 3, 0) == 3 && out[2].msg_len == 7);
    char bufs[3][16];
    struct iovec riov[3];
    struct mmsghdr in[3];
    memset(in, 0, sizeof in);
    for (int i = 0; i < 3; ++i) {
        riov[i].iov_base = bufs[i];
        riov[i].iov_len = sizeof bufs[i];
        in[i].msg_hdr.msg_iov = &riov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(a, in, 3, MSG_WAITFORONE, NULL);
    int all = n;
    while (n > 0 && all < 3) {  /* Linux may hand them over in more than one call */
        n = recvmmsg(a, in + all, 3 - all, 0, NULL);
        all += n > 0 ? n : 0;
    }
    check("recvmmsg 3 datagrams, boundaries kept",
          all == 3 && in[0].msg_len == 3 && in[1].msg_len == 5 && in[2].msg_len == 7 &&
              memcmp(bufs[1], "three", 5) == 0);
    close(a);
    close(b);
}

static void sendfile_to_socket(void) {
    char path[] = "/tmp/sockprocs-XXXXXX";
    int f = mkstemp(path);
    static char data[100000];
    for (size_t i = 0; i < sizeof data; ++i)
        data[i] = (char)('a' + i % 26);
    check("sendfile: file written", f >= 0 && write(f, data, sizeof data) == (ssize_t)sizeof data);
    unlink(path);
    struct sockaddr_storage ss;
    socklen_t len;
    int l = listener(AF_INET6, &ss, &len, 0);
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    check("tcp6 loopback connect", connect(c, (struct sockaddr*)&ss, len) == 0);
    int s = accept(l, NULL, NULL);
    pid_t pid = fork();
    if (pid == 0) {  /* the reader, so a full socket buffer cannot block us */
        close(c);    /* else its copy of the sending end never lets EOF come */
        static char got[sizeof data];
        size_t total = 0;
        ssize_t n;
        while ((n = recv(s, got + total, sizeof got - total, 0)) > 0)
            total += (size_t)n;
        _exit(total == sizeof data && memcmp(got, data, sizeof data) == 0 ? 0 : 1);
    }
    close(s);
    off_t off = 0;
    size_t sent = 0;
    ssize_t n;
    while (sent < sizeof data && (n = sendfile(c, f, &off, sizeof data - sent)) > 0)
        sent += (size_t)n;
    check("sendfile to a TCP socket: 100000 bytes", sent == sizeof data && off == (off_t)sizeof data);
    close(c);
    check("sendfile: the peer got the file's bytes", child_status(pid) == 0);
    close(f);
    close(l);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    fd_passing_between_processes();
    socket_across_fork();
    nonblocking_connect(AF_INET);
    nonblocking_connect(AF_INET6);
    epoll_server();
    udp_mmsg();
    sendfile_to_socket();
    return 0;
}

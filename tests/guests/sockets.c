/* Sockets inside one process, no network needed: AF_UNIX socketpair
   (stream and datagram), AF_UNIX and TCP/UDP loopback (IPv4 and IPv6)
   with bind/listen/connect/accept, poll, FIONREAD/FIONBIO, shutdown and
   EOF, names, options, SCM_RIGHTS. Prints only what is the same on Linux
   and in lightvm (--net none), so the two outputs can be compared. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void check(const char* what, int ok) { printf("%s: %s\n", what, ok ? "ok" : "FAILED"); }

static void socketpairs(void) {
    int sv[2];
    check("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    check("write", write(sv[0], "hello", 5) == 5);
    int n = -1;
    ioctl(sv[1], FIONREAD, &n);
    check("FIONREAD 5", n == 5);
    struct pollfd p = {sv[1], POLLIN, 0};
    check("poll readable", poll(&p, 1, 0) == 1 && (p.revents & POLLIN));
    char buf[64];
    check("read 5", read(sv[1], buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);
    int on = 1;
    ioctl(sv[1], FIONBIO, &on);
    check("FIONBIO: EAGAIN", read(sv[1], buf, sizeof buf) < 0 && errno == EAGAIN);
    check("shutdown wr", shutdown(sv[0], SHUT_WR) == 0);
    check("EOF after shutdown", read(sv[1], buf, sizeof buf) == 0);
    close(sv[0]);
    check("EPIPE after peer close", send(sv[1], "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE);
    close(sv[1]);

    check("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    send(sv[0], "one", 3, 0);
    send(sv[0], "three", 5, 0);
    check("dgram boundaries", recv(sv[1], buf, sizeof buf, 0) == 3 && recv(sv[1], buf, sizeof buf, 0) == 5);
    send(sv[0], "truncated", 9, 0);
    check("dgram truncated", recv(sv[1], buf, 4, 0) == 4);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    check("dgram rest dropped", recv(sv[1], buf, sizeof buf, 0) < 0 && errno == EAGAIN);
    close(sv[0]);
    close(sv[1]);
}

static void unix_listen(void) {
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    /* abstract name: no file appears anywhere; the pid keeps native runs
       that overlap (the tests' -j2) from meeting in one name */
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "lightvm-test-%d", (int)getpid());
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    check("unix bind", bind(l, (struct sockaddr*)&a, alen) == 0);
    check("unix listen", listen(l, 4) == 0);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    check("unix connect", connect(c, (struct sockaddr*)&a, alen) == 0);
    int s = accept(l, NULL, NULL);
    check("unix accept", s >= 0);
    check("unix send", send(c, "ping", 4, 0) == 4);
    char buf[16];
    check("unix recv", recv(s, buf, sizeof buf, 0) == 4 && memcmp(buf, "ping", 4) == 0);

    /* SCM_RIGHTS: pass a pipe's write end, write through the passed fd */
    int p[2];
    pipe(p);
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {"f", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
    check("sendmsg SCM_RIGHTS", sendmsg(c, &m, 0) == 1);
    close(p[1]);
    char rbuf[CMSG_SPACE(sizeof(int))];
    char one;
    struct iovec riov = {&one, 1};
    struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rbuf, .msg_controllen = sizeof rbuf};
    check("recvmsg SCM_RIGHTS", recvmsg(s, &rm, 0) == 1);
    struct cmsghdr* rc = CMSG_FIRSTHDR(&rm);
    int passed = -1;
    if (rc && rc->cmsg_type == SCM_RIGHTS)
        memcpy(&passed, CMSG_DATA(rc), sizeof(int));
    check("passed fd works", passed >= 0 && write(passed, "via", 3) == 3 && read(p[0], buf, 3) == 3);
    close(passed);
    close(p[0]);
    close(c);
    check("EOF after close", recv(s, buf, sizeof buf, 0) == 0);
    close(s);
    close(l);
}

static void tcp(int family) {
    const char* name = family == AF_INET ? "tcp4" : "tcp6";
    char what[64];
    int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in* a = (struct sockaddr_in*)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6* a = (struct sockaddr_in6*)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    snprintf(what, sizeof what, "%s bind port 0", name);
    check(what, bind(l, (struct sockaddr*)&ss, len) == 0);
    socklen_t got = sizeof ss;
    getsockname(l, (struct sockaddr*)&ss, &got);
    int port = ntohs(((struct sockaddr_in*)&ss)->sin_port);
    snprintf(what, sizeof what, "%s port assigned", name);
    check(what, port != 0 && got == len);
    int v = 0;
    socklen_t vl = sizeof v;
    getsockopt(l, SOL_SOCKET, SO_REUSEADDR, &v, &vl);
    snprintf(what, sizeof what, "%s SO_REUSEADDR reads back", name);
    check(what, v == 1);
    listen(l, 8);
    vl = sizeof v;
    getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
    snprintf(what, sizeof what, "%s SO_ACCEPTCONN", name);
    check(what, v == 1);
    int c = socket(family, SOCK_STREAM, 0);
    snprintf(what, sizeof what, "%s connect", name);
    check(what, connect(c, (struct sockaddr*)&ss, len) == 0);
    struct pollfd pl = {l, POLLIN, 0};
    snprintf(what, sizeof what, "%s listener readable", name);
    check(what, poll(&pl, 1, 1000) == 1);
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    fcntl(l, F_SETFL, O_NONBLOCK);  /* a failed connect above must not hang the run */
    int s = accept4(l, (struct sockaddr*)&peer, &plen, SOCK_NONBLOCK);
    snprintf(what, sizeof what, "%s accept4", name);
    check(what, s >= 0 && plen == len);
    struct sockaddr_storage mine;
    socklen_t mlen = sizeof mine;
    getsockname(c, (struct sockaddr*)&mine, &mlen);
    snprintf(what, sizeof what, "%s peer name is the client's name", name);
    check(what, mlen == plen && ((struct sockaddr_in*)&mine)->sin_port == ((struct sockaddr_in*)&peer)->sin_port);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    vl = sizeof v;
    getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl);
    snprintf(what, sizeof what, "%s TCP_NODELAY", name);
    check(what, v == 1);
    char buf[100000];
    snprintf(what, sizeof what, "%s nonblocking recv: EAGAIN", name);
    check(what, recv(s, buf, 10, 0) < 0 && errno == EAGAIN);
    /* A request and its response, then a bulk transfer larger than one ring. */
    send(c, "GET / HTTP/1.0\r\n\r\n", 18, 0);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(s, &rs);
    struct timeval tv = {1, 0};
    snprintf(what, sizeof what, "%s select readable", name);
    check(what, select(s + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(s, &rs));
    snprintf(what, sizeof what, "%s request", name);
    check(what, recv(s, buf, sizeof buf, 0) == 18);
    fcntl(s, F_SETFL, 0);
    size_t total = 0;
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 5; ++i) {
        /* send what fits, then drain on the other side: one process plays both */
        ssize_t n = send(s, buf, 30000, 0);
        char in[30000];
        ssize_t m = recv(c, in, sizeof in, MSG_WAITALL);
        if (n == 30000 && m == 30000)
            total += (size_t)m;
    }
    snprintf(what, sizeof what, "%s 150000 bytes", name);
    check(what, total == 150000);
    close(s);
    snprintf(what, sizeof what, "%s EOF", name);
    check(what, recv(c, buf, sizeof buf, 0) == 0);
    close(c);
    close(l);
    /* Nobody listens there any more. */
    c = socket(family, SOCK_STREAM, 0);
    snprintf(what, sizeof what, "%s ECONNREFUSED", name);
    check(what, connect(c, (struct sockaddr*)&ss, len) < 0 && errno == ECONNREFUSED);
    close(c);
}

static void udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    check("udp bind", bind(a, (struct sockaddr*)&sa, sizeof sa) == 0);
    socklen_t len = sizeof sa;
    getsockname(a, (struct sockaddr*)&sa, &len);
    check("udp sendto", sendto(b, "datagram", 8, 0, (struct sockaddr*)&sa, sizeof sa) == 8);
    char buf[32];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(a, buf, sizeof buf, 0, (struct sockaddr*)&from, &flen);
    struct sockaddr_in bname;
    socklen_t blen = sizeof bname;
    getsockname(b, (struct sockaddr*)&bname, &blen);
    check("udp recvfrom", n == 8 && memcmp(buf, "datagram", 8) == 0);
    check("udp source is the sender", flen == sizeof from && from.sin_port == bname.sin_port);
    close(a);
    close(b);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    socketpairs();
    unix_listen();
    tcp(AF_INET);
    tcp(AF_INET6);
    udp();
    int bad = socket(AF_INET, SOCK_STREAM, IPPROTO_UDP);
    check("TCP socket with IPPROTO_UDP refused", bad < 0 && errno == EPROTONOSUPPORT);
    return 0;
}

/* Sockets inside one process, no network needed: AF_UNIX socketpair
   (stream and datagram), AF_UNIX and TCP/UDP loopback (IPv4 and IPv6)
   with bind/listen/connect/accept, poll, FIONREAD/FIONBIO, shutdown and
   EOF, names, options, SCM_RIGHTS, SO_RCVTIMEO/SO_SNDTIMEO and recvmmsg's
   timeout. Prints only what is the same on Linux and in lightvm (--net
   none), so the two outputs can be compared. "timeouts": only the timeout
   cases (also run under --net host, where inet sockets are the host's). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_RCVTIMEO_NEW /* musl's headers lack the 64-bit-time names; the numbers are the uapi's */
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif

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

/* --- timeouts ----------------------------------------------------------- */

#define TMO_MS 100

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* A broken timeout waits forever: SIGALRM's default action then ends the
   run (status 142, output cut short), which the comparison catches. */
static void guard(void) {
    signal(SIGALRM, SIG_DFL);
    alarm(8);
}

static void set_timeo(int fd, int name, long ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv) != 0)
        printf("setsockopt timeout: FAILED (%s)\n", strerror(errno));
}

#define PARTIAL (-2) /* some bytes, not all: 0 < r < 1 MiB */

/* r must be the count `want` (-1: EAGAIN) after at least ms: Linux may
   wake up to a jiffy early (4 ms at HZ=250), hence the 5 ms of slack.
   Times go to stderr only: they differ from run to run. */
static void after(const char* what, long long t0, long ms, ssize_t r, ssize_t want) {
    int e = errno;
    long long took = now_ms() - t0;
    int ok = took >= ms - 5 &&
             (want == PARTIAL ? r > 0 && r < (1 << 20) : want < 0 ? r < 0 && e == EAGAIN : r == want);
    if (!ok)
        fprintf(stderr, "%s: r=%zd errno=%d after %lld ms\n", what, r, r < 0 ? e : 0, took);
    check(what, ok);
}

#define TIMED(what, ms, want, call)         \
    do {                                    \
        long long t0_ = now_ms();           \
        ssize_t r_ = (call);                \
        after(what, t0_, ms, r_, want);     \
    } while (0)

static int tv_is(const struct timeval* tv, long sec, long usec) { return tv->tv_sec == sec && tv->tv_usec == usec; }

static void timeout_options(int fd, const char* kind) {
    char what[96];
    struct timeval tv = {2, 500000}, got;
    socklen_t len = sizeof got;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    snprintf(what, sizeof what, "%s SO_RCVTIMEO reads back", kind);
    check(what, getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len) == 0 && len == sizeof got && tv_is(&got, 2, 500000));
    struct timeval one_us = {0, 1};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &one_us, sizeof one_us);
    len = sizeof got;
    getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &got, &len);
    snprintf(what, sizeof what, "%s 1 us rounds up to a jiffy", kind);
    check(what, got.tv_sec == 0 && got.tv_usec > 1 && got.tv_usec <= 10000);
    struct timeval nt = {1, 200000}; /* whole jiffies at HZ 100, 250 and 1000 */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO_NEW, &nt, sizeof nt);
    len = sizeof got;
    getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len);
    snprintf(what, sizeof what, "%s SO_RCVTIMEO_NEW is SO_RCVTIMEO", kind);
    check(what, tv_is(&got, 1, 200000));
    len = sizeof got;
    getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO_NEW, &got, &len);
    snprintf(what, sizeof what, "%s SO_SNDTIMEO_NEW reads SO_SNDTIMEO", kind);
    check(what, len == sizeof got && got.tv_sec == 0 && got.tv_usec > 1);
    struct timeval bad = {1, 1000000}, neg_us = {1, -1};
    snprintf(what, sizeof what, "%s tv_usec 1000000: EDOM", kind);
    check(what, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad) < 0 && errno == EDOM);
    snprintf(what, sizeof what, "%s tv_usec -1: EDOM", kind);
    check(what, setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &neg_us, sizeof neg_us) < 0 && errno == EDOM);
    snprintf(what, sizeof what, "%s short timeval: EINVAL", kind);
    check(what, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, 8) < 0 && errno == EINVAL);
    struct timeval zero = {0, 0}, neg = {-1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
    len = sizeof got;
    getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len);
    snprintf(what, sizeof what, "%s zero: no timeout", kind);
    check(what, tv_is(&got, 0, 0));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &neg, sizeof neg);
    len = sizeof got;
    getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &got, &len);
    snprintf(what, sizeof what, "%s negative reads as zero", kind);
    check(what, tv_is(&got, 0, 0));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
}

/* Fills a socket's way out: sends without waiting until EAGAIN, twice with
   a pause between (TCP may still be moving bytes to the peer's buffer). */
static void fill(int fd, size_t chunk) {
    static char junk[65536];
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 100000 && send(fd, junk, chunk, MSG_DONTWAIT | MSG_NOSIGNAL) > 0; ++i)
            ;
        usleep(50000);
    }
}

static int g_alarms;
static void on_alarm(int sig) {
    (void)sig;
    if (++g_alarms == 20) { /* the wait was restarted over and over */
        static const char msg[] = "signal: FAILED (never interrupted)\n";
        write(1, msg, sizeof msg - 1);
        _exit(1);
    }
}

/* SIGALRM every 200 ms from 150 ms on, with the given sa_flags. */
static void alarms(int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, NULL);
    g_alarms = 0;
    struct itimerval it = {{0, 200000}, {0, 150000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void alarms_off(void) {
    struct itimerval it = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    guard();
}

/* A signal ends a timed wait with EINTR even with SA_RESTART (Linux never
   restarts a socket call under a timeout, man 7 signal). */
static void eintr_check(const char* what, int fd, int accept_it) {
    char buf[16];
    set_timeo(fd, SO_RCVTIMEO, 2000);
    alarms(SA_RESTART);
    long long t0 = now_ms();
    ssize_t r = accept_it ? accept(fd, NULL, NULL) : recv(fd, buf, sizeof buf, 0);
    int e = errno;
    long long took = now_ms() - t0;
    alarms_off();
    if (!(r < 0 && e == EINTR))
        fprintf(stderr, "%s: r=%zd errno=%d after %lld ms\n", what, r, e, took);
    check(what, r < 0 && e == EINTR && took < 2000);
    set_timeo(fd, SO_RCVTIMEO, 0);
}

static void unix_timeouts(void) {
    int sv[2];
    char buf[16];
    static char big[1 << 20];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    timeout_options(sv[0], "unix");
    set_timeo(sv[1], SO_RCVTIMEO, TMO_MS);
    TIMED("unix stream recv times out", TMO_MS, -1, recv(sv[1], buf, sizeof buf, 0));
    TIMED("unix stream read times out", TMO_MS, -1, read(sv[1], buf, sizeof buf));
    send(sv[0], "abc", 3, 0);
    TIMED("unix MSG_WAITALL: what came, after the timeout", TMO_MS, 3, recv(sv[1], buf, 10, MSG_WAITALL));
    struct timeval neg = {-1, 0};
    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &neg, sizeof neg);
    check("unix negative timeout: EAGAIN at once", recv(sv[1], buf, sizeof buf, 0) < 0 && errno == EAGAIN);
    eintr_check("unix recv: a signal gives EINTR despite SA_RESTART", sv[1], 0);
    set_timeo(sv[0], SO_SNDTIMEO, TMO_MS);
    TIMED("unix send: a partial count after the timeout", TMO_MS, PARTIAL, send(sv[0], big, sizeof big, 0));
    fill(sv[0], 4096);
    TIMED("unix send on a full socket times out", TMO_MS, -1, send(sv[0], "x", 1, 0));
    TIMED("unix write on a full socket times out", TMO_MS, -1, write(sv[0], "x", 1));
    close(sv[0]);
    close(sv[1]);

    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    set_timeo(sv[1], SO_RCVTIMEO, TMO_MS);
    TIMED("unix dgram recv times out", TMO_MS, -1, recv(sv[1], buf, sizeof buf, 0));
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    TIMED("unix dgram recvmsg times out", TMO_MS, -1, recvmsg(sv[1], &m, 0));
    set_timeo(sv[0], SO_SNDTIMEO, TMO_MS);
    fill(sv[0], 1000);
    TIMED("unix dgram send on a full socket times out", TMO_MS, -1, send(sv[0], big, 1000, 0));
    close(sv[0]);
    close(sv[1]);

    /* accept, and connect to a listener whose backlog is full */
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "lightvm-timeo-%d", (int)getpid());
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    bind(l, (struct sockaddr*)&a, alen);
    listen(l, 0);
    set_timeo(l, SO_RCVTIMEO, TMO_MS);
    TIMED("unix accept times out", TMO_MS, -1, accept(l, NULL, NULL));
    int c1 = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    check("unix connect fills the backlog", connect(c1, (struct sockaddr*)&a, alen) == 0);
    set_timeo(c2, SO_SNDTIMEO, TMO_MS);
    TIMED("unix connect to a full backlog times out", TMO_MS, -1, connect(c2, (struct sockaddr*)&a, alen));
    close(c1);
    close(c2);
    close(l);
}

/* A connected TCP pair on 127.0.0.1 (host sockets under --net host), and its listener. */
static int tcp_pair(int* c, int* s) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(l, (struct sockaddr*)&a, sizeof a);
    getsockname(l, (struct sockaddr*)&a, &len);
    listen(l, 8);
    *c = socket(AF_INET, SOCK_STREAM, 0);
    int small = 16384;
    setsockopt(*c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);  /* quick to fill */
    connect(*c, (struct sockaddr*)&a, sizeof a);
    *s = accept(l, NULL, NULL);
    setsockopt(*s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    return l;
}

/* SIGALRM without SA_RESTART interrupts a wait with no timeout: EINTR. */
static ssize_t recv_until_signal(int fd) {
    char buf[16];
    alarms(0);
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    int e = errno;
    alarms_off();
    errno = e;
    return r < 0 && e == EINTR ? 0 : -3;
}

static void inet_timeouts(void) {
    char buf[16];
    int c, s;
    int l = tcp_pair(&c, &s);
    timeout_options(c, "tcp");
    set_timeo(s, SO_RCVTIMEO, TMO_MS);
    TIMED("tcp recv times out", TMO_MS, -1, recv(s, buf, sizeof buf, 0));
    TIMED("tcp read times out", TMO_MS, -1, read(s, buf, sizeof buf));
    send(c, "abc", 3, 0);
    TIMED("tcp MSG_WAITALL: what came, after the timeout", TMO_MS, 3, recv(s, buf, 10, MSG_WAITALL));
    eintr_check("tcp recv: a signal gives EINTR despite SA_RESTART", s, 0);
    set_timeo(s, SO_RCVTIMEO, TMO_MS);
    set_timeo(s, SO_RCVTIMEO, 0);  /* zero: no timeout any more */
    TIMED("tcp zero timeout: the wait lasts until a signal", 150, 0, recv_until_signal(s));
    set_timeo(l, SO_RCVTIMEO, TMO_MS);
    TIMED("tcp accept times out", TMO_MS, -1, accept(l, NULL, NULL));
    eintr_check("tcp accept: a signal gives EINTR despite SA_RESTART", l, 1);
    set_timeo(c, SO_SNDTIMEO, TMO_MS);
    fill(c, 65536);
    TIMED("tcp send on a full connection times out", TMO_MS, -1, send(c, "x", 1, MSG_NOSIGNAL));
    close(c);
    close(s);
    close(l);

    int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t ulen = sizeof ua;
    bind(u, (struct sockaddr*)&ua, sizeof ua);
    getsockname(u, (struct sockaddr*)&ua, &ulen);
    connect(v, (struct sockaddr*)&ua, sizeof ua);
    set_timeo(u, SO_RCVTIMEO, TMO_MS);
    TIMED("udp recvfrom times out", TMO_MS, -1, recvfrom(u, buf, sizeof buf, 0, NULL, NULL));

    /* recvmmsg: its timeout is checked after each datagram only (man 2 recvmmsg, BUGS) */
    struct mmsghdr mm[3];
    struct iovec iov[3];
    char bufs[3][16];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; ++i) {
        iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    for (int i = 0; i < 3; ++i)
        send(v, "dgram", 5, 0);
    usleep(20000);  /* all three queued */
    struct timespec ts = {0, 1};
    check("recvmmsg: a 1 ns timeout ends it after one datagram",
          recvmmsg(u, mm, 3, 0, &ts) == 1 && ts.tv_sec == 0 && ts.tv_nsec == 0);
    struct timespec zero = {0, 0};
    check("recvmmsg: so does a zero timeout", recvmmsg(u, mm, 3, 0, &zero) == 1);
    struct timespec bad = {0, 1000000000};
    check("recvmmsg: tv_nsec 1000000000: EINVAL", recvmmsg(u, mm, 3, 0, &bad) < 0 && errno == EINVAL);
    struct timespec ten = {10, 0};
    int got = recvmmsg(u, mm, 3, 0, &ten);  /* one queued; then SO_RCVTIMEO ends the wait */
    check("recvmmsg: what came when SO_RCVTIMEO ends the wait; time left written back",
          got == 1 && ten.tv_sec >= 8 && ten.tv_sec <= 9);
    send(v, "dgram", 5, 0);
    usleep(20000);
    struct timespec short_ts = {0, 20000000};
    set_timeo(u, SO_RCVTIMEO, 300);
    TIMED("recvmmsg: its timeout does not cut a wait short", 300, 1, recvmmsg(u, mm, 3, 0, &short_ts));
    close(u);
    close(v);
}

static void timeouts(void) {
    guard();
    unix_timeouts();
    inet_timeouts();
    alarm(0);
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "timeouts") == 0) {
        timeouts();
        return 0;
    }
    socketpairs();
    unix_listen();
    tcp(AF_INET);
    tcp(AF_INET6);
    udp();
    int bad = socket(AF_INET, SOCK_STREAM, IPPROTO_UDP);
    check("TCP socket with IPPROTO_UDP refused", bad < 0 && errno == EPROTONOSUPPORT);
    timeouts();
    return 0;
}

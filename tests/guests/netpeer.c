/* One side of a TCP conversation, for the system tests and net_bench:
     netpeer serve PORT N       accept N connections on PORT (IPv4 any): read
                                an HTTP request, answer "hello", close
     netpeer keepalive PORT N   accept one connection on PORT and answer N
                                HTTP/1.1 requests on it (keep-alive), then close
     netpeer get IP PORT        one GET; print the response body's first line
     netpeer echo PORT          accept one connection, echo until EOF
     netpeer rr IP PORT N SIZE  N request/responses of SIZE bytes against an
                                echo server; prints the median round trip
     netpeer epollrr IP PORT N SIZE  the same with a non-blocking socket, each
                                response awaited in epoll_wait (edge-
                                triggered, with a timerfd in the set too)
     netpeer sink PORT          accept one connection, count bytes until EOF
     netpeer stream IP PORT MB  send MB MiB; prints MiB/s
     netpeer udpecho PORT MODE  a UDP echo server on the wildcard address
                                (MODE: block = AF_INET, recvfrom/sendto and
                                recvmsg/sendmsg in turn; epoll = the same,
                                non-blocking, each datagram awaited in
                                epoll_wait; block6 = AF_INET6 ::) until a
                                datagram "quit" (echoed too). A client of
                                its own on 127.0.0.1 sends it one datagram
                                first. Prints "udpecho peers N local ok|bad
                                outside unreachable|reachable": N distinct
                                sources besides that client, whether its
                                echo came, and what a sendto 192.0.2.1 got.
   Exit status 0 on success, 1 with a message on stderr otherwise. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int ioctl_nonblock(int fd, int on) { return ioctl(fd, FIONBIO, &on); }

static int die(const char* what) {
    fprintf(stderr, "netpeer: %s: %s\n", what, strerror(errno));
    return 1;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int listener(int port) {
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof a) < 0 || listen(l, 64) < 0)
        return -1;
    return l;
}

static int dial(const char* ip, int port) {
    int c = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    if (c < 0 || connect(c, (struct sockaddr*)&a, sizeof a) < 0)
        return -1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return c;
}

/* Reads one request (up to its blank line) from s into buf; 0 at EOF. */
static size_t read_request(int s, char* buf, size_t cap) {
    size_t got = 0;
    while (got < cap - 1) {
        ssize_t r = recv(s, buf + got, cap - 1 - got, 0);
        if (r <= 0)
            return 0;
        got += (size_t)r;
        buf[got] = 0;
        if (strstr(buf, "\r\n\r\n"))
            return got;
    }
    return 0;
}

static int serve(int port, int n) {
    int l = listener(port);
    if (l < 0)
        return die("listen");
    static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";
    for (int i = 0; i < n; ++i) {
        int s = accept(l, NULL, NULL);
        if (s < 0)
            return die("accept");
        char buf[4096];
        read_request(s, buf, sizeof buf);  /* answered even when cut short, as before */
        send(s, reply, sizeof reply - 1, MSG_NOSIGNAL);
        close(s);
    }
    return 0;
}

static int get(const char* ip, int port) {
    int c = dial(ip, port);
    if (c < 0)
        return die("connect");
    static const char req[] = "GET / HTTP/1.0\r\n\r\n";
    send(c, req, sizeof req - 1, 0);
    char buf[65536];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = recv(c, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)r;
    buf[got] = 0;
    char* body = strstr(buf, "\r\n\r\n");
    if (!body)
        return fprintf(stderr, "netpeer: no HTTP response (%zu bytes)\n", got), 1;
    body += 4;
    char* nl = strchr(body, '\n');
    if (nl)
        *nl = 0;
    printf("%s\n", body);
    return 0;
}

static int accept_one(int port) {
    int l = listener(port);
    if (l < 0)
        return -1;
    int s = accept(l, NULL, NULL);
    close(l);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

static int echo(int port) {
    int s = accept_one(port);
    if (s < 0)
        return die("accept");
    char buf[65536];
    ssize_t r;
    while ((r = recv(s, buf, sizeof buf, 0)) > 0)
        if (send(s, buf, (size_t)r, MSG_NOSIGNAL) != r)
            return die("send");
    return 0;
}

static int cmp(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static int rr(const char* ip, int port, int n, int size) {
    int c = dial(ip, port);
    if (c < 0)
        return die("connect");
    char* buf = malloc((size_t)size);
    memset(buf, 'r', (size_t)size);
    double* t = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; ++i) {
        double t0 = now_us();
        if (send(c, buf, (size_t)size, 0) != size)
            return die("send");
        if (recv(c, buf, (size_t)size, MSG_WAITALL) != size)
            return die("recv");
        t[i] = now_us() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("rr median_us %.1f\n", t[n / 2]);
    close(c);
    return 0;
}

/* rr through epoll: the socket is non-blocking and a response is awaited in
   epoll_wait (edge-triggered) until all of it has come; a 1 s interval
   timerfd sits in the same set and must not be what wakes it. */
static int epollrr(const char* ip, int port, int n, int size) {
    int c = dial(ip, port);
    if (c < 0)
        return die("connect");
    int fl = 1;
    if (ioctl_nonblock(c, fl) < 0)
        return die("FIONBIO");
    int ep = epoll_create1(0), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
    struct itimerspec it = {{1, 0}, {1, 0}};
    if (ep < 0 || tfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0 || timerfd_settime(tfd, 0, &it, NULL) < 0)
        return die("epoll setup");
    ev.events = EPOLLIN;
    ev.data.u64 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    char* buf = malloc((size_t)size);
    memset(buf, 'e', (size_t)size);
    double* t = malloc(sizeof(double) * (size_t)n);
    long waits = 0;
    for (int i = 0; i < n; ++i) {
        double t0 = now_us();
        if (send(c, buf, (size_t)size, 0) != size)
            return die("send");
        int got = 0;
        while (got < size) {  /* wait first: the response is reported by epoll */
            struct epoll_event out;
            int k = epoll_wait(ep, &out, 1, 5000);
            if (k != 1)
                return die("epoll_wait timed out");
            if (out.data.u64 == 2) {
                uint64_t ticks;
                read(tfd, &ticks, sizeof ticks);
                continue;
            }
            ++waits;
            ssize_t r;
            while (got < size && (r = recv(c, buf + got, (size_t)(size - got), 0)) > 0)
                got += (int)r;
            if (got < size && (r == 0 || errno != EAGAIN))
                return die("recv");
        }
        t[i] = now_us() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("epollrr median_us %.1f waits %s\n", t[n / 2], waits >= n && waits <= 2L * n ? "ok" : "wrong");
    close(ep);
    close(c);
    return 0;
}

static int sink(int port) {
    int s = accept_one(port);
    if (s < 0)
        return die("accept");
    static char buf[1 << 20];
    long long total = 0;
    ssize_t r;
    while ((r = recv(s, buf, sizeof buf, 0)) > 0)
        total += r;
    printf("sink bytes %lld\n", total);
    return 0;
}

static int stream(const char* ip, int port, int mb) {
    int c = dial(ip, port);
    if (c < 0)
        return die("connect");
    static char buf[1 << 20];
    memset(buf, 's', sizeof buf);
    double t0 = now_us();
    for (int i = 0; i < mb; ++i)
        if (send(c, buf, sizeof buf, 0) != (ssize_t)sizeof buf)
            return die("send");
    shutdown(c, SHUT_WR);
    char b;
    recv(c, &b, 1, 0);  /* the sink closes when it has counted everything */
    printf("stream MiB/s %.1f\n", mb / ((now_us() - t0) / 1e6));
    return 0;
}

static int keepalive(int port, int n) {
    int l = listener(port), one = 1;
    if (l < 0)
        return die("listen");
    int s = accept(l, NULL, NULL);
    if (s < 0)
        return die("accept");
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";
    char buf[4096];
    for (int i = 0; i < n; ++i) {
        if (!read_request(s, buf, sizeof buf))
            return fprintf(stderr, "netpeer: connection ended after %d requests\n", i), 1;
        if (send(s, reply, sizeof reply - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof reply - 1))
            return die("send");
    }
    close(s);
    close(l);
    return 0;
}

/* Sources seen by udpecho, distinct. */
static struct sockaddr_storage g_peers[64];
static int g_npeers;

static void note_peer(const struct sockaddr_storage* a, socklen_t len) {
    for (int i = 0; i < g_npeers; ++i)
        if (!memcmp(&g_peers[i], a, len))
            return;
    if (g_npeers < 64)
        memcpy(&g_peers[g_npeers++], a, len);
}

/* One datagram echoed: recvfrom/sendto (odd = 0) or recvmsg/sendmsg. */
static ssize_t echo_one(int s, int odd, char* buf, size_t cap, struct sockaddr_storage* from, socklen_t* flen) {
    ssize_t n;
    if (!odd) {
        *flen = sizeof *from;
        n = recvfrom(s, buf, cap, 0, (struct sockaddr*)from, flen);
        if (n >= 0 && sendto(s, buf, (size_t)n, 0, (struct sockaddr*)from, *flen) != n)
            return -1;
        return n;
    }
    struct iovec iov = {buf, cap};
    struct msghdr m = {.msg_name = from, .msg_namelen = sizeof *from, .msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(s, &m, 0);
    if (n < 0)
        return n;
    *flen = m.msg_namelen;
    iov.iov_len = (size_t)n;
    return sendmsg(s, &m, 0) == n ? n : -1;
}

static int udpecho(int port, const char* mode) {
    int v6 = !strcmp(mode, "block6"), use_epoll = !strcmp(mode, "epoll");
    int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | (use_epoll ? SOCK_NONBLOCK : 0), 0);
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    if (s < 0 || bind(s, v6 ? (struct sockaddr*)&a6 : (struct sockaddr*)&a4, v6 ? sizeof a6 : sizeof a4) < 0)
        return die("udp bind");
    /* A client inside the VM: its echo must stay in the VM. */
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (c < 0 || sendto(c, "local", 5, 0, (struct sockaddr*)&lo, sizeof lo) != 5)
        return die("local sendto");
    struct sockaddr_storage mine;
    socklen_t mlen = sizeof mine;
    getsockname(c, (struct sockaddr*)&mine, &mlen);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
    if (use_epoll && epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0)
        return die("epoll_ctl");
    char buf[2048];
    for (int i = 0;; ++i) {
        if (use_epoll && epoll_wait(ep, &ev, 1, 20000) != 1)
            return die("epoll_wait");
        struct sockaddr_storage from;
        socklen_t flen;
        ssize_t n = echo_one(s, i & 1, buf, sizeof buf, &from, &flen);
        if (n < 0 && errno == EAGAIN && use_epoll)
            return fprintf(stderr, "netpeer: epoll reported a datagram that was not there\n"), 1;
        if (n < 0)
            return die("udp echo");
        struct sockaddr_in* f4 = (struct sockaddr_in*)&from;
        int from_local = !v6 && f4->sin_port == ((struct sockaddr_in*)&mine)->sin_port &&
                         f4->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
        if (!from_local && !(v6 && ((struct sockaddr_in6*)&from)->sin6_port == ((struct sockaddr_in*)&mine)->sin_port))
            note_peer(&from, flen);
        if (n == 4 && !memcmp(buf, "quit", 4))
            break;
    }
    char got[16];
    ssize_t k = recv(c, got, sizeof got, MSG_DONTWAIT);
    struct sockaddr_in out = {.sin_family = AF_INET, .sin_port = htons(53)};
    struct sockaddr_in6 out6 = {.sin6_family = AF_INET6, .sin6_port = htons(53)};
    inet_pton(AF_INET, "192.0.2.1", &out.sin_addr);
    inet_pton(AF_INET6, "::ffff:192.0.2.1", &out6.sin6_addr);
    int reached = sendto(s, "x", 1, 0, v6 ? (struct sockaddr*)&out6 : (struct sockaddr*)&out,
                         v6 ? sizeof out6 : sizeof out) == 1 || errno != ENETUNREACH;
    printf("udpecho peers %d local %s outside %s\n", g_npeers, k == 5 && !memcmp(got, "local", 5) ? "ok" : "bad",
           reached ? "reachable" : "unreachable");
    return 0;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 4 && !strcmp(argv[1], "keepalive"))
        return keepalive(atoi(argv[2]), atoi(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "serve"))
        return serve(atoi(argv[2]), atoi(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "get"))
        return get(argv[2], atoi(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "echo"))
        return echo(atoi(argv[2]));
    if (argc == 6 && !strcmp(argv[1], "rr"))
        return rr(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    if (argc == 6 && !strcmp(argv[1], "epollrr"))
        return epollrr(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    if (argc == 3 && !strcmp(argv[1], "sink"))
        return sink(atoi(argv[2]));
    if (argc == 5 && !strcmp(argv[1], "stream"))
        return stream(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "udpecho"))
        return udpecho(atoi(argv[2]), argv[3]);
    fprintf(stderr, "usage: netpeer serve PORT N | keepalive PORT N | get IP PORT | echo PORT | rr IP PORT N SIZE | "
                    "epollrr IP PORT N SIZE | sink PORT | stream IP PORT MB | udpecho PORT block|epoll|block6\n");
    return 2;
}

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
    fprintf(stderr, "usage: netpeer serve PORT N | keepalive PORT N | get IP PORT | echo PORT | rr IP PORT N SIZE | epollrr IP PORT N SIZE | sink PORT | stream IP PORT MB\n");
    return 2;
}

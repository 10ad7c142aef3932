/* epoll (man 7 epoll) inside a VM and natively: level- vs edge-triggered
   on a pipe, EPOLLONESHOT re-armed with MOD, DEL, errors, nested epoll
   and loops, timeouts, eventfd + timerfd + pipe in one set, socket pairs
   (EPOLLOUT, EPOLLRDHUP, EPOLLHUP), a closed fd leaving the set only with
   its last reference, and epoll_wait woken by another party (a kernel
   thread through the test hook in the VM, a child process natively:
   argv[1] == "native"). The output must be the same. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int native;
static volatile uintptr_t argc_global;  /* 0 */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Someone else writes "written by a kernel thread\n" into fd after delay_ms. */
static void write_later(int fd, int delay_ms) {
    if (!native) {
        if (syscall(511, 2, fd, delay_ms) != 0)
            perror("hook");
        return;
    }
    if (fork() == 0) {
        usleep(delay_ms * 1000);
        static const char msg[] = "written by a kernel thread\n";
        if (write(fd, msg, sizeof msg - 1) < 0)
            perror("child write");
        _exit(0);
    }
}

static void reap(void) {
    if (native)
        while (wait(NULL) > 0) {
        }
}

static const char* res(long r) { return r < 0 ? strerror(errno) : "ok"; }

static int add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* epoll_wait and print what came back. */
static int show(const char* what, int ep, int timeout) {
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, timeout);
    printf("%s: %d", what, n);
    if (n < 0)
        printf(" %s", strerror(errno));
    for (int i = 0; i < n; ++i)
        printf(" [%" PRIu64 " %#x]", evs[i].data.u64, evs[i].events);
    printf("\n");
    return n;
}

static void level_and_edge(void) {
    int p[2];
    pipe(p);
    int lt = epoll_create1(0), et = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll_create1(EPOLL_CLOEXEC): F_GETFD %d\n", fcntl(et, F_GETFD));
    add(lt, p[0], EPOLLIN, 1);
    add(et, p[0], EPOLLIN | EPOLLET, 2);
    show("LT, empty pipe", lt, 0);
    write(p[1], "ab", 2);
    show("LT after a write", lt, 0);
    show("LT again, nothing read", lt, 0);
    show("ET after a write", et, 0);
    show("ET again, nothing read", et, 0);
    write(p[1], "c", 1);
    show("ET after another write", et, 0);
    char buf[8];
    read(p[0], buf, sizeof buf);
    show("LT after reading all", lt, 0);
    /* The write end: EPOLLOUT, and EPOLLERR once the reader is gone. */
    add(lt, p[1], EPOLLOUT, 3);
    show("LT with the write end", lt, 0);
    close(p[0]);
    show("reader closed", lt, 0);
    close(p[1]);
    show("both closed: the set is empty", lt, 0);
    close(lt);
    close(et);
}

static void oneshot_mod_del(void) {
    int p[2];
    pipe(p);
    int ep = epoll_create(1);
    add(ep, p[0], EPOLLIN | EPOLLONESHOT, 7);
    write(p[1], "x", 1);
    show("ONESHOT first", ep, 0);
    show("ONESHOT again (disabled)", ep, 0);
    write(p[1], "y", 1);
    show("ONESHOT after another write (still disabled)", ep, 0);
    mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 8);
    show("re-armed with MOD", ep, 0);
    mod(ep, p[0], EPOLLIN, 9);
    show("MOD to level-triggered", ep, 0);
    printf("ADD twice: %s\n", res(add(ep, p[0], EPOLLIN, 0)));
    printf("DEL: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
    show("after DEL", ep, 0);
    printf("DEL again: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
    printf("MOD of a missing fd: %s\n", res(mod(ep, p[0], EPOLLIN, 0)));
    printf("bad op: %s\n", res(epoll_ctl(ep, 99, p[0], &(struct epoll_event){0})));
    printf("ADD with a NULL event: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], NULL)));
    printf("ADD itself: %s\n", res(add(ep, ep, EPOLLIN, 0)));
    printf("ADD a closed fd: %s\n", res(add(ep, 99, EPOLLIN, 0)));
    printf("ctl on a non-epoll fd: %s\n", res(add(p[0], p[1], EPOLLIN, 0)));
    int null = open("/dev/null", O_RDWR);
    printf("ADD /dev/null (no poll method): %s\n", res(add(ep, null, EPOLLIN, 0)));
    close(null);
    printf("EXCLUSIVE ADD: %s\n", res(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 10)));
    printf("EXCLUSIVE MOD: %s\n", res(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 10)));
    printf("MOD of an EXCLUSIVE item: %s\n", res(mod(ep, p[0], EPOLLIN, 10)));
    show("EXCLUSIVE item reports", ep, 0);
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
    printf("EXCLUSIVE|ONESHOT: %s\n", res(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0)));
    add(ep, p[0], EPOLLIN, 11);
    char drain[16];
    read(p[0], drain, sizeof drain);
    struct epoll_event evs[2];
    printf("epoll_wait maxevents 0: %s\n", res(epoll_wait(ep, evs, 0, 0)));
    printf("epoll_wait on a pipe: %s\n", res(epoll_wait(p[0], evs, 2, 0)));
    printf("epoll_wait on a closed fd: %s\n", res(epoll_wait(99, evs, 2, 0)));
    struct epoll_event* nowhere = (struct epoll_event*)(uintptr_t)argc_global;  /* NULL, unknown to the compiler */
    printf("epoll_wait to NULL, nothing ready: %s\n", res(epoll_wait(ep, nowhere, 2, 0)));
    write(p[1], "w", 1);
    printf("epoll_wait to NULL, something ready: %s\n", res(epoll_wait(ep, nowhere, 2, 0)));
    printf("epoll_create(0): %s\n", res(epoll_create(0)));
    printf("epoll_create1(1): %s\n", res(epoll_create1(1)));
    close(ep);
    close(p[0]);
    close(p[1]);
}

static void nested(void) {
    int p[2];
    pipe(p);
    int inner = epoll_create1(0), outer = epoll_create1(0);
    add(inner, p[0], EPOLLIN, 1);
    printf("ADD inner to outer: %s\n", res(add(outer, inner, EPOLLIN, 100)));
    printf("ADD outer to inner (a loop): %s\n", res(add(inner, outer, EPOLLIN, 0)));
    show("outer, nothing ready", outer, 0);
    struct pollfd pf = {inner, POLLIN, 0};
    printf("poll on the inner epoll: %d\n", poll(&pf, 1, 0));
    write(p[1], "z", 1);
    int r = poll(&pf, 1, 0);
    printf("poll on the inner epoll after a write: %d revents %#x\n", r, pf.revents);
    show("outer after a write", outer, 0);
    show("inner", inner, 0);
    /* Blocking on the outer one, woken through the inner one. */
    char buf[64];
    read(p[0], buf, sizeof buf);
    double t0 = now_ms();
    write_later(p[1], 30);
    int n = show("outer blocks until the writer comes", outer, 5000);
    printf("waited >= 25 ms: %s\n", n == 1 && now_ms() - t0 >= 25 ? "yes" : "no");
    reap();
    close(outer);
    close(inner);
    close(p[0]);
    close(p[1]);
}

static void timeouts(void) {
    int ep = epoll_create1(0);
    struct epoll_event ev;
    double t0 = now_ms();
    int n = epoll_wait(ep, &ev, 1, 50);
    double waited = now_ms() - t0;
    printf("empty set, 50 ms: %d waited 45..300 ms: %s\n", n, waited >= 45 && waited < 300 ? "yes" : "no");
    struct timespec ts = {0, 30000000};
    t0 = now_ms();
    n = syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8);
    waited = now_ms() - t0;
    printf("epoll_pwait2 30 ms: %d waited 25..300 ms: %s\n", n, waited >= 25 && waited < 300 ? "yes" : "no");
    sigset_t none;
    sigemptyset(&none);
    t0 = now_ms();
    n = epoll_pwait(ep, &ev, 1, 20, &none);
    waited = now_ms() - t0;
    printf("epoll_pwait 20 ms: %d waited 15..300 ms: %s\n", n, waited >= 15 && waited < 300 ? "yes" : "no");
    n = syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &none, 4);
    printf("epoll_pwait with a bad sigsetsize: %s\n", res(n));
    close(ep);
}

/* eventfd, timerfd and a pipe in one set: each reported when it happens. */
static void together(void) {
    int ep = epoll_create1(0);
    int efd = eventfd(0, EFD_NONBLOCK);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    int p[2];
    pipe(p);
    add(ep, efd, EPOLLIN, 1);
    add(ep, tfd, EPOLLIN, 2);
    add(ep, p[0], EPOLLIN, 3);
    struct itimerspec t = {{0, 0}, {0, 20000000}};
    timerfd_settime(tfd, 0, &t, NULL);
    write_later(p[1], 60);
    uint64_t one = 1;
    write(efd, &one, sizeof one);
    double t0 = now_ms();
    int seen = 0;
    for (int round = 0; round < 6 && seen != 7; ++round) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, 5000);
        for (int i = 0; i < n; ++i) {
            uint64_t v;
            char buf[64];
            int which = (int)evs[i].data.u64;
            if (which == 1)
                read(efd, &v, sizeof v);
            else if (which == 2)
                read(tfd, &v, sizeof v);
            else
                read(p[0], buf, sizeof buf);
            const char* name = which == 1 ? "eventfd" : which == 2 ? "timerfd" : "pipe";
            double at = now_ms() - t0;
            const char* when = which == 1 ? (at < 15 ? "at once" : "late")
                             : which == 2 ? (at >= 15 && at < 55 ? "at ~20 ms" : "off")
                                          : (at >= 55 ? "at ~60 ms" : "early");
            printf("together: %s %s\n", name, when);
            seen |= 1 << (which - 1);
        }
    }
    reap();
    close(ep);
    close(efd);
    close(tfd);
    close(p[0]);
    close(p[1]);
}

static void sockets(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int ep = epoll_create1(0);
    add(ep, sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, 1);
    show("socket pair, nothing sent", ep, 0);
    mod(ep, sv[0], EPOLLIN | EPOLLRDHUP, 1);
    write(sv[1], "hello", 5);
    show("after the peer sent", ep, 0);
    char buf[8];
    read(sv[0], buf, sizeof buf);
    shutdown(sv[1], SHUT_WR);
    show("after the peer shut down writing", ep, 0);
    close(sv[1]);
    show("after the peer closed", ep, 0);
    close(ep);
    close(sv[0]);
}

/* An item belongs to the open file: it stays while a dup is open. */
static void close_semantics(void) {
    int ep = epoll_create1(0);
    int efd = eventfd(1, 0);
    add(ep, efd, EPOLLIN, 5);
    int dup_fd = dup(efd);
    close(efd);
    show("after closing one of two fds", ep, 0);
    printf("DEL by the closed fd number: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL)));
    close(dup_fd);
    show("after closing the last one", ep, 0);
    close(ep);
}

/* Blocking epoll_wait on a pipe, woken by the writer; the epoll fd in poll(). */
static void blocking(void) {
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    add(ep, p[0], EPOLLIN | EPOLLET, 4);
    double t0 = now_ms();
    write_later(p[1], 30);
    int n = show("blocking epoll_wait", ep, -1);
    printf("waited >= 25 ms: %s\n", n == 1 && now_ms() - t0 >= 25 ? "yes" : "no");
    reap();
    char buf[64];
    read(p[0], buf, sizeof buf);
    struct pollfd pf = {ep, POLLIN, 0};
    write_later(p[1], 20);
    t0 = now_ms();
    n = poll(&pf, 1, 5000);
    printf("poll on the epoll fd woken: %d revents %#x waited >= 15 ms: %s\n", n, pf.revents,
           now_ms() - t0 >= 15 ? "yes" : "no");
    reap();
    close(ep);
    close(p[0]);
    close(p[1]);
}

int main(int argc, char** argv) {
    native = argc > 1 && strcmp(argv[1], "native") == 0;
    level_and_edge();
    oneshot_mod_del();
    nested();
    timeouts();
    together();
    sockets();
    close_semantics();
    blocking();
    return 0;
}

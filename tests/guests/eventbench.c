/* bench/event_bench.sh's workloads, natively and in lightvm:
 *   epoll N    N rounds of: write 1 to an eventfd, epoll_wait for it (it is
 *              the one item of an epoll set), read it back; prints the mean
 *              ns per round
 *   null N     N getppid() system calls: the bare cost of one call, to
 *              read the epoll round against (it makes three)
 *   timerfd N  a timerfd with a 1 ms interval, N blocking reads; prints the
 *              mean period in us and the expirations beyond one per read
 *              (ticks that came while the program was not waiting) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int epoll_rounds(long n) {
    int efd = eventfd(0, EFD_NONBLOCK), ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    if (efd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0) {
        perror("setup");
        return 1;
    }
    uint64_t one = 1, v;
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (write(efd, &one, sizeof one) != sizeof one || epoll_wait(ep, &ev, 1, -1) != 1 ||
            read(efd, &v, sizeof v) != sizeof v) {
            perror("round");
            return 1;
        }
    }
    printf("epoll_ns %.1f\n", (double)(now_ns() - t0) / n);
    return 0;
}

static int null_calls(long n) {
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    printf("null_ns %.1f\n", (double)(now_ns() - t0) / n);
    return 0;
}

static int timer_ticks(long n) {
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec t = {{0, 1000000}, {0, 1000000}};
    if (fd < 0 || timerfd_settime(fd, 0, &t, NULL) != 0) {
        perror("timerfd");
        return 1;
    }
    uint64_t count, extra = 0;
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (read(fd, &count, sizeof count) != sizeof count) {
            perror("read");
            return 1;
        }
        extra += count - 1;
    }
    printf("timerfd_period_us %.1f extra %llu\n", (double)(now_ns() - t0) / n / 1000.0, (unsigned long long)extra);
    return 0;
}

int main(int argc, char** argv) {
    long n = argc > 2 ? atol(argv[2]) : 10000;
    if (argc > 1 && strcmp(argv[1], "timerfd") == 0)
        return timer_ticks(n);
    if (argc > 1 && strcmp(argv[1], "null") == 0)
        return null_calls(n);
    return epoll_rounds(n);
}

/* timerfd (man 2 timerfd_create) inside a VM and natively: one-shot,
   interval and absolute timers with expiration counts (within a tolerance:
   the machine may be loaded), gettime, blocking and non-blocking reads,
   poll/select readiness at expiry, bad arguments. The output must be the
   same. argv[1] == "native" marks the native run (unused: no other party). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char* res(long r) { return r < 0 ? strerror(errno) : "ok"; }

static struct itimerspec its(long value_ms, long interval_ms) {
    struct itimerspec t;
    t.it_value.tv_sec = value_ms / 1000;
    t.it_value.tv_nsec = value_ms % 1000 * 1000000;
    t.it_interval.tv_sec = interval_ms / 1000;
    t.it_interval.tv_nsec = interval_ms % 1000 * 1000000;
    return t;
}

static double ms(struct timespec ts) { return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6; }

int main(void) {
    uint64_t v = 0;
    long n;

    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("timerfd_create: %s F_GETFL %#x F_GETFD %d\n", fd >= 0 ? "ok" : strerror(errno), fcntl(fd, F_GETFL),
           fcntl(fd, F_GETFD));
    n = read(fd, &v, sizeof v);
    printf("read of a disarmed timer: %ld %s\n", n, res(n));
    struct itimerspec cur;
    timerfd_gettime(fd, &cur);
    printf("gettime disarmed: %ld.%09ld %ld.%09ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
           (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);

    /* One-shot, relative. */
    struct itimerspec t = its(20, 0);
    timerfd_settime(fd, 0, &t, NULL);
    n = read(fd, &v, sizeof v);
    printf("read before expiry: %ld %s\n", n, res(n));
    fcntl(fd, F_SETFL, 0);
    double t0 = now_ms();
    n = read(fd, &v, sizeof v);
    double waited = now_ms() - t0;
    printf("one-shot blocking read: %ld count %" PRIu64 " waited 15..500 ms: %s\n", n, v,
           waited >= 15 && waited < 500 ? "yes" : "no");
    timerfd_gettime(fd, &cur);
    printf("gettime after a one-shot fired: %ld.%09ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);

    /* Interval: 10 ms period, 55 ms of sleep, then one read counts them. */
    t = its(10, 10);
    timerfd_settime(fd, 0, &t, NULL);
    usleep(55000);
    n = read(fd, &v, sizeof v);
    printf("interval after 55 ms: %ld count 4..8: %s\n", n, v >= 4 && v <= 8 ? "yes" : "no");
    t0 = now_ms();
    n = read(fd, &v, sizeof v);
    waited = now_ms() - t0;
    printf("next read blocks for the next tick: count %s waited < 30 ms: %s\n", v >= 1 && v <= 2 ? "1" : "?",
           waited < 30 ? "yes" : "no");
    timerfd_gettime(fd, &cur);
    printf("gettime: interval %.0f ms, value 0..10 ms: %s\n", ms(cur.it_interval),
           ms(cur.it_value) > 0 && ms(cur.it_value) <= 10 ? "yes" : "no");

    /* Re-arming resets the count; disarming with 0. */
    t = its(1000, 500);
    struct itimerspec old;
    timerfd_settime(fd, 0, &t, &old);
    printf("old setting: interval %.0f ms\n", ms(old.it_interval));
    timerfd_gettime(fd, &cur);
    printf("gettime: value 900..1000 ms: %s interval %.0f ms\n",
           ms(cur.it_value) > 900 && ms(cur.it_value) <= 1000 ? "yes" : "no", ms(cur.it_interval));
    t = its(0, 0);
    timerfd_settime(fd, 0, &t, &old);
    printf("disarm, old value 900..1000 ms: %s\n", ms(old.it_value) > 900 && ms(old.it_value) <= 1000 ? "yes" : "no");
    close(fd);

    /* Absolute on CLOCK_REALTIME, in the future and in the past. */
    fd = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    t = its(0, 0);
    t.it_value = now;
    t.it_value.tv_nsec += 20000000;
    if (t.it_value.tv_nsec >= 1000000000) {
        t.it_value.tv_nsec -= 1000000000;
        t.it_value.tv_sec++;
    }
    t0 = now_ms();
    n = timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &t, NULL);
    printf("ABSTIME|CANCEL_ON_SET on REALTIME: %s\n", res(n));
    n = read(fd, &v, sizeof v);
    waited = now_ms() - t0;
    printf("absolute realtime read: count %" PRIu64 " waited 15..500 ms: %s\n", v,
           waited >= 15 && waited < 500 ? "yes" : "no");
    clock_gettime(CLOCK_REALTIME, &now);
    t = its(0, 10);
    t.it_value = now;
    t.it_value.tv_sec -= 1;  /* one second ago, 10 ms period: ~100 expirations already */
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
    n = read(fd, &v, sizeof v);
    printf("absolute in the past with an interval: count 95..110: %s\n", v >= 95 && v <= 110 ? "yes" : "no");
    close(fd);

    /* Absolute on CLOCK_MONOTONIC and CLOCK_BOOTTIME. */
    int clocks[] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME};
    for (int i = 0; i < 2; ++i) {
        fd = timerfd_create(clocks[i], 0);
        clock_gettime(clocks[i], &now);
        t = its(0, 0);
        t.it_value.tv_sec = now.tv_sec + (now.tv_nsec + 30000000) / 1000000000;
        t.it_value.tv_nsec = (now.tv_nsec + 30000000) % 1000000000;
        t0 = now_ms();
        timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL);
        n = read(fd, &v, sizeof v);
        waited = now_ms() - t0;
        printf("absolute %s read: count %" PRIu64 " waited 25..500 ms: %s\n", i ? "boottime" : "monotonic", v,
               waited >= 25 && waited < 500 ? "yes" : "no");
        close(fd);
    }

    /* poll and select wake at expiry. */
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    printf("poll of a disarmed timer: %d revents %#x\n", poll(&p, 1, 0), p.revents);
    t = its(30, 0);
    timerfd_settime(fd, 0, &t, NULL);
    t0 = now_ms();
    int r = poll(&p, 1, 5000);
    waited = now_ms() - t0;
    printf("poll until expiry: %d revents %#x waited 25..500 ms: %s\n", r, p.revents,
           waited >= 25 && waited < 500 ? "yes" : "no");
    read(fd, &v, sizeof v);
    timerfd_settime(fd, 0, &t, NULL);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(fd, &rs);
    struct timeval tv = {5, 0};
    t0 = now_ms();
    r = select(fd + 1, &rs, NULL, NULL, &tv);
    waited = now_ms() - t0;
    printf("select until expiry: %d readable %s waited 25..500 ms: %s\n", r, FD_ISSET(fd, &rs) ? "yes" : "no",
           waited >= 25 && waited < 500 ? "yes" : "no");

    /* Bad arguments. */
    n = write(fd, &v, sizeof v);
    printf("write: %ld %s\n", n, res(n));
    n = read(fd, &v, 4);
    printf("4-byte read: %ld %s\n", n, res(n));
    n = timerfd_settime(fd, 0x10, &t, NULL);
    printf("settime unknown flag: %ld %s\n", n, res(n));
    t.it_value.tv_nsec = 1000000000;
    n = timerfd_settime(fd, 0, &t, NULL);
    printf("settime tv_nsec 1e9: %ld %s\n", n, res(n));
    n = timerfd_settime(fd, 0, NULL, NULL);
    printf("settime NULL: %ld %s\n", n, res(n));
    int efd = eventfd(0, 0);
    t = its(10, 0);
    n = timerfd_settime(efd, 0, &t, NULL);
    printf("settime on an eventfd: %ld %s\n", n, res(n));
    n = timerfd_gettime(99, &cur);
    printf("gettime on a closed fd: %ld %s\n", n, res(n));
    n = timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0);
    printf("create on CLOCK_PROCESS_CPUTIME_ID: %ld %s\n", n, res(n));
    n = timerfd_create(CLOCK_MONOTONIC, 0x4);
    printf("create with an unknown flag: %ld %s\n", n, res(n));
    close(fd);
    close(efd);
    return 0;
}

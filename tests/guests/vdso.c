/* The vDSO (AT_SYSINFO_EHDR) against the real system calls. The output is
 * the same natively and in lightvm, so the test compares it with a native run:
 * - every clock read through libc lies between two raw syscall reads
 *   (the vDSO and the kernel use one clock, so they agree to the ns);
 * - gettimeofday and time likewise; getcpu answers; bad clock ids are EINVAL;
 * - "loop N" only reads CLOCK_MONOTONIC N times through libc (the guest test
 *   counts the syscalls that cost: none with a vDSO). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t ns_of(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec; }

static int check_clock(const char *name, clockid_t id) {
    struct timespec s1, v, s2;
    if (syscall(SYS_clock_gettime, id, &s1) != 0 || clock_gettime(id, &v) != 0 ||
        syscall(SYS_clock_gettime, id, &s2) != 0) {
        printf("%s: error %s\n", name, strerror(errno));
        return 1;
    }
    /* Coarse clocks tick at most every few ms natively: allow their lag. */
    int64_t slack = strstr(name, "COARSE") ? 20 * 1000 * 1000 : 0;
    if (ns_of(&v) + slack < ns_of(&s1) || ns_of(&v) > ns_of(&s2) + slack || v.tv_nsec < 0 || v.tv_nsec >= 1000000000) {
        printf("%s: BAD %lld not in [%lld, %lld]\n", name, (long long)ns_of(&v), (long long)ns_of(&s1),
               (long long)ns_of(&s2));
        return 1;
    }
    struct timespec res;
    if (clock_getres(id, &res) != 0 || res.tv_sec != 0 || res.tv_nsec <= 0) {
        printf("%s: getres BAD\n", name);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "loop") == 0) {
        long n = atol(argv[2]);
        struct timespec t, prev = {0, 0};
        for (long i = 0; i < n; i++) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if (ns_of(&t) < ns_of(&prev)) {
                printf("went backwards\n");
                return 1;
            }
            prev = t;
        }
        printf("loop done\n");
        return 0;
    }
    int failures = 0;
    printf("vdso: %s\n", getauxval(AT_SYSINFO_EHDR) ? "present" : "absent");
    failures += check_clock("CLOCK_REALTIME", CLOCK_REALTIME);
    failures += check_clock("CLOCK_MONOTONIC", CLOCK_MONOTONIC);
    failures += check_clock("CLOCK_MONOTONIC_RAW", CLOCK_MONOTONIC_RAW);
    failures += check_clock("CLOCK_TAI", CLOCK_TAI);
    failures += check_clock("CLOCK_BOOTTIME", CLOCK_BOOTTIME);
    failures += check_clock("CLOCK_REALTIME_COARSE", CLOCK_REALTIME_COARSE);
    failures += check_clock("CLOCK_MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE);

    struct timespec ts;
    errno = 0;
    if (clock_gettime((clockid_t)1000, &ts) == -1 && errno == EINVAL)
        printf("bad clock id: EINVAL\n");
    else {
        printf("bad clock id: BAD (errno %d)\n", errno);
        failures++;
    }

    struct timeval t1, tv, t2;
    struct timezone tz = {123, 456};
    syscall(SYS_gettimeofday, &t1, NULL);
    gettimeofday(&tv, &tz);
    syscall(SYS_gettimeofday, &t2, NULL);
    int64_t u1 = t1.tv_sec * 1000000LL + t1.tv_usec, u = tv.tv_sec * 1000000LL + tv.tv_usec,
            u2 = t2.tv_sec * 1000000LL + t2.tv_usec;
    if (u1 <= u && u <= u2)
        printf("gettimeofday: ok\n");
    else {
        printf("gettimeofday: BAD %lld not in [%lld, %lld]\n", (long long)u, (long long)u1, (long long)u2);
        failures++;
    }

    time_t s1 = (time_t)syscall(SYS_time, NULL), tt, s2;
    time_t v = time(&tt);
    s2 = (time_t)syscall(SYS_time, NULL);
    /* Linux's time syscall reads the coarse clock, up to a tick behind the
     * precise one musl's time() uses: across a second boundary v may be one
     * ahead of s2 natively (seen once in CI). */
    if (s1 <= v && v <= s2 + 1 && tt == v)
        printf("time: ok\n");
    else {
        printf("time: BAD %lld not in [%lld, %lld]\n", (long long)v, (long long)s1, (long long)s2);
        failures++;
    }

    int cpu = sched_getcpu();
    printf("getcpu: %s\n", cpu >= 0 ? "ok" : "BAD");
    failures += cpu < 0;
    return failures ? 1 : 0;
}

/* bench/clock_bench.sh's workload: N clock_gettime(CLOCK_MONOTONIC) calls
 * through libc (the vDSO when there is one) and N through the raw system
 * call; prints the mean ns per call of each. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    struct timespec t;
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t t1 = now_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
    int64_t t2 = now_ns();
    printf("libc_ns %.1f syscall_ns %.1f\n", (double)(t1 - t0) / n, (double)(t2 - t1) / n);
    return 0;
}

/* Clocks: MONOTONIC advances and covers a nanosleep; REALTIME, gettimeofday
 * and time() agree. Prints "realtime <seconds>" for the host to compare. */
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static int64_t ns_of(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec; }

int main(void) {
    int failures = 0;
    struct timespec t1, t2, t3, rt;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    volatile uint64_t spin = 0;
    for (unsigned i = 0; i < 2000000; i++)
        spin += i;
    (void)spin;
    clock_gettime(CLOCK_MONOTONIC, &t2);
    struct timespec req = {0, 20 * 1000 * 1000};
    if (nanosleep(&req, NULL) != 0) {
        printf("nanosleep failed\n");
        failures++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t3);
    if (ns_of(&t2) > ns_of(&t1) && ns_of(&t3) - ns_of(&t2) >= 20 * 1000 * 1000)
        printf("monotonic ok\n");
    else {
        printf("monotonic BAD: t1=%lld t2=%lld t3=%lld\n", (long long)ns_of(&t1), (long long)ns_of(&t2),
               (long long)ns_of(&t3));
        failures++;
    }
    printf("slept_ms %lld\n", (long long)((ns_of(&t3) - ns_of(&t2)) / 1000000));

    clock_gettime(CLOCK_REALTIME, &rt);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t now = time(NULL);
    long long d1 = (long long)tv.tv_sec - (long long)rt.tv_sec;
    long long d2 = (long long)now - (long long)rt.tv_sec;
    if (d1 >= 0 && d1 <= 1 && tv.tv_usec >= 0 && tv.tv_usec < 1000000)
        printf("gettimeofday ok\n");
    else {
        printf("gettimeofday BAD: %lld vs %lld\n", (long long)tv.tv_sec, (long long)rt.tv_sec);
        failures++;
    }
    if (d2 >= 0 && d2 <= 1)
        printf("time ok\n");
    else {
        printf("time BAD: %lld vs %lld\n", (long long)now, (long long)rt.tv_sec);
        failures++;
    }
    printf("realtime %lld\n", (long long)rt.tv_sec);
    return failures ? 1 : 0;
}

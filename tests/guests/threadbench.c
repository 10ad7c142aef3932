// Thread micro-benchmark (bench/thread_bench.sh): N iterations of
//   create    pthread_create + pthread_join of a thread that returns at once
//   pingpong  two threads hand a token back and forth through futexes
//             (one round trip = two wake-ups and two waits)
//   lock      an uncontended pthread_mutex_lock + unlock
//   condvar   two threads alternate through a mutex + condition variable
//   epoll     two threads wake each other through eventfds each waits on
//             with epoll_wait (one round trip = two wake-ups)
//   serial    one thread computes 2 x N units of CPU-bound work
//   parallel  two threads compute N units each (the same work, split):
//             serial / parallel is the speed-up two CPUs give
// and prints "MODE N us_per_op" (serial, parallel: us per unit of N).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT_PRIVATE 128 /* linux/futex.h (not on musl-gcc's include path) */
#define FUTEX_WAKE_PRIVATE 129

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void* nothing(void* arg) { return arg; }

static int g_turn; /* futex word: whose turn (0 main, 1 the other) */
static int g_rounds;

static void futex_wait(int* w, int val) { syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0); }
static void futex_wake(int* w) { syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void* ponger(void* arg) {
    (void)arg;
    for (int i = 0; i < g_rounds; i++) {
        while (__atomic_load_n(&g_turn, __ATOMIC_ACQUIRE) != 1)
            futex_wait(&g_turn, 0);
        __atomic_store_n(&g_turn, 0, __ATOMIC_RELEASE);
        futex_wake(&g_turn);
    }
    return NULL;
}

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_cv_turn;

static void* cv_partner(void* arg) {
    (void)arg;
    for (int i = 0; i < g_rounds; i++) {
        pthread_mutex_lock(&g_mu);
        while (g_cv_turn != 1)
            pthread_cond_wait(&g_cv, &g_mu);
        g_cv_turn = 0;
        pthread_cond_signal(&g_cv);
        pthread_mutex_unlock(&g_mu);
    }
    return NULL;
}

static int g_efd[2], g_ep[2];

static void ev_wait(int me) {
    struct epoll_event ev;
    while (epoll_wait(g_ep[me], &ev, 1, -1) != 1)
        ;
    uint64_t v;
    if (read(g_efd[me], &v, sizeof v) != sizeof v)
        abort();
}

static void ev_wake(int other) {
    uint64_t one = 1;
    if (write(g_efd[other], &one, sizeof one) != sizeof one)
        abort();
}

static void* ev_partner(void* arg) {
    (void)arg;
    for (int i = 0; i < g_rounds; i++) {
        ev_wait(1);
        ev_wake(0);
    }
    return NULL;
}

static void ev_setup(void) {
    for (int i = 0; i < 2; i++) {
        g_efd[i] = eventfd(0, EFD_CLOEXEC);
        g_ep[i] = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data = {.u32 = (uint32_t)i}};
        if (g_efd[i] < 0 || g_ep[i] < 0 || epoll_ctl(g_ep[i], EPOLL_CTL_ADD, g_efd[i], &ev) < 0)
            abort();
    }
}

/* One unit of CPU-bound work: a xorshift chain the compiler cannot fold. */
static uint64_t work(uint64_t x, int units) {
    for (int u = 0; u < units; u++)
        for (int i = 0; i < 100000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    return x;
}

static uint64_t g_result[2];

static void* worker(void* arg) {
    long k = (long)arg;
    g_result[k] = work((uint64_t)k + 1, g_rounds);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: threadbench create|pingpong|lock|condvar|epoll|serial|parallel N\n");
        return 2;
    }
    const char* mode = argv[1];
    int n = atoi(argv[2]);
    g_rounds = n;
    pthread_t t;
    double t0 = now_us();
    if (!strcmp(mode, "create")) {
        for (int i = 0; i < n; i++) {
            pthread_create(&t, NULL, nothing, NULL);
            pthread_join(t, NULL);
        }
    } else if (!strcmp(mode, "pingpong")) {
        pthread_create(&t, NULL, ponger, NULL);
        for (int i = 0; i < n; i++) {
            __atomic_store_n(&g_turn, 1, __ATOMIC_RELEASE);
            futex_wake(&g_turn);
            while (__atomic_load_n(&g_turn, __ATOMIC_ACQUIRE) != 0)
                futex_wait(&g_turn, 1);
        }
        pthread_join(t, NULL);
    } else if (!strcmp(mode, "lock")) {
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&g_mu);
            pthread_mutex_unlock(&g_mu);
        }
    } else if (!strcmp(mode, "condvar")) {
        pthread_create(&t, NULL, cv_partner, NULL);
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&g_mu);
            g_cv_turn = 1;
            pthread_cond_signal(&g_cv);
            while (g_cv_turn != 0)
                pthread_cond_wait(&g_cv, &g_mu);
            pthread_mutex_unlock(&g_mu);
        }
        pthread_join(t, NULL);
    } else if (!strcmp(mode, "epoll")) {
        ev_setup();
        pthread_create(&t, NULL, ev_partner, NULL);
        for (int i = 0; i < n; i++) {
            ev_wake(1);
            ev_wait(0);
        }
        pthread_join(t, NULL);
    } else if (!strcmp(mode, "serial")) {
        g_result[0] = work(1, n);
        g_result[1] = work(2, n);
    } else if (!strcmp(mode, "parallel")) {
        pthread_create(&t, NULL, worker, (void*)1L);
        worker((void*)0L);
        pthread_join(t, NULL);
    } else {
        fprintf(stderr, "threadbench: unknown mode %s\n", mode);
        return 2;
    }
    /* serial and parallel end with the same checksum (the bench compares it). */
    printf("%s %d %.3f %llx\n", mode, n, (now_us() - t0) / n, (unsigned long long)(g_result[0] ^ g_result[1]));
    return 0;
}

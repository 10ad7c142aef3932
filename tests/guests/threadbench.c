// Thread micro-benchmark (bench/thread_bench.sh): N iterations of
//   create    pthread_create + pthread_join of a thread that returns at once
//   pingpong  two threads hand a token back and forth through futexes
//             (one round trip = two wake-ups and two waits)
//   lock      an uncontended pthread_mutex_lock + unlock
//   condvar   two threads alternate through a mutex + condition variable
// and prints "MODE N us_per_op".
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: threadbench create|pingpong|lock|condvar N\n");
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
    } else {
        fprintf(stderr, "threadbench: unknown mode %s\n", mode);
        return 2;
    }
    printf("%s %d %.3f\n", mode, n, (now_us() - t0) / n);
    return 0;
}

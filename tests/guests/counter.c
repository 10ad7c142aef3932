// Snapshot test program: counts from 1 to N, one step every DELAY_MS, and
// carries state a snapshot must preserve exactly: heap memory filled step by
// step (checked at every step and at the end), the position in an open input
// file (one line read per step), an x87/SSE value, and a monotonic clock
// that must never go backwards.
//   counter N DELAY_MS [INPUT_FILE]
// Prints "count I line=<line> mem=<sum>" per step and "done N <sum>" at the end.
// COUNTER_MODE=thread counts in a second thread (main waits in pthread_join);
// COUNTER_MODE=fork counts in a child process (the parent waits in waitpid
// and passes its exit status on).
// COUNTER_TIMERFD=1 waits each delay in a timerfd instead of nanosleep;
// COUNTER_ITIMER=1 for SIGALRM from setitimer.
// COUNTER_SPIN=1 runs a thread that spins meanwhile (the CPU never idles).
// COUNTER_CLOCKS=1 prints "realtime SECONDS" after "done".
// COUNTER_MODE=stdin first waits in one read(2) of stdin and prints what it
// got (or the error: a --save must not make it fail with EINTR).
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGES 1024  // 4 MiB of heap, one page written per step

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t page_value(int page) { return 0x9e3779b97f4a7c15ull * (uint64_t)(page + 1); }

static int count(int argc, char** argv);

static int g_argc;
static char** g_argv;
static void* count_thread(void* arg) {
    (void)arg;
    return (void*)(intptr_t)count(g_argc, g_argv);
}

static volatile sig_atomic_t g_alarmed;
static void on_alarm(int sig) {
    (void)sig;
    g_alarmed = 1;
}

static void* spin(void* arg) {
    for (;;)
        __asm__ volatile("pause" ::: "memory");
    return arg;
}

int main(int argc, char** argv) {
    const char* mode = getenv("COUNTER_MODE");
    signal(SIGALRM, on_alarm);
    if (getenv("COUNTER_SPIN")) {  // keeps the CPU busy: a wait's end must come from the guest timer
        pthread_t t;
        if (pthread_create(&t, NULL, spin, NULL) != 0)
            return 5;
    }
    if (mode && strcmp(mode, "thread") == 0) {
        g_argc = argc, g_argv = argv;
        pthread_t t;
        void* result;
        if (pthread_create(&t, NULL, count_thread, NULL) != 0 || pthread_join(t, &result) != 0)
            return 5;
        return (int)(intptr_t)result;
    }
    if (mode && strcmp(mode, "stdin") == 0) {
        char buf[64];
        ssize_t n = read(0, buf, sizeof buf - 1);
        if (n < 0) {
            printf("read failed: %s\n", strerror(errno));
            return 7;
        }
        buf[n] = 0;
        printf("read %d bytes: %s", (int)n, buf);
    }
    if (mode && strcmp(mode, "fork") == 0) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 5;
        if (pid == 0)
            _exit(count(argc, argv));
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
            return 6;
        printf("child %d exited %d\n", pid > 0, WEXITSTATUS(st));
        return WEXITSTATUS(st);
    }
    return count(argc, argv);
}

static int count(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: counter N DELAY_MS [INPUT]\n");
        return 2;
    }
    int n = atoi(argv[1]);
    long delay_ms = atol(argv[2]);
    FILE* in = argc > 3 ? fopen(argv[3], "r") : NULL;
    if (argc > 3 && !in) {
        perror(argv[3]);
        return 2;
    }
    if (in)
        setvbuf(in, NULL, _IONBF, 0);  // the file offset is the host fd's, not a stdio buffer's
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint64_t* mem = calloc(PAGES, 4096);
    volatile double acc = 1.0;  // FPU state across the snapshot
    uint64_t last = now_ns();
    uint64_t sum = 0;
    for (int i = 1; i <= n; ++i) {
        int page = (i - 1) % PAGES;
        for (int k = 0; k < 512; ++k)
            mem[page * 512 + k] = page_value(page) + (uint64_t)k;
        sum = 0;
        for (int p = 0; p <= page && p < i; ++p)
            sum += mem[p * 512 + 7];
        acc = acc * 1.5 / 1.25;
        char line[128] = "-";
        if (in) {
            // One line, read byte by byte so the offset moves exactly.
            size_t len = 0;
            int c;
            while (len < sizeof line - 1 && (c = fgetc(in)) != EOF && c != '\n')
                line[len++] = (char)c;
            line[len] = 0;
        }
        printf("count %d line=%s mem=%llu fpu=%.6f\n", i, line, (unsigned long long)sum, acc);
        uint64_t t = now_ns();
        if (t < last) {
            printf("clock went backwards by %llu ns\n", (unsigned long long)(last - t));
            return 3;
        }
        last = t;
        struct timespec d = {delay_ms / 1000, (delay_ms % 1000) * 1000000};
        if (getenv("COUNTER_TIMERFD")) {  // a kernel timer (ktimer) the task blocks on
            int fd = timerfd_create(CLOCK_MONOTONIC, 0);
            struct itimerspec its = {{0, 0}, d};
            uint64_t ticks;
            if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0 || read(fd, &ticks, sizeof ticks) != sizeof ticks)
                return 8;
            close(fd);
        } else if (getenv("COUNTER_ITIMER")) {  // the guest kernel's timer: an absolute deadline on the host
            struct itimerval it = {{0, 0}, {d.tv_sec, d.tv_nsec / 1000}};
            sigset_t alrm, old;
            sigemptyset(&alrm);
            sigaddset(&alrm, SIGALRM);
            sigprocmask(SIG_BLOCK, &alrm, &old);
            g_alarmed = 0;
            if (setitimer(ITIMER_REAL, &it, NULL) < 0)
                return 8;
            while (!g_alarmed)
                sigsuspend(&old);
            sigprocmask(SIG_SETMASK, &old, NULL);
        } else {
            nanosleep(&d, NULL);
        }
    }
    for (int p = 0; p < PAGES && p < n; ++p)
        for (int k = 0; k < 512; ++k)
            if (mem[p * 512 + k] != page_value(p) + (uint64_t)k) {
                printf("memory corrupt at page %d word %d\n", p, k);
                return 4;
            }
    printf("done %d %llu\n", n, (unsigned long long)sum);
    if (getenv("COUNTER_CLOCKS")) {  // for a restore in another host boot: the wall clock is the host's
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        printf("realtime %lld\n", (long long)rt.tv_sec);
    }
    return 0;
}

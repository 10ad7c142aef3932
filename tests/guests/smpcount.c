// Snapshots of a VM whose two vCPUs are busy (tests/guest/snapshot_test.cpp,
// SmpSnapshot): two threads each run STEPS steps of a CPU-bound chain and
// note its value halfway and at the end. Only the main thread prints, after
// both are done, so the output is the same for every interleaving:
//   start
//   thread 0 half H end E
//   thread 1 half H end E
//   done
// Modes (third argument):
//   ready  once both threads are past halfway, still computing, main writes
//          the ready mark (--save-at-ready saves there), then reads one line
//          of stdin and prints it last ("line ...")
//   idle   the threads run a quarter of their steps and end, main sleeps
//          1.5 s (both vCPUs idle: a save then finds vCPU 1 asleep), then
//          two new threads run the rest
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kSleepMs = 1500 };

static long g_steps;
static volatile int g_past_half[2];
static unsigned long g_x[2], g_half[2];

// One step: enough work that a step is ~0.1 ms, deterministic.
static unsigned long step(unsigned long x) {
    for (int i = 0; i < 20000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&t, &t) != 0)
        ;
}

struct Range {
    long id, from, to;  // steps from..to (1-based, inclusive)
};

static void* worker(void* arg) {
    const struct Range* r = arg;
    unsigned long x = g_x[r->id];
    for (long i = r->from; i <= r->to; ++i) {
        x = step(x);
        if (i == g_steps / 2) {
            g_half[r->id] = x;
            g_past_half[r->id] = 1;
        }
    }
    g_x[r->id] = x;
    return NULL;
}

// Both threads over steps from..to.
static pthread_t g_t[2];
static struct Range g_r[2];
static void start(long from, long to) {
    for (long i = 0; i < 2; ++i) {
        g_r[i] = (struct Range){i, from, to};
        pthread_create(&g_t[i], NULL, worker, &g_r[i]);
    }
}
static void join(void) {
    for (int i = 0; i < 2; ++i)
        pthread_join(g_t[i], NULL);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: smpcount STEPS [ready|idle]\n");
        return 2;
    }
    g_steps = atol(argv[1]);
    const char* mode = argc > 2 ? argv[2] : "";
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("start\n");
    for (int i = 0; i < 2; ++i)
        g_x[i] = 0x9e3779b97f4a7c15ul + (unsigned long)i;
    if (strcmp(mode, "idle") == 0) {
        // No thread in between: only main, asleep, is left, so no vCPU has
        // anything to run.
        start(1, g_steps / 4);
        join();
        sleep_ms(kSleepMs);
        start(g_steps / 4 + 1, g_steps);
    } else {
        start(1, g_steps);
    }
    char line[256] = "";
    if (strcmp(mode, "ready") == 0) {
        while (!g_past_half[0] || !g_past_half[1])
            sleep_ms(1);
        int fd = open("/sys/devices/virtual/lightvm/ready", O_WRONLY);
        if (fd >= 0) {
            if (write(fd, "1\n", 2) != 2)
                perror("write ready");
            close(fd);
        }
        if (!fgets(line, sizeof line, stdin))
            strcpy(line, "(eof)\n");
    }
    join();
    for (int i = 0; i < 2; ++i)
        printf("thread %d half %016lx end %016lx\n", i, g_half[i], g_x[i]);
    if (line[0])
        printf("line %s", line);
    printf("done\n");
    return 0;
}

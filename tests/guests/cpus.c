// What a program learns about the CPUs it may use (tests/guest/smp_test.cpp):
//   count      sysconf(_SC_NPROCESSORS_ONLN), sched_getaffinity's count,
//              /proc/cpuinfo's processors, /sys/devices/system/cpu/online
//   spread MS  two threads spin MS ms each, noting every CPU
//              sched_getcpu() reports: how many distinct CPUs ran them, and how many
//              samples saw the other thread's counter move meanwhile
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    int aff = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
    int procs = 0;
    char line[256];
    FILE* f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        procs += strncmp(line, "processor", 9) == 0;
    if (f)
        fclose(f);
    char online[32] = "?";
    f = fopen("/sys/devices/system/cpu/online", "r");
    if (f && fgets(online, sizeof online, f))
        online[strcspn(online, "\n")] = 0;
    if (f)
        fclose(f);
    printf("online %ld affinity %d cpuinfo %d sysfs %s\n", sysconf(_SC_NPROCESSORS_ONLN), aff, procs, online);
}

static double g_ms;
static volatile unsigned long g_progress[2];
static unsigned g_cpus_seen[2];   // bit per CPU
static unsigned long g_saw_other[2];

static void* spin(void* arg) {
    long me = (long)arg;
    double end = now_ms() + g_ms;
    unsigned long last_other = g_progress[!me];
    while (now_ms() < end) {
        for (int i = 0; i < 1000; i++)
            g_progress[me]++;
        int cpu = sched_getcpu();  // the vDSO's getcpu (or the system call)
        if (cpu >= 0 && cpu < 32)
            g_cpus_seen[me] |= 1u << cpu;
        unsigned long other = g_progress[!me];
        g_saw_other[me] += other != last_other;
        last_other = other;
    }
    return NULL;
}

int main(int argc, char** argv) {
    if (argc >= 2 && !strcmp(argv[1], "count")) {
        count();
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "spread")) {
        g_ms = atof(argv[2]);
        pthread_t t;
        pthread_create(&t, NULL, spin, (void*)1L);
        spin((void*)0L);
        pthread_join(t, NULL);
        printf("distinct cpus %d, samples seeing the other move %lu %lu\n",
               __builtin_popcount(g_cpus_seen[0] | g_cpus_seen[1]), g_saw_other[0], g_saw_other[1]);
        return 0;
    }
    fprintf(stderr, "usage: cpus count | spread MS\n");
    return 2;
}

/* getrusage() and wait4()'s rusage beyond CPU times, checked against what
 * must hold (the exact counts differ between kernels: lightvm maps 64 KiB
 * or 2 MiB per fault, Linux 4 KiB): prints one line per property, "yes"
 * or "NO (values)", so a run in lightvm must print what it prints natively.
 *   rusage            every check
 *   rusage report MIB (after an exec) is ru_maxrss still at least MIB? */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct rusage self(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r;
}

static void touch(size_t mib) {
    size_t len = mib << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
}

static void check(const char *what, int ok, long a, long b) {
    if (ok)
        printf("%s: yes\n", what);
    else
        printf("%s: NO (%ld, %ld)\n", what, a, b);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "report") == 0) {
        long want = atol(argv[2]) << 10;
        check("ru_maxrss kept across exec", self().ru_maxrss >= want, self().ru_maxrss, want);
        return 0;
    }
    struct rusage before = self();
    touch(64);
    struct rusage after = self();
    /* No upper bound: natively the peak of the parent's address space the
     * exec replaced counts too (a test harness's, say). ru_majflt is not
     * checked: natively it counts page-cache misses of the binary. */
    check("ru_maxrss covers 64 MiB touched", after.ru_maxrss >= 64 << 10, after.ru_maxrss, 64 << 10);
    check("ru_minflt counts the touches", after.ru_minflt > before.ru_minflt, after.ru_minflt, before.ru_minflt);
    for (int i = 0; i < 5; i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    struct rusage slept = self();
    check("ru_nvcsw counts 5 sleeps", slept.ru_nvcsw >= after.ru_nvcsw + 5, slept.ru_nvcsw, after.ru_nvcsw);
    struct rusage th;
    getrusage(RUSAGE_THREAD, &th);
    check("RUSAGE_THREAD has the one thread's switches", th.ru_nvcsw >= 5 && th.ru_maxrss == slept.ru_maxrss,
          th.ru_nvcsw, th.ru_maxrss);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        touch(32);
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
        _exit(0);
    }
    int st;
    struct rusage child;
    if (wait4(pid, &st, 0, &child) != pid) {
        perror("wait4");
        return 2;
    }
    check("wait4: the child's ru_maxrss", child.ru_maxrss >= 32 << 10, child.ru_maxrss, 32 << 10);
    check("wait4: the child's faults and sleep", child.ru_minflt > 0 && child.ru_nvcsw >= 1, child.ru_minflt,
          child.ru_nvcsw);
    struct rusage children;
    getrusage(RUSAGE_CHILDREN, &children);
    check("RUSAGE_CHILDREN: the reaped child's", children.ru_maxrss == child.ru_maxrss &&
          children.ru_minflt == child.ru_minflt && children.ru_nvcsw == child.ru_nvcsw, children.ru_maxrss,
          child.ru_maxrss);

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        touch(48);
        execl("/proc/self/exe", argv[0], "report", "48", (char *)NULL);
        perror("exec");
        _exit(3);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        printf("exec child failed: %d\n", st);
    return 0;
}

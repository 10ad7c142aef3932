// Scheduling and process attributes a program sets and reads back:
// nice values, I/O priorities, policies, affinity, personality, prctl
// flags. Run in a VM and natively (as root), the output must be the same.
// Nothing here changes the host: the native run only touches its own
// process (and never the clock: that part runs only with "guest").
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define SHOW(expr)                                                          \
    do {                                                                    \
        errno = 0;                                                          \
        long r_ = (long)(expr);                                             \
        printf("%-58s = %ld%s%s\n", #expr, r_, errno ? " " : "", errno ? strerror(errno) : ""); \
    } while (0)

int main(int argc, char** argv) {
    SHOW(syscall(SYS_getpriority, PRIO_PROCESS, 0));
    SHOW(setpriority(PRIO_PROCESS, 0, 5));
    SHOW(getpriority(PRIO_PROCESS, 0));
    SHOW(setpriority(PRIO_PROCESS, 0, 100));
    SHOW(getpriority(PRIO_PROCESS, getpid()));
    SHOW(setpriority(PRIO_PROCESS, 0, 0));
    SHOW(getpriority(PRIO_PGRP, 0));
    // (PRIO_USER is the best nice among all the user's processes: host-dependent.)
    SHOW(getpriority(7, 0));

    SHOW(syscall(SYS_ioprio_get, 1, 0));
    SHOW(syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 7));
    SHOW(syscall(SYS_ioprio_get, 1, 0));
    SHOW(syscall(SYS_ioprio_set, 1, 0, (3 << 13)));
    SHOW(syscall(SYS_ioprio_get, 1, 0));
    SHOW(syscall(SYS_ioprio_set, 9, 0, 0));
    SHOW(syscall(SYS_ioprio_set, 1, 0, 0));

    SHOW(personality(0xffffffff));
    SHOW(personality(ADDR_NO_RANDOMIZE));
    SHOW(personality(0xffffffff));
    SHOW(personality(PER_LINUX));

    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    SHOW(sched_setaffinity(0, sizeof set, &set));
    SHOW(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_ISSET(0, &set) && CPU_COUNT(&set) == 1);
    CPU_ZERO(&set);
    SHOW(sched_setaffinity(0, sizeof set, &set));
    SHOW(sched_setaffinity(-1, sizeof set, &set));

    struct sched_param sp = {0};
    SHOW(sched_getscheduler(0));
    SHOW(sched_setscheduler(0, SCHED_BATCH, &sp));
    SHOW(sched_getscheduler(0));
    SHOW(sched_getparam(0, &sp) == 0 ? sp.sched_priority : -99);
    sp.sched_priority = 5;
    SHOW(sched_setscheduler(0, SCHED_OTHER, &sp));
    SHOW(sched_setscheduler(0, 42, &sp));
    sp.sched_priority = 0;
    SHOW(sched_setscheduler(0, SCHED_OTHER, &sp));
    SHOW(sched_get_priority_max(SCHED_FIFO));
    SHOW(sched_get_priority_min(SCHED_RR));
    SHOW(sched_get_priority_max(SCHED_OTHER));
    SHOW(sched_get_priority_min(77));
    struct timespec ts = {1, 1};
    SHOW(sched_rr_get_interval(0, &ts) == 0 ? ts.tv_sec * 1000000000L + ts.tv_nsec : -1);

    char name[16] = {0};
    SHOW(prctl(PR_SET_NAME, "compat-test-name-too-long"));
    SHOW(prctl(PR_GET_NAME, name) == 0 && strcmp(name, "compat-test-nam") == 0);
    SHOW(prctl(PR_GET_DUMPABLE));
    SHOW(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    SHOW(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    SHOW(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    SHOW(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
    SHOW(prctl(PR_GET_SECCOMP));
    SHOW(prctl(PR_CAPBSET_READ, 0));
    SHOW(prctl(PR_CAPBSET_READ, 1000));
    SHOW(prctl(PR_GET_KEEPCAPS));
    SHOW(prctl(PR_SET_KEEPCAPS, 1));
    SHOW(prctl(PR_GET_KEEPCAPS));
    SHOW(prctl(PR_SET_KEEPCAPS, 2));
    int sig = -1;
    SHOW(prctl(PR_SET_PDEATHSIG, 9));
    SHOW(prctl(PR_GET_PDEATHSIG, &sig) == 0 ? sig : -1);
    SHOW(prctl(PR_SET_PDEATHSIG, 1000));
    SHOW(prctl(PR_SET_CHILD_SUBREAPER, 1));
    SHOW(prctl(PR_GET_CHILD_SUBREAPER, &sig) == 0 ? sig : -1);
    SHOW(prctl(PR_GET_TIMERSLACK));
    SHOW(prctl(PR_SET_TIMERSLACK, 1000));
    SHOW(prctl(PR_GET_TIMERSLACK));
    SHOW(prctl(0x7fff, 0));

    unsigned cpu = 7, node = 7;
    SHOW(syscall(SYS_getcpu, &cpu, &node, NULL) == 0 && cpu == 0 && node == 0);

    if (argc > 1 && strcmp(argv[1], "guest") == 0) {
        // The clock is read-only inside the VM (natively, as root, it would
        // really be steered: never run this part on the host).
        struct timex tx = {0};
        int state = adjtimex(&tx);
        printf("adjtimex query: state %d unsync %d tick %ld time-now %d\n", state, !!(tx.status & STA_UNSYNC),
               tx.tick, (long)tx.time.tv_sec - (long)time(NULL) <= 1);
        tx.modes = ADJ_FREQUENCY;
        SHOW(adjtimex(&tx));
        memset(&tx, 0, sizeof tx);
        SHOW(clock_adjtime(CLOCK_REALTIME, &tx));
        tx.modes = ADJ_SETOFFSET;
        SHOW(clock_adjtime(CLOCK_REALTIME, &tx));
        tx.modes = 0;
        SHOW(clock_adjtime(CLOCK_MONOTONIC, &tx));
    }
    return 0;
}

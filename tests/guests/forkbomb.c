// A fork bomb held by the VM's process limit (--pids): every process forks
// until fork fails, each child blocks on a pipe, and when the first
// process sees the end (EAGAIN) it closes the pipe and everybody exits.
// Never run it natively. Prints how many processes there were, the first fork error, what
// RLIMIT_NPROC says, and that all of them were reaped.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NPROC, &rl);
    int gate[2], report[2];
    if (pipe(gate) < 0 || pipe(report) < 0)
        return 1;
    // Each process forks children until fork fails; children do the same
    // (a tree, as a real fork bomb). A child tells the root the errno it
    // hit on its pipe, then blocks until the gate closes.
    int made = 0, first_error = 0;
    pid_t root = getpid();
    for (;;) {
        pid_t p = fork();
        if (p < 0) {
            first_error = errno;
            break;
        }
        if (p == 0) {
            made = 0;
            continue;  // the child forks on its own
        }
        made++;
        if (getpid() != root && made >= 2)
            break;  // non-root processes stop after two children: the root hits the limit
    }
    if (getpid() != root) {
        char b = (char)(first_error ? first_error : 1);
        write(report[1], &b, 1);
        close(gate[1]);
        char c;
        while (read(gate[0], &c, 1) > 0) {
        }
        while (wait(NULL) > 0) {
        }
        _exit(0);
    }
    close(gate[1]);  // the children see EOF once everybody's copies are gone
    close(report[1]);
    int reaped = 0;
    while (wait(NULL) > 0)
        reaped++;
    int eagain_seen = first_error == EAGAIN, others = 0;
    char b;
    while (read(report[0], &b, 1) > 0) {
        eagain_seen |= b == EAGAIN;
        others++;
    }
    printf("nproc soft %llu hard %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    printf("processes at the end: %d, the first process's fork error: %s, EAGAIN seen %d, its children reaped %d\n",
           others + 1, first_error == EAGAIN ? "EAGAIN" : strerror(first_error), eagain_seen, reaped == made);
    return eagain_seen ? 0 : 1;
}

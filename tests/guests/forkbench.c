// Process-creation micro-benchmark (bench/proc_bench.sh): N iterations of
//   fork       fork + _exit + waitpid
//   forkexec   fork + execve(PROG) + waitpid
//   spawn      posix_spawn(PROG) + waitpid
// and prints "MODE N us_per_op". PROG defaults to this program (it exits
// at once when its first argument is "child").
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char** argv) {
    if (argc > 1 && !strcmp(argv[1], "child"))
        return 0;
    if (argc < 3) {
        fprintf(stderr, "usage: forkbench fork|forkexec|spawn N [PROG [ARG]]\n");
        return 2;
    }
    const char* mode = argv[1];
    int n = atoi(argv[2]);
    char* prog = argc > 3 ? argv[3] : "/proc/self/exe";
    char* args[] = {prog, argc > 4 ? argv[4] : "child", NULL};
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        pid_t p = -1;
        if (!strcmp(mode, "fork")) {
            if ((p = fork()) == 0)
                _exit(0);
        } else if (!strcmp(mode, "forkexec")) {
            if ((p = fork()) == 0) {
                execve(prog, args, environ);
                _exit(127);
            }
        } else if (posix_spawn(&p, prog, NULL, NULL, args, environ) != 0) {
            p = -1;
        }
        int st;
        if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "iteration %d failed\n", i);
            return 1;
        }
    }
    printf("%s %d %.1f\n", mode, n, (now_us() - t0) / n);
    return 0;
}

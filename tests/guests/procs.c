// Process semantics, each check a name: `procs CHECK` prints what it saw.
// The guest tests run every check in lightvm and natively and require
// identical output (tests/guest/process_test.cpp). `procs list` names them.
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;
static const char* self;

static void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    write(1, buf, (size_t)n);  // unbuffered: fork must not duplicate stdio buffers
}

static const char* describe(int st) {
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by %d%s", WTERMSIG(st), WCOREDUMP(st) ? " (core)" : "");
    else
        snprintf(buf, sizeof buf, "status 0x%x", st);
    return buf;
}

static int g_data = 100;

static void fork_wait(void) {
    for (int i = 0; i < 3; ++i) {
        pid_t p = fork();
        if (p == 0)
            _exit(10 + i);
        int st;
        pid_t w = waitpid(p, &st, 0);
        say("child %d: %s, waited for it: %d\n", i, describe(st), w == p);
    }
}

static void fork_cow(void) {
    char* heap = malloc(100000);
    memset(heap, 'p', 100000);
    char stack[5000];
    memset(stack, 's', sizeof stack);
    pid_t p = fork();
    if (p == 0) {
        g_data = 7;
        heap[99999] = 'c';
        stack[4999] = 'c';
        say("child sees %d %c %c\n", g_data, heap[99999], stack[4999]);
        _exit(0);
    }
    waitpid(p, NULL, 0);
    say("parent sees %d %c %c\n", g_data, heap[99999], stack[4999]);
}

static void shared_memory(void) {
    int* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int* private_ = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *shared = 1;
    *private_ = 1;
    pid_t p = fork();
    if (p == 0) {
        *shared = 42;
        *private_ = 42;
        _exit(0);
    }
    waitpid(p, NULL, 0);
    say("shared %d private %d\n", *shared, *private_);
}

static void pipe_between(void) {
    int fd[2];
    pipe(fd);
    pid_t p = fork();
    if (p == 0) {
        close(fd[0]);
        for (int i = 0; i < 1000; ++i)
            write(fd[1], "0123456789abcdef", 16);
        _exit(0);
    }
    close(fd[1]);
    char buf[4096];
    long total = 0, n;
    while ((n = read(fd[0], buf, sizeof buf)) > 0)
        total += n;
    int st;
    waitpid(p, &st, 0);
    say("read %ld bytes, then EOF (%ld); child %s\n", total, n, describe(st));
}

static void shared_offset(void) {
    char path[] = "/tmp/procs-offset-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    write(fd, "parent1 ", 8);
    pid_t p = fork();
    if (p == 0) {
        write(fd, "child ", 6);  // after the parent's bytes: the offset is shared
        _exit(0);
    }
    waitpid(p, NULL, 0);
    write(fd, "parent2", 7);
    char buf[64] = {0};
    pread(fd, buf, sizeof buf - 1, 0);
    say("file: '%s', offset %ld\n", buf, (long)lseek(fd, 0, SEEK_CUR));
}

static void exec_self(void) {
    pid_t p = fork();
    if (p == 0) {
        char* argv[] = {(char*)self, "exec-target", "a b", "", "c", NULL};
        char* envp[] = {"ONE=1", "TWO=2", NULL};
        execve(self, argv, envp);
        _exit(99);
    }
    int st;
    waitpid(p, &st, 0);
    say("exec'd child %s\n", describe(st));
}

static void exec_target(int argc, char** argv) {
    say("argc %d:", argc - 1);
    for (int i = 1; i < argc; ++i)
        say(" [%s]", argv[i]);
    say(" env:");
    for (char** e = environ; *e; ++e)
        say(" %s", *e);
    say("\n");
    exit(5);
}

static void exec_errors(void) {
    char* argv[] = {"x", NULL};
    errno = 0;
    execve("/nonexistent/program", argv, environ);
    say("missing: %s\n", strerror(errno));
    execve("/", argv, environ);
    say("directory: %s\n", strerror(errno));
    char path[] = "/tmp/procs-exec-XXXXXX";
    int fd = mkstemp(path);
    write(fd, "just text\n", 10);
    close(fd);
    chmod(path, 0644);
    execve(path, argv, environ);
    say("no execute bit: %s\n", strerror(errno));
    chmod(path, 0755);
    execve(path, argv, environ);
    say("not a program: %s\n", strerror(errno));
    unlink(path);
}

static void vfork_exec(void) {
    pid_t p = vfork();
    if (p == 0) {
        char* argv[] = {(char*)self, "exit-with", "3", NULL};
        execv(self, argv);
        _exit(99);
    }
    int st;
    waitpid(p, &st, 0);
    say("vfork child %s\n", describe(st));
}

static void spawn(void) {
    pid_t p;
    char* argv[] = {(char*)self, "exit-with", "7", NULL};
    int r = posix_spawn(&p, self, NULL, NULL, argv, environ);
    int st = 0;
    waitpid(p, &st, 0);
    say("posix_spawn %d, child %s\n", r, describe(st));
    r = posix_spawn(&p, "/nonexistent", NULL, NULL, argv, environ);
    say("posix_spawn of a missing file: %s\n", strerror(r));
}

static void killed_status(void) {
    int sigs[] = {SIGTERM, SIGKILL, SIGABRT};
    for (int i = 0; i < 3; ++i) {
        pid_t p = fork();
        if (p == 0) {
            if (sigs[i] == SIGABRT)
                abort();
            raise(sigs[i]);
            _exit(0);
        }
        int st;
        waitpid(p, &st, 0);
        say("raise(%d): %s\n", sigs[i], describe(st));
    }
}

static void nohang_and_echild(void) {
    int fd[2];
    pipe(fd);
    pid_t p = fork();
    if (p == 0) {
        char c;
        close(fd[1]);
        read(fd[0], &c, 1);  // until the parent closes its end
        _exit(4);
    }
    close(fd[0]);
    int st = 0;
    say("WNOHANG while running: %d\n", waitpid(p, &st, WNOHANG));
    close(fd[1]);
    say("then: %d\n", waitpid(p, &st, 0) == p);
    say("status %s\n", describe(st));
    errno = 0;
    say("no children: %d %s\n", waitpid(-1, &st, 0), strerror(errno));
}

static void waitid_info(void) {
    pid_t p = fork();
    if (p == 0)
        _exit(9);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, p, &si, WEXITED | WNOWAIT);
    say("waitid %d: signo %d code %d status %d same pid %d\n", r, si.si_signo, si.si_code, si.si_status, si.si_pid == p);
    int st;
    say("still there for waitpid: %d %s\n", waitpid(p, &st, 0) == p, describe(st));
}

static void many_children(void) {
    enum { N = 200 };
    int fd[2];
    pipe(fd);
    for (int i = 0; i < N; ++i) {
        pid_t p = fork();
        if (p < 0) {
            say("fork %d failed: %s\n", i, strerror(errno));
            break;
        }
        if (p == 0) {
            char c;
            close(fd[1]);
            read(fd[0], &c, 1);
            _exit(i % 256);
        }
    }
    close(fd[1]);
    close(fd[0]);
    long sum = 0;
    int st, n = 0;
    while (wait(&st) > 0) {
        sum += WEXITSTATUS(st);
        n++;
    }
    say("%d children reaped, status sum %ld\n", n, sum);
}

static void fork_exec_loop(void) {
    int ok = 0;
    for (int i = 0; i < 300; ++i) {
        pid_t p = fork();
        if (p == 0) {
            char* argv[] = {(char*)self, "exit-with", "0", NULL};
            execv(self, argv);
            _exit(99);
        }
        int st;
        if (waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
    }
    say("%d of 300 fork+exec+wait round trips\n", ok);
}

static void sessions(void) {
    pid_t p = fork();
    if (p == 0) {
        pid_t sid = setsid();
        say("setsid gives own pid: %d, getsid %d, getpgrp %d\n", sid == getpid(), getsid(0) == getpid(),
            getpgrp() == getpid());
        say("setsid again: %d %s\n", setsid(), strerror(errno));
        _exit(0);
    }
    waitpid(p, NULL, 0);
    p = fork();
    if (p == 0) {
        say("setpgid(0,0): %d, own group %d\n", setpgid(0, 0), getpgrp() == getpid());
        _exit(0);
    }
    waitpid(p, NULL, 0);
    errno = 0;
    say("setpgid of a stranger: %d %s\n", setpgid(1, 0), strerror(errno));
}

static void orphans(void) {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int fd[2];
    pipe(fd);
    pid_t p = fork();
    if (p == 0) {
        pid_t g = fork();
        if (g == 0) {
            char c;
            close(fd[1]);
            read(fd[0], &c, 1);  // until the middle process is gone
            say("grandchild adopted by the subreaper: %d\n", getppid() == (pid_t)strtol(getenv("REAPER"), 0, 10));
            _exit(6);
        }
        _exit(0);
    }
    waitpid(p, NULL, 0);
    close(fd[1]);
    close(fd[0]);
    int st;
    pid_t w = wait(&st);
    say("subreaper reaped the grandchild: %d %s\n", w > 0, describe(st));
}

struct check {
    const char* name;
    void (*fn)(void);
};
static const struct check checks[] = {
    {"fork_wait", fork_wait},       {"fork_cow", fork_cow},       {"shared_memory", shared_memory},
    {"pipe_between", pipe_between}, {"shared_offset", shared_offset}, {"exec_self", exec_self},
    {"exec_errors", exec_errors},   {"vfork_exec", vfork_exec},   {"spawn", spawn},
    {"killed_status", killed_status}, {"nohang_and_echild", nohang_and_echild}, {"waitid_info", waitid_info},
    {"many_children", many_children}, {"fork_exec_loop", fork_exec_loop}, {"sessions", sessions},
    {"orphans", orphans},
};

int main(int argc, char** argv) {
    self = "/proc/self/exe";  // the program may not be in the guest's file system under its host path
    if (argc >= 2 && !strcmp(argv[1], "exec-target"))
        exec_target(argc - 1, argv + 1);
    if (argc >= 3 && !strcmp(argv[1], "exit-with"))
        return atoi(argv[2]);
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; ++i) {
        if (argc < 2 || !strcmp(argv[1], "list"))
            say("%s\n", checks[i].name);
        else if (!strcmp(argv[1], checks[i].name)) {
            char reaper[32];
            snprintf(reaper, sizeof reaper, "%d", getpid());
            setenv("REAPER", reaper, 1);
            checks[i].fn();
            return 0;
        }
    }
    return argc < 2 || !strcmp(argv[1], "list") ? 0 : 2;
}

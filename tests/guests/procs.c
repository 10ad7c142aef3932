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
        pid_t again = setsid();
        say("setsid again: %d %s\n", again, strerror(errno));
        _exit(0);
    }
    waitpid(p, NULL, 0);
    p = fork();
    if (p == 0) {
        say("setpgid(0,0): %d, own group %d\n", setpgid(0, 0), getpgrp() == getpid());
        _exit(0);
    }
    waitpid(p, NULL, 0);
    // Not our child (a pid no process has: pid 1 is init natively but this
    // very program in a VM). The call runs before strerror reads errno.
    errno = 0;
    int r = setpgid(4194303, 0);
    say("setpgid of a stranger: %d %s\n", r, strerror(errno));
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

/* Job control: stop and continue (man 7 signal), as a shell's jobs see it. */
static volatile sig_atomic_t g_chld_codes[8];
static volatile sig_atomic_t g_chld_n;
static void on_chld(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)uc;
    if (g_chld_n < 8)
        g_chld_codes[g_chld_n++] = si->si_code;
}

static char proc_state(pid_t pid) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    char* rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' ? rp[2] : '?';
}

/* Waits (blocking) for pid's next change with these options. */
static int wait_for(pid_t pid, int options) {
    int st = 0;
    pid_t r = waitpid(pid, &st, options);
    return r == pid ? st : -1;
}

static void job_control(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    volatile long* counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    /* 1. A child stops itself; WUNTRACED sees it, /proc says T, SIGCONT and
       WCONTINUED, then its exit. */
    int gate[2];  /* the child exits when it closes: after its continue was seen */
    pipe(gate);
    pid_t pid = fork();
    if (pid == 0) {
        close(gate[1]);
        raise(SIGSTOP);
        char c;
        read(gate[0], &c, 1);
        _exit(3);
    }
    close(gate[0]);
    int st = wait_for(pid, WUNTRACED);
    say("stopped: %d sig %d state %c\n", WIFSTOPPED(st), WSTOPSIG(st), proc_state(pid));
    kill(pid, SIGCONT);
    st = wait_for(pid, WCONTINUED);
    say("continued: %d\n", WIFCONTINUED(st));
    close(gate[1]);
    st = wait_for(pid, 0);
    say("then exited: %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    /* 2. A busy child (no system calls) is stopped from outside: it does
       not advance while stopped, and does after SIGCONT; SIGKILL ends it
       while stopped. */
    pid = fork();
    if (pid == 0) {
        for (;;)
            (*counter)++;
    }
    while (*counter < 1000) {
    }
    /* SIGSTOP: SIGTSTP would be discarded natively when the test runs in
       an orphaned process group (as under ctest), per POSIX. */
    kill(pid, SIGSTOP);
    st = wait_for(pid, WUNTRACED);
    long a = *counter;
    usleep(50000);
    long b = *counter;
    say("busy child stopped by SIGSTOP: %d sig %d, advanced while stopped: %s\n", WIFSTOPPED(st), WSTOPSIG(st),
        a == b ? "no" : "yes");
    kill(pid, SIGCONT);
    wait_for(pid, WCONTINUED);
    while (*counter == b) {
    }
    say("advances after SIGCONT: yes\n");
    kill(pid, SIGSTOP);
    wait_for(pid, WUNTRACED);
    kill(pid, SIGKILL);
    st = wait_for(pid, 0);
    say("SIGKILL while stopped: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
    /* 3. waitid: WSTOPPED with WNOWAIT leaves the report, then takes it.
       The child outlives its continue report (a zombie reports only its
       exit): it waits for the pipe to close. */
    int hold[2];
    pipe(hold);
    pid = fork();
    if (pid == 0) {
        close(hold[1]);
        raise(SIGSTOP);
        char c;
        read(hold[0], &c, 1);
        _exit(0);
    }
    close(hold[0]);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    waitid(P_PID, (id_t)pid, &si, WSTOPPED | WNOWAIT);
    say("waitid WNOWAIT: code %s status %d\n", si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "?", si.si_status);
    memset(&si, 0, sizeof si);
    waitid(P_PID, (id_t)pid, &si, WSTOPPED);
    say("waitid again: code %s\n", si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "?");
    memset(&si, 0, sizeof si);
    waitid(P_PID, (id_t)pid, &si, WSTOPPED | WNOHANG);
    say("reported once: si_pid %d\n", si.si_pid);
    kill(pid, SIGCONT);
    memset(&si, 0, sizeof si);
    waitid(P_PID, (id_t)pid, &si, WCONTINUED);
    say("waitid WCONTINUED: code %s status %d\n", si.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "?",
        si.si_status);
    close(hold[1]);
    wait_for(pid, 0);
    /* 4. SIGCHLD codes seen by the handler (stopped, continued, exited). */
    int stopped = 0, continued = 0, exited = 0;
    for (int i = 0; i < g_chld_n; i++) {
        stopped += g_chld_codes[i] == CLD_STOPPED;
        continued += g_chld_codes[i] == CLD_CONTINUED;
        exited += g_chld_codes[i] == CLD_EXITED || g_chld_codes[i] == CLD_KILLED;
    }
    say("SIGCHLD codes: some stopped %d, some continued %d, some ended %d\n", stopped > 0, continued > 0, exited > 0);
    /* 5. SA_NOCLDSTOP: no SIGCHLD for a stop. */
    sa.sa_flags |= SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    g_chld_n = 0;
    pid = fork();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(0);
    }
    wait_for(pid, WUNTRACED);
    int after_stop = g_chld_n;
    kill(pid, SIGCONT);
    wait_for(pid, 0);
    say("SA_NOCLDSTOP: SIGCHLD for the stop %d\n", after_stop);
    /* 6. A handled SIGTSTP runs the handler instead of stopping. */
    pid = fork();
    if (pid == 0) {
        signal(SIGTSTP, SIG_IGN);
        raise(SIGTSTP);
        _exit(4);
    }
    st = wait_for(pid, WUNTRACED);
    say("ignored SIGTSTP: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
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
    {"orphans", orphans},           {"job_control", job_control},
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

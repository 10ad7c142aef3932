// /proc/PID as ps, top, pgrep and pidof read it. Each check prints what it
// saw as facts that hold on Linux (relations such as "ppid == getpid()",
// field counts and formats, not values that differ between runs): the
// guest tests run every check in lightvm and natively and require the same
// output (tests/guest/procfs_test.cpp). `procpid list` names them.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    write(1, buf, (size_t)n);  // unbuffered: fork must not duplicate stdio buffers
}

static char text[1 << 16];

// The whole file (binary safe); -errno when it cannot be opened.
static long slurp(const char* path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    long n = 0, r;
    while ((r = read(fd, text + n, sizeof text - 1 - (size_t)n)) > 0)
        n += r;
    close(fd);
    text[n] = 0;
    return n;
}

static long slurpf(const char* fmt, int pid) {
    char path[64];
    snprintf(path, sizeof path, fmt, pid);
    return slurp(path);
}

// /proc/PID/stat split into its fields (the comm in parentheses is one,
// found by the last ')', as ps does). Returns the number of fields.
static char* fields[64];
static int stat_fields(int pid) {
    static char copy[4096];
    if (slurpf("/proc/%d/stat", pid) <= 0)
        return 0;
    size_t len = strlen(text) < sizeof copy - 1 ? strlen(text) : sizeof copy - 1;
    memcpy(copy, text, len);
    copy[len] = 0;
    char* open_paren = strchr(copy, '(');
    char* close_paren = strrchr(copy, ')');
    if (!open_paren || !close_paren)
        return 0;
    *open_paren = 0;
    *close_paren = 0;
    int n = 0;
    fields[n++] = copy;  // pid (with a trailing space)
    fields[n++] = open_paren + 1;
    for (char* tok = strtok(close_paren + 1, " \n"); tok && n < 64; tok = strtok(NULL, " \n"))
        fields[n++] = tok;
    return n;
}
static long field(int i) { return atol(fields[i - 1]); }  // man 5 proc numbers them from 1

static const char* status_line(const char* name) {
    static char line[256];
    size_t n = strlen(name);
    for (char* p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
        if (!strncmp(p, name, n) && p[n] == ':') {
            char* end = strchr(p, '\n');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len >= sizeof line)
                len = sizeof line - 1;
            memcpy(line, p, len);
            line[len] = 0;
            return line;
        }
    }
    return "(missing)";
}

// A child that waits on a pipe until its parent closes it.
static int blocked_child(int* wfd) {
    int p[2];
    if (pipe(p) < 0)
        return -1;
    int pid = fork();
    if (pid == 0) {
        close(p[1]);
        char c;
        while (read(p[0], &c, 1) > 0) {
        }
        _exit(7);
    }
    close(p[0]);
    *wfd = p[1];
    return pid;
}

// Polls until the process's stat says `state` (at most ~2 s).
static int wait_state(int pid, char state) {
    for (int i = 0; i < 400; ++i) {
        if (stat_fields(pid) >= 3 && fields[2][0] == state)
            return 1;
        usleep(5000);
    }
    return 0;
}

static void self_link(void) {
    char buf[64], want[32];
    ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "%d", getpid());
    say("readlink /proc/self is the pid: %d\n", !strcmp(buf, want));
    struct stat l, s, byname;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", getpid());
    say("lstat: link %d; stat: dir %d\n", lstat("/proc/self", &l) == 0 && S_ISLNK(l.st_mode),
        stat("/proc/self", &s) == 0 && S_ISDIR(s.st_mode));
    say("same directory as /proc/PID: %d\n",
        stat(path, &byname) == 0 && byname.st_ino == s.st_ino && byname.st_dev == s.st_dev);
    snprintf(path, sizeof path, "/proc/%d/stat", getpid());
    say("/proc/PID/stat readable: %d\n", slurp(path) > 0);
    say("/proc/999999 does not exist: %s\n", slurp("/proc/999999/stat") == -ENOENT ? "ENOENT" : "other");
    say("/proc/self/nonesuch: %s\n", slurp("/proc/self/nonesuch") == -ENOENT ? "ENOENT" : "other");
}

static void stat_fields_check(void) {
    int n = stat_fields(getpid());
    say("fields: %d\n", n);
    say("pid %d state %c\n", field(1) == getpid(), fields[2][0]);
    say("ppid %d pgrp %d session %d\n", field(4) == getppid(), field(5) == getpgrp(), field(6) == getsid(0));
    say("num_threads %ld rsslim-max %d\n", field(20), !strcmp(fields[24], "18446744073709551615"));
    // (Linux's stat rss lags for small processes: its per-task counters
    // are folded in every 64 faults, so a fresh static program may say 0.)
    say("vsize>rss*4096 %d\n", atoll(fields[22]) > field(24) * 4096);
    char* argv0_comm = fields[1];
    say("comm file agrees: %d\n", slurp("/proc/self/comm") > 0 && !strncmp(text, argv0_comm, strlen(argv0_comm)));
    // Busy for ~300 ms of CPU: utime+stime in ticks tracks times().
    struct tms t0, t1;
    times(&t0);
    volatile unsigned long spin = 0;
    clock_t c0 = clock();
    while (clock() - c0 < CLOCKS_PER_SEC * 3 / 10)
        spin++;
    times(&t1);
    stat_fields(getpid());
    long ticks = field(14) + field(15), want = t1.tms_utime + t1.tms_stime;
    say("cpu ticks close to times(): %d\n", ticks >= want - 5 && ticks <= want + 5 && ticks >= 25);
}

static void child_stat(void) {
    int w = -1, pid = blocked_child(&w);
    say("child blocked: %d\n", wait_state(pid, 'S'));
    stat_fields(pid);
    say("child ppid is me %d, pgrp %d\n", field(4) == getpid(), field(5) == getpgrp());
    long me_start = (stat_fields(getpid()), field(22));
    stat_fields(pid);
    say("child started after me: %d\n", field(22) >= me_start);
    char buf[4096];
    snprintf(buf, sizeof buf, "/proc/%d", pid);
    DIR* d = opendir("/proc");
    int seen_me = 0, seen_child = 0, self_entry = 0;
    for (struct dirent* e; d && (e = readdir(d));) {
        seen_me |= atoi(e->d_name) == getpid();
        seen_child |= atoi(e->d_name) == pid && e->d_type == DT_DIR;
        self_entry |= !strcmp(e->d_name, "self") && e->d_type == DT_LNK;
    }
    if (d)
        closedir(d);
    say("/proc lists me %d, the child %d, self as a link %d\n", seen_me, seen_child, self_entry);
    close(w);
    say("child exited: zombie %d\n", wait_state(pid, 'Z'));
    stat_fields(pid);
    say("zombie fields %d, exit_code %ld\n", stat_fields(pid), field(52));
    char link[256];
    snprintf(buf, sizeof buf, "/proc/%d/exe", pid);
    say("zombie exe: %s\n", readlink(buf, link, sizeof link) < 0 && errno == ENOENT ? "ENOENT" : "other");
    snprintf(buf, sizeof buf, "/proc/%d/cwd", pid);
    say("zombie cwd: %s\n", readlink(buf, link, sizeof link) < 0 && errno == ENOENT ? "ENOENT" : "other");
    slurpf("/proc/%d/status", pid);
    say("%s\n%s\n", status_line("State"), status_line("VmRSS"));
    int st;
    waitpid(pid, &st, 0);
    say("reaped: %s\n", slurpf("/proc/%d/stat", pid) == -ENOENT ? "ENOENT" : "still there");
}

static void status_check(void) {
    slurp("/proc/self/status");
    char want[64];
    snprintf(want, sizeof want, "Pid:\t%d", getpid());
    say("pid %d\n", !strcmp(status_line("Pid"), want));
    snprintf(want, sizeof want, "PPid:\t%d", getppid());
    say("ppid %d\n", !strcmp(status_line("PPid"), want));
    say("%s\n", status_line("State"));
    snprintf(want, sizeof want, "Uid:\t%d\t%d\t%d\t%d", getuid(), geteuid(), geteuid(), geteuid());
    say("uid %d\n", !strcmp(status_line("Uid"), want));
    say("%s\n", status_line("Threads"));
    const char* rss = status_line("VmRSS");
    say("VmRSS in kB %d, nonzero %d\n", strstr(rss, " kB") != NULL, atol(rss + 6) > 0);
    say("has VmSize %d SigBlk %d CapEff %d\n", strcmp(status_line("VmSize"), "(missing)") != 0,
        strlen(status_line("SigBlk")) == 8 + 16, strcmp(status_line("CapEff"), "(missing)") != 0);
    slurp("/proc/self/statm");
    long size, res, shared, txt, lib, data, dt;
    int n = sscanf(text, "%ld %ld %ld %ld %ld %ld %ld", &size, &res, &shared, &txt, &lib, &data, &dt);
    say("statm fields %d, size>=resident>0 %d\n", n, size >= res && res > 0);
}

static void cmdline_environ(const char* self) {
    int p[2];
    pipe(p);
    int pid = fork();
    if (pid == 0) {
        close(p[1]);
        dup2(p[0], 0);
        char* argv[] = {"procpid-child", "wait-stdin", "two words", "", "last", NULL};
        char* envp[] = {"A=1", "EMPTY=", "LONG=xyz", NULL};
        execve(self, argv, envp);
        _exit(127);
    }
    close(p[0]);
    // Until the exec happened the child's cmdline is ours.
    for (int i = 0; i < 400; ++i) {
        long n = slurpf("/proc/%d/cmdline", pid);
        if (n > 0 && !strcmp(text, "procpid-child"))
            break;
        usleep(5000);
    }
    long n = slurpf("/proc/%d/cmdline", pid);
    static const char want[] = "procpid-child\0wait-stdin\0two words\0\0last";
    say("cmdline %d (%ld bytes)\n", n == (long)sizeof want && !memcmp(text, want, sizeof want), n);
    n = slurpf("/proc/%d/environ", pid);
    static const char wenv[] = "A=1\0EMPTY=\0LONG=xyz";
    say("environ %d (%ld bytes)\n", n == (long)sizeof wenv && !memcmp(text, wenv, sizeof wenv), n);
    char me[64];
    snprintf(me, sizeof me, "%d", getpid());
    n = slurp("/proc/self/cmdline");
    say("own cmdline starts with argv[0]: %d\n", n > 0 && strstr(text, "procpid") != NULL);
    close(p[1]);
    int st;
    waitpid(pid, &st, 0);
    say("child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void fd_links(void) {
    int p[2];
    pipe(p);
    int null = open("/dev/null", O_WRONLY);
    char path[64], link[256];
    struct stat st;
    fstat(p[0], &st);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    char want[64];
    snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)st.st_ino);
    say("pipe link %d\n", !strcmp(link, want));
    snprintf(path, sizeof path, "/proc/%d/fd/%d", getpid(), null);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    say("null link: %s\n", link);
    struct stat l;
    int is_link = lstat(path, &l) == 0 && S_ISLNK(l.st_mode);
    say("fd entry is a link %d, write-only mode %o\n", is_link, l.st_mode & 0777);
    DIR* d = opendir("/proc/self/fd");
    int count = 0, seen_pipe = 0;
    for (struct dirent* e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        count++;
        seen_pipe |= atoi(e->d_name) == p[1] && e->d_type == DT_LNK;
    }
    say("fd dir lists the pipe %d, at least 6 entries %d\n", seen_pipe, count >= 6);
    if (d)
        closedir(d);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    int fd = open(path, O_WRONLY);
    write(fd, "x", 1);
    char c = 0;
    read(p[0], &c, 1);
    say("writing through /proc/self/fd reaches the pipe: %c\n", c);
    char cwd[256];
    getcwd(cwd, sizeof cwd);
    n = readlink("/proc/self/cwd", link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    say("cwd link is getcwd: %d\n", !strcmp(link, cwd));
    chdir("/");
    n = readlink("/proc/self/cwd", link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    say("after chdir: %s\n", link);
    struct stat via, direct;
    say("cwd link followed: %d\n", stat("/proc/self/cwd/", &via) == 0 && stat("/", &direct) == 0 &&
                                       via.st_ino == direct.st_ino && via.st_dev == direct.st_dev);
    n = readlink("/proc/self/exe", link, sizeof link - 1);
    say("exe link absolute: %d\n", n > 0 && link[0] == '/');
}

static void tasks_and_globals(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task");
    DIR* d = opendir(path);
    int entries = 0, me = 0;
    for (struct dirent* e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        entries++;
        me |= atoi(e->d_name) == getpid();
    }
    if (d)
        closedir(d);
    say("task: %d entries, the pid %d\n", entries, me);
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", getpid());
    say("task stat pid: %d\n", slurp(path) > 0 && atoi(text) == getpid());
    char link[64], want[64];
    ssize_t n = readlink("/proc/thread-self", link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "%d/task/%d", getpid(), getpid());
    say("thread-self: %d\n", !strcmp(link, want));
    slurp("/proc/loadavg");
    double a, b, c;
    int run, all, last;
    int got = sscanf(text, "%lf %lf %lf %d/%d %d", &a, &b, &c, &run, &all, &last);
    say("loadavg fields %d, all>=running %d, all>=1 %d\n", got, all >= run, all >= 1);
    int pid = fork();
    if (pid == 0)
        _exit(0);
    slurp("/proc/loadavg");
    sscanf(text, "%lf %lf %lf %d/%d %d", &a, &b, &c, &run, &all, &last);
    /* At least the child's: on a busy host others fork meanwhile. */
    say("last pid is the child's or later: %d\n", last >= pid);
    waitpid(pid, NULL, 0);
    slurp("/proc/uptime");
    double up, idle;
    // (Containers may show their own uptime there, not CLOCK_BOOTTIME's.)
    say("uptime fields %d, positive %d\n", sscanf(text, "%lf %lf", &up, &idle), up > 0 && idle >= 0);
}

struct check {
    const char* name;
    void (*fn)(void);
};
static const char* g_self;
static void cmdline_check(void) { cmdline_environ(g_self); }
static const struct check checks[] = {
    {"self_link", self_link}, {"stat_fields", stat_fields_check}, {"child_stat", child_stat},
    {"status", status_check}, {"cmdline_environ", cmdline_check}, {"fd_links", fd_links},
    {"tasks_and_globals", tasks_and_globals},
};

int main(int argc, char** argv) {
    g_self = "/proc/self/exe";
    if (argc >= 2 && !strcmp(argv[1], "wait-stdin")) {
        char c;
        while (read(0, &c, 1) > 0) {
        }
        return 3;
    }
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; ++i) {
        if (argc < 2 || !strcmp(argv[1], "list"))
            say("%s\n", checks[i].name);
        else if (!strcmp(argv[1], checks[i].name)) {
            checks[i].fn();
            return 0;
        }
    }
    return argc < 2 || !strcmp(argv[1], "list") ? 0 : 2;
}

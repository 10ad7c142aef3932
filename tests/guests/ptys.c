/* Pseudo-terminals (guest/kernel/tty): the Unix98 sequence glibc and musl
   use (posix_openpt, grantpt, unlockpt, ptsname), the line discipline
   (canonical mode, erase/kill/werase, EOF, echo, ONLCR, raw mode, VMIN and
   VTIME), readiness, controlling terminals with ^C, SIGWINCH and the
   hang-up of a closed master, and the EIO of a master whose slave is
   closed. Prints what it saw; the output must be the same natively and in
   a VM (tests/guest/pty_test.cpp). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER 0x5441
#endif

static int open_pair(int* m, int* s, char* name, size_t cap) {
    *m = posix_openpt(O_RDWR | O_NOCTTY);
    if (*m < 0 || grantpt(*m) || unlockpt(*m) || ptsname_r(*m, name, cap))
        return -1;
    *s = open(name, O_RDWR | O_NOCTTY);
    return *s < 0 ? -1 : 0;
}

/* Reads what arrives on fd until `want` bytes or `ms` of quiet. */
static size_t gather(int fd, char* buf, size_t cap, size_t want, int ms) {
    size_t n = 0;
    while (n < cap - 1 && (want == 0 || n < want)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, ms) <= 0 || !(p.revents & POLLIN))
            break;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    return n;
}

static void show(const char* what, const char* s, size_t n) {
    printf("%s: \"", what);
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') printf("\\n");
        else if (c == '\r') printf("\\r");
        else if (c == '\b') printf("\\b");
        else if (c < 32 || c == 127) printf("\\x%02x", c);
        else putchar(c);
    }
    printf("\"\n");
}

static void type_and_read(int m, int s, const char* typed, const char* label) {
    char buf[256];
    if (write(m, typed, strlen(typed)) < 0)
        perror("write");
    ssize_t n = read(s, buf, sizeof buf);
    show(label, buf, n < 0 ? 0 : (size_t)n);
}

static void names(void) {
    int m, s;
    char name[64];
    if (open_pair(&m, &s, name, sizeof name)) {
        printf("names: open_pair failed: %s\n", strerror(errno));
        return;
    }
    unsigned n = 999;
    ioctl(m, TIOCGPTN, &n);
    struct stat a, b, c;
    stat(name, &a);
    fstat(s, &b);
    fstat(m, &c);
    char* t = ttyname(s);
    printf("names: prefix %d, ptn matches %d, ttyname matches %d, isatty %d %d\n",
           strncmp(name, "/dev/pts/", 9) == 0, (unsigned)atoi(name + 9) == n, t && strcmp(t, name) == 0,
           isatty(m), isatty(s));
    printf("names: slave chr %d major %u same node %d; master %u:%u chr %d\n", S_ISCHR(a.st_mode),
           major(a.st_rdev), a.st_rdev == b.st_rdev && a.st_ino == b.st_ino && a.st_dev == b.st_dev,
           major(c.st_rdev), minor(c.st_rdev), S_ISCHR(c.st_mode));
    char link[64] = "", path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", s);
    ssize_t l = readlink(path, link, sizeof link - 1);
    link[l > 0 ? l : 0] = 0;
    printf("names: fd link is the name %d", strcmp(link, name) == 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", m);
    l = readlink(path, link, sizeof link - 1);
    link[l > 0 ? l : 0] = 0;
    printf(", master link %s\n", link);
    DIR* d = opendir("/dev/pts");
    int listed = 0;
    for (struct dirent* e; d && (e = readdir(d));)
        listed |= strcmp(e->d_name, name + 9) == 0;
    if (d)
        closedir(d);
    printf("names: listed in /dev/pts %d\n", listed);
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    struct stat p;
    printf("names: TIOCGPTPEER same slave %d\n", peer >= 0 && fstat(peer, &p) == 0 && p.st_rdev == a.st_rdev);
    close(peer);
    close(s);
    close(m);
}

static void locked(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    char name[64];
    ptsname_r(m, name, sizeof name);
    int lock = -1;
    ioctl(m, TIOCGPTLCK, &lock);
    int s = open(name, O_RDWR | O_NOCTTY);
    printf("locked: lock %d, open %s\n", lock, s < 0 ? strerror(errno) : "ok");
    unlockpt(m);
    ioctl(m, TIOCGPTLCK, &lock);
    s = open(name, O_RDWR | O_NOCTTY);
    printf("locked: after unlockpt lock %d, open %s\n", lock, s < 0 ? strerror(errno) : "ok");
    close(s);
    close(m);
}

static void canonical(void) {
    int m, s;
    char name[64], buf[256];
    open_pair(&m, &s, name, sizeof name);
    type_and_read(m, s, "hello\r", "canon read");
    show("canon echo", buf, gather(m, buf, sizeof buf, 7, 1000));
    type_and_read(m, s, "abx\x7f\x15xyz\x17ok there\x17you\r", "edit read");
    show("edit echo", buf, gather(m, buf, sizeof buf, 0, 200));
    type_and_read(m, s, "ab\x04", "eof after data");
    gather(m, buf, sizeof buf, 2, 1000);  /* the echo: "ab" */
    type_and_read(m, s, "\x04", "eof alone");
    if (write(s, "a\nb\tc\n", 6) != 6)
        perror("write slave");
    show("onlcr", buf, gather(m, buf, sizeof buf, 10, 1000));
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag &= ~ECHO;
    tcsetattr(s, TCSANOW, &t);
    type_and_read(m, s, "secret\n", "noecho read");
    printf("noecho echo bytes: %zu\n", gather(m, buf, sizeof buf, 0, 100));
    tcgetattr(m, &t);
    printf("master termios icanon %d (the slave's)\n", (t.c_lflag & ICANON) != 0);
    close(s);
    close(m);
}

static long ms_since(const struct timespec* a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void raw(void) {
    int m, s;
    char name[64], buf[256];
    open_pair(&m, &s, name, sizeof name);
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    t.c_cc[VMIN] = 3;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    if (write(m, "x\x03z", 3) != 3)
        perror("write");
    ssize_t n = read(s, buf, sizeof buf);
    show("raw vmin 3", buf, n < 0 ? 0 : (size_t)n);
    printf("raw echo bytes: %zu\n", gather(m, buf, sizeof buf, 0, 100));
    if (write(s, "\n", 1) != 1)
        perror("write");
    show("raw opost off", buf, gather(m, buf, sizeof buf, 1, 1000));
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 2;
    tcsetattr(s, TCSANOW, &t);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    n = read(s, buf, sizeof buf);
    long ms = ms_since(&start);
    printf("vtime: read %zd after >=150 ms %d\n", n, ms >= 150 && ms < 3000);
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    printf("vmin 0 vtime 0: read %zd\n", read(s, buf, sizeof buf));
    close(s);
    close(m);
}

static void readiness(void) {
    int m, s;
    char name[64], buf[64];
    open_pair(&m, &s, name, sizeof name);
    struct pollfd p[2] = {{s, POLLIN, 0}, {m, POLLOUT, 0}};
    int ready = poll(p, 2, 0);
    printf("poll empty: %d slave %#x master %#x\n", ready, p[0].revents, p[1].revents);
    if (write(m, "par", 3) != 3)
        perror("write");
    gather(m, buf, sizeof buf, 3, 1000);  /* the echo */
    p[0].revents = 0;
    printf("poll partial line: %d\n", poll(p, 1, 100));
    if (write(m, "t\n", 2) != 2)
        perror("write");
    ready = poll(p, 1, 1000);
    printf("poll line: %d slave %#x\n", ready, p[0].revents);
    int avail = -1;
    ioctl(s, FIONREAD, &avail);
    printf("fionread line: %d\n", avail);
    tcflush(s, TCIFLUSH);
    printf("poll after tcflush: %d\n", poll(p, 1, 0));
    fcntl(s, F_SETFL, O_NONBLOCK);
    fcntl(m, F_SETFL, O_NONBLOCK);
    gather(m, buf, sizeof buf, 0, 100);
    printf("nonblocking reads: slave %s, master %s\n", read(s, buf, 1) < 0 ? strerror(errno) : "data",
           read(m, buf, 1) < 0 ? strerror(errno) : "data");
    static char big[200000];
    memset(big, 'o', sizeof big);
    ssize_t w = write(s, big, sizeof big);
    ssize_t w2 = write(s, big, sizeof big);
    printf("full slave output: partial %d then %s\n", w > 0 && w < (ssize_t)sizeof big,
           w2 < 0 ? strerror(errno) : "more");
    close(s);
    struct pollfd q = {m, POLLIN, 0};
    while (read(m, big, sizeof big) > 0) {
    }
    poll(&q, 1, 0);
    printf("slave closed: master pollhup %d, read %s\n", (q.revents & POLLHUP) != 0,
           read(m, buf, 1) < 0 ? strerror(errno) : "data");
    close(m);
}

/* A child in a new session whose controlling terminal is the slave; it
   runs fn and reports on the pipe. */
static pid_t session_child(const char* name, int master, int s_inherited, int report,
                           void (*fn)(int tty, int report)) {
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    close(master);  /* the parent's alone: closing it must hang the slave up */
    setsid();
    int tty;
    if (s_inherited >= 0) {
        tty = s_inherited;
        if (ioctl(tty, TIOCSCTTY, 0))
            dprintf(report, "TIOCSCTTY failed %s\n", strerror(errno));
    } else {
        tty = open(name, O_RDWR);  /* no O_NOCTTY: becomes the controlling terminal */
    }
    fn(tty, report);
    _exit(0);
}

static volatile sig_atomic_t g_winch;
static void on_winch(int sig) {
    (void)sig;
    g_winch = 1;
}

static void child_ctty(int tty, int report) {
    int fd = open("/dev/tty", O_RDWR);
    struct stat a;
    fstat(fd, &a);
    dprintf(report, "ctty: pgrp %d sid %d, /dev/tty %u:%u with its pgrp %d\n", tcgetpgrp(tty) == getpgrp(),
            tcgetsid(tty) == getsid(0), major(a.st_rdev), minor(a.st_rdev), tcgetpgrp(fd) == getpgrp());
    dprintf(report, "R\n");
    char c;
    ssize_t n = read(tty, &c, 1);  /* ^C ends us here */
    dprintf(report, "read returned %zd\n", n);
}

static void child_winch(int tty, int report) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGWINCH);
    sigprocmask(SIG_BLOCK, &block, &old);
    signal(SIGWINCH, on_winch);
    dprintf(report, "R\n");
    while (!g_winch)
        sigsuspend(&old);
    struct winsize ws;
    ioctl(tty, TIOCGWINSZ, &ws);
    dprintf(report, "winch: %ux%u\n", ws.ws_row, ws.ws_col);
}

static void child_hangup(int tty, int report) {
    dprintf(report, "R\n");
    pause();  /* SIGHUP ends us */
    (void)tty;
}

static void child_hungup_io(int tty, int report) {
    signal(SIGHUP, SIG_IGN);
    dprintf(report, "R\n");
    char c;
    while (write(tty, "", 0) == 0 && ioctl(tty, TIOCGPGRP, &(pid_t){0}) == 0)
        usleep(10000);  /* until the master is gone */
    ssize_t r = read(tty, &c, 1);
    ssize_t w = write(tty, "x", 1);
    dprintf(report, "hung up: read %zd, write %s\n", r, w < 0 ? strerror(errno) : "ok");
}

/* Waits for the child's "R" line, copying its report lines before it. */
static void wait_ready(FILE* in) {
    char line[256];
    while (fgets(line, sizeof line, in) && strcmp(line, "R\n") != 0)
        fputs(line, stdout);
}

static void rest_of(FILE* in) {
    char line[256];
    while (fgets(line, sizeof line, in))
        fputs(line, stdout);
}

static void describe_status(const char* what, int st) {
    if (WIFSIGNALED(st))
        printf("%s: killed by %s\n", what, strsignal(WTERMSIG(st)));
    else
        printf("%s: exit %d\n", what, WEXITSTATUS(st));
}

static void sessions(void) {
    void (*fns[])(int, int) = {child_ctty, child_winch, child_hangup, child_hungup_io};
    const char* labels[] = {"ctrl-c", "winch", "master closed", "hung-up io"};
    for (int i = 0; i < 4; ++i) {
        int m, s, pfd[2];
        char name[64];
        open_pair(&m, &s, name, sizeof name);
        if (pipe(pfd))
            return;
        fflush(stdout);
        pid_t pid = session_child(name, m, i == 0 ? -1 : s, pfd[1], fns[i]);
        close(pfd[1]);
        FILE* in = fdopen(pfd[0], "r");
        wait_ready(in);
        if (i == 0) {
            usleep(100000);  /* into its read */
            if (write(m, "\x03", 1) != 1)
                perror("write");
        } else if (i == 1) {
            struct winsize ws = {30, 100, 0, 0};
            ioctl(m, TIOCSWINSZ, &ws);
        } else {
            close(s);
            s = -1;
            close(m);
            m = -1;
        }
        rest_of(in);
        fclose(in);
        int st;
        waitpid(pid, &st, 0);
        describe_status(labels[i], st);
        if (s >= 0)
            close(s);
        if (m >= 0)
            close(m);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    names();
    locked();
    canonical();
    raw();
    readiness();
    sessions();
    return 0;
}

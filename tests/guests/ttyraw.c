/* Raw mode on the host terminal (issue 11, terminal ioctls), run by
 * tests/guest/tty_raw_test.cpp with its stdin and stdout on a pty:
 *   raw N   cfmakeraw + tcsetattr, "ready", then N single-byte reads, each
 *           reported as "got XX" (hex) before the next; exits WITHOUT
 *           putting the terminal back (lightvm must)
 *   hang    raw mode, "ready", then waits for ever (a --timeout or a
 *           signal ends it)
 *   winch   a SIGWINCH handler; "ready R C", then on each signal the size
 *           TIOCGWINSZ gives, "winch R C"; ends after the first
 *   crash   raw mode, "ready", then a null pointer store (SIGSEGV)
 *   setsize TIOCSWINSZ 40 x 100, "set", then waits for one byte
 *   same    raw mode set twice, TCGETS a thousand times, the first
 *           settings back (the test counts the exits: two)
 *   ready   input readiness in raw mode: poll with a timeout and nothing
 *           typed ("poll0 0"), poll until a byte comes ("poll1 1"), the
 *           byte, select with no wait ("select 0"), a non-blocking read
 *           ("nonblock EAGAIN"), epoll likewise ("epoll0 0", "epoll1 1"),
 *           the second byte
 *   bg      a child that writes "child done" after 200 ms while the parent
 *           blocks reading the terminal; then the byte typed */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void say(const char *s) { write(1, s, strlen(s)); }

static int set_raw(void) {
    struct termios t;
    if (tcgetattr(0, &t) != 0)
        return -1;
    cfmakeraw(&t);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(0, TCSANOW, &t);
}

static volatile sig_atomic_t winched;
static void on_winch(int sig) { (void)sig; winched = 1; }

static int report_size(const char *what) {
    struct winsize ws;
    char line[64];
    if (ioctl(0, TIOCGWINSZ, &ws) != 0)
        return 1;
    snprintf(line, sizeof line, "%s %d %d\n", what, ws.ws_row, ws.ws_col);
    say(line);
    return 0;
}

static void sayf(const char *fmt, long v) {
    char line[64];
    snprintf(line, sizeof line, fmt, v);
    say(line);
}

static int read_byte(void) {
    unsigned char c;
    if (read(0, &c, 1) != 1)
        return 2;
    sayf("got %02lx\r\n", c);
    return 0;
}

static int readiness(void) {
    struct pollfd p = {0, POLLIN, 0};
    fd_set in;
    struct timeval zero = {0, 0};
    struct epoll_event ev = {EPOLLIN, {0}}, out;
    char c;
    int ep;
    if (isatty(0) && set_raw() != 0)  /* a pipe works too */
        return 1;
    say("ready\r\n");
    sayf("poll0 %ld\r\n", poll(&p, 1, 300));
    sayf("poll1 %ld\r\n", poll(&p, 1, -1));
    if (read_byte())
        return 2;
    FD_ZERO(&in);
    FD_SET(0, &in);
    sayf("select %ld\r\n", select(1, &in, NULL, NULL, &zero));
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    long r = read(0, &c, 1);
    say(r < 0 && errno == EAGAIN ? "nonblock EAGAIN\r\n" : "nonblock read\r\n");
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) & ~O_NONBLOCK);
    ep = epoll_create1(0);
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) != 0)
        return 3;
    sayf("epoll0 %ld\r\n", epoll_wait(ep, &out, 1, 300));
    sayf("epoll1 %ld\r\n", epoll_wait(ep, &out, 1, -1));
    return read_byte();
}

static int background(void) {
    int status;
    pid_t child;
    if (set_raw() != 0)
        return 1;
    child = fork();
    if (child == 0) {
        usleep(200000);
        say("child done\r\n");
        _exit(0);
    }
    say("ready\r\n");
    if (read_byte())
        return 2;
    return waitpid(child, &status, 0) == child && WIFEXITED(status) ? 0 : 3;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "raw")) {
        int n = argc > 2 ? atoi(argv[2]) : 1;
        if (set_raw() != 0)
            return perror("tcsetattr"), 1;
        say("ready\r\n");
        for (int i = 0; i < n; i++) {
            unsigned char c;
            char line[32];
            if (read(0, &c, 1) != 1)
                return 2;
            snprintf(line, sizeof line, "got %02x\r\n", c);
            say(line);
        }
        return 0;
    }
    if (!strcmp(mode, "hang")) {
        if (set_raw() != 0)
            return perror("tcsetattr"), 1;
        say("ready\r\n");
        for (;;)
            pause();
    }
    if (!strcmp(mode, "winch")) {
        /* Blocked until sigsuspend: a signal right after "ready" is not lost. */
        struct sigaction sa;
        sigset_t winch, none;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_winch;
        sigaction(SIGWINCH, &sa, NULL);
        sigemptyset(&winch);
        sigaddset(&winch, SIGWINCH);
        sigemptyset(&none);
        sigprocmask(SIG_BLOCK, &winch, NULL);
        if (report_size("ready"))
            return 1;
        while (!winched)
            sigsuspend(&none);
        return report_size("winch");
    }
    if (!strcmp(mode, "crash")) {
        if (set_raw() != 0)
            return perror("tcsetattr"), 1;
        say("ready\r\n");
        *(volatile int *)0 = 1;
        return 0;
    }
    if (!strcmp(mode, "setsize")) {
        struct winsize ws = {40, 100, 0, 0};
        unsigned char c;
        if (ioctl(0, TIOCSWINSZ, &ws) != 0)
            return 1;
        say("set\n");
        return read(0, &c, 1) == 1 ? 0 : 2;
    }
    if (!strcmp(mode, "same")) {
        struct termios orig, u;
        if (tcgetattr(0, &orig) != 0 || set_raw() != 0 || set_raw() != 0)
            return 1;
        for (int i = 0; i < 1000; i++)
            if (tcgetattr(0, &u) != 0 || (u.c_lflag & ICANON))
                return 1;
        if (tcsetattr(0, TCSANOW, &orig) != 0)
            return 1;
        say("done\n");
        return 0;
    }
    if (!strcmp(mode, "ready"))
        return readiness();
    if (!strcmp(mode, "bg"))
        return background();
    fprintf(stderr, "usage: ttyraw raw N|hang|crash|winch|setsize|same|ready|bg\n");
    return 2;
}

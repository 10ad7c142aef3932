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
 *           settings back (the test counts the exits: two) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
    fprintf(stderr, "usage: ttyraw raw N|hang|crash|winch|setsize|same\n");
    return 2;
}

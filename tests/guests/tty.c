// Terminal ioctls on stdin: run with stdin on a pseudo-terminal, in a VM
// and natively; the output must be the same. The settings the program
// reads first are the terminal's own (the VM's copy starts from the host
// terminal's); what it sets it reads back, and it restores both.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static void show(const char* what, long r) {
    printf("%-44s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
    errno = 0;
}
#define SHOW(expr) show(#expr, (long)(expr))

static int same(const struct termios* a, const struct termios* b) {
    return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
           a->c_lflag == b->c_lflag && memcmp(a->c_cc, b->c_cc, 17) == 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct termios orig, raw, now;
    struct winsize ws, big = {40, 100, 0, 0}, back;
    SHOW(isatty(0));
    SHOW(isatty(1));
    SHOW(tcgetattr(0, &orig));
    printf("lflag icanon %d echo %d isig %d; oflag onlcr %d; VMIN %d VINTR %d\n", !!(orig.c_lflag & ICANON),
           !!(orig.c_lflag & ECHO), !!(orig.c_lflag & ISIG), !!(orig.c_oflag & ONLCR), orig.c_cc[VMIN],
           orig.c_cc[VINTR]);
    SHOW(ioctl(0, TIOCGWINSZ, &ws));
    printf("winsize %d x %d\n", ws.ws_row, ws.ws_col);
    raw = orig;
    cfmakeraw(&raw);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    SHOW(tcsetattr(0, TCSANOW, &raw));
    SHOW(tcgetattr(0, &now));
    printf("raw reflected %d (icanon %d echo %d)\n", same(&now, &raw), !!(now.c_lflag & ICANON), !!(now.c_lflag & ECHO));
    SHOW(tcsetattr(0, TCSADRAIN, &orig));
    SHOW(tcgetattr(0, &now));
    printf("restored %d\n", same(&now, &orig));
    SHOW(tcsetattr(0, TCSAFLUSH, &raw));
    SHOW(tcsetattr(0, TCSAFLUSH, &orig));
    SHOW(ioctl(0, TIOCSWINSZ, &big));
    SHOW(ioctl(0, TIOCGWINSZ, &back));
    printf("winsize now %d x %d\n", back.ws_row, back.ws_col);
    SHOW(ioctl(0, TIOCSWINSZ, &ws));
    SHOW(tcdrain(0));
    SHOW(tcflush(0, TCIFLUSH));
    SHOW(tcflush(0, 9));
    SHOW(tcflow(0, TCOON));
    SHOW(tcgetattr(1, &now));
    SHOW(ioctl(1, TIOCGWINSZ, &back));
    return 0;
}

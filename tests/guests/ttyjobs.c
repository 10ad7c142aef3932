// Terminal job control (POSIX "General Terminal Interface", Linux's
// tty_check_change): what a process outside the terminal's foreground group
// meets when it reads the terminal, writes it with TOSTOP, or changes it.
// Run in a VM and natively with the terminal (a pseudo-terminal) as stdin
// and stdout and as the controlling terminal of this session leader; the
// report goes to stderr (a pipe: never checked), the terminal output is
// compared too. Writes go to stdout: the VM's stdin is open read-only. The test types one line before the run: a background read
// must leave it for the foreground.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t got_sig, got_code;

static void on_sig(int sig, siginfo_t* si, void* ctx) {
    (void)ctx;
    got_sig = sig;
    got_code = si->si_code;
}

static void handle(int sig, void (*fn)(int, siginfo_t*, void*), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (fn) {
        sa.sa_sigaction = fn;
        sa.sa_flags = SA_SIGINFO | flags;
    } else {
        sa.sa_handler = flags ? SIG_IGN : SIG_DFL;
    }
    sigaction(sig, &sa, NULL);
}

static void block(int sig, int how) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(how, &s, NULL);
}

static const char* name(int sig) {
    return sig == SIGTTIN ? "SIGTTIN" : sig == SIGTTOU ? "SIGTTOU" : sig ? "other" : "none";
}

// errno by name: glibc's and musl's strerror texts differ.
static const char* errname(int err) {
    return err == EINTR ? "EINTR" : err == EIO ? "EIO" : err == ENOTTY ? "ENOTTY" : err == EPERM ? "EPERM" : err == ENXIO ? "ENXIO" : "other";
}

static void say_result(const char* what, long r, int err) {
    fprintf(stderr, "%-48s %ld %s; signal %s%s\n", what, r, r < 0 ? errname(err) : "", name(got_sig),
            got_sig && got_code == SI_KERNEL ? " (SI_KERNEL)" : "");
}

// Runs fn in a child in a process group of its own (a background job: the
// terminal's foreground group stays ours) and waits for it.
static void in_background(void (*fn)(void)) {
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        got_sig = 0;
        fn();
        _exit(0);
    }
    setpgid(pid, pid);  // as a shell does: whichever runs first
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        fprintf(stderr, "  child status %#x\n", st);
}

static void set_tostop(int on) {
    struct termios t;
    tcgetattr(0, &t);
    if (on)
        t.c_lflag |= TOSTOP;
    else
        t.c_lflag &= ~TOSTOP;
    tcsetattr(0, TCSANOW, &t);
}

// A read with a SIGTTIN handler: EINTR, and the whole group got it (a
// sibling waiting in sigsuspend too).
static void read_with_handler(void) {
    char buf[64];
    handle(SIGTTIN, on_sig, 0);
    pid_t sib = fork();
    if (sib == 0) {  // the handler is ours: it may run before the block
        sigset_t old;
        block(SIGTTIN, SIG_BLOCK);
        sigprocmask(SIG_BLOCK, NULL, &old);
        sigdelset(&old, SIGTTIN);
        while (!got_sig)
            sigsuspend(&old);
        _exit(got_sig == SIGTTIN ? 0 : 1);
    }
    long r = read(0, buf, sizeof buf);
    say_result("background read, SIGTTIN handled", r, errno);
    int st;
    waitpid(sib, &st, 0);
    fprintf(stderr, "  sibling in the group got SIGTTIN: %s\n", WIFEXITED(st) && !WEXITSTATUS(st) ? "yes" : "no");
}

static void read_ignored(void) {
    char buf[64];
    handle(SIGTTIN, NULL, 1);
    long r = read(0, buf, sizeof buf);
    say_result("background read, SIGTTIN ignored", r, errno);
}

static void read_blocked(void) {
    char buf[64];
    block(SIGTTIN, SIG_BLOCK);
    long r = read(0, buf, sizeof buf);
    say_result("background read, SIGTTIN blocked", r, errno);
}

// One background write with TOSTOP (or without, per the caller's setup):
// SIGTTOU caught (ignore 0), ignored (1), or caught but blocked.
static void background_write(const char* what, const char* text, int ignore, int blocked) {
    handle(SIGTTOU, ignore ? NULL : on_sig, ignore);
    if (blocked)
        block(SIGTTOU, SIG_BLOCK);
    long r = write(1, text, strlen(text));
    say_result(what, r, errno);
}

static void write_with_handler(void) {
    background_write("background write, TOSTOP, SIGTTOU handled", "never shown\n", 0, 0);
}
static void write_ignored(void) {
    background_write("background write, TOSTOP, SIGTTOU ignored", "ignored SIGTTOU: written\n", 1, 0);
}
static void write_blocked(void) {
    background_write("background write, TOSTOP, SIGTTOU blocked", "blocked SIGTTOU: written\n", 0, 1);
}
static void write_no_tostop(void) {
    background_write("background write, no TOSTOP", "no TOSTOP: written\n", 0, 0);
}

static void tcsetattr_with_handler(void) {
    struct termios t;
    tcgetattr(0, &t);  // reading the settings is fine
    handle(SIGTTOU, on_sig, 0);
    long r = tcsetattr(0, TCSANOW, &t);
    say_result("background tcsetattr, SIGTTOU handled", r, errno);
    got_sig = 0;
    r = tcflush(0, TCOFLUSH);
    say_result("background tcflush, SIGTTOU handled", r, errno);
}

static void tcsetattr_ignored(void) {
    struct termios t;
    tcgetattr(0, &t);
    handle(SIGTTOU, NULL, 1);
    long r = tcsetattr(0, TCSANOW, &t);
    say_result("background tcsetattr, SIGTTOU ignored", r, errno);
}

// What a job-control shell started in the background does to take the
// terminal: tcsetpgrp with SIGTTOU blocked; unblocked it is a SIGTTOU.
static void tcsetpgrp_from_background(void) {
    handle(SIGTTOU, on_sig, 0);
    long r = tcsetpgrp(0, getpgrp());
    say_result("background tcsetpgrp, SIGTTOU handled", r, errno);
    got_sig = 0;
    block(SIGTTOU, SIG_BLOCK);
    r = tcsetpgrp(0, getpgrp());
    say_result("background tcsetpgrp, SIGTTOU blocked", r, errno);
    fprintf(stderr, "  foreground is now the job: %s\n", tcgetpgrp(0) == getpgrp() ? "yes" : "no");
    r = tcsetpgrp(0, getpgid(getppid()));  // back to the parent (we are the foreground now: no check)
    say_result("  and back to the parent's group", r, errno);
}

// SIGTTIN's default action stops the job; given the terminal and continued,
// its read starts again and takes the typed line. While it is stopped, we
// are the background, in an orphaned group (our parent is in another
// session): no signal, EIO instead (ENOTTY for tcsetpgrp).
static void stop_and_orphan(void) {
    set_tostop(1);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        char buf[64];
        long r = read(0, buf, sizeof buf);
        int err = errno;
        fprintf(stderr, "job continued in the foreground: read %ld %s%.*s", r, r < 0 ? errname(err) : "",
                r > 0 ? (int)r : 0, buf);
        _exit(0);
    }
    setpgid(pid, pid);
    int st;
    waitpid(pid, &st, WUNTRACED);
    fprintf(stderr, "job reading in the background: stopped %d by %s\n", WIFSTOPPED(st),
            WIFSTOPPED(st) ? name(WSTOPSIG(st)) : "-");
    long r = tcsetpgrp(0, pid);
    say_result("give it the terminal", r, errno);
    char buf[64];
    got_sig = 0;
    handle(SIGTTIN, on_sig, 0);
    handle(SIGTTOU, on_sig, 0);
    r = read(0, buf, sizeof buf);
    say_result("orphaned background read", r, errno);
    r = write(1, "orphan\n", 7);
    say_result("orphaned background write, TOSTOP", r, errno);
    r = tcsetpgrp(0, getpgrp());
    say_result("orphaned background tcsetpgrp", r, errno);
    handle(SIGTTIN, NULL, 0);
    handle(SIGTTOU, NULL, 0);
    kill(pid, SIGCONT);
    waitpid(pid, &st, 0);
    fprintf(stderr, "job exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    block(SIGTTOU, SIG_BLOCK);
    r = tcsetpgrp(0, getpgrp());
    say_result("take the terminal back, SIGTTOU blocked", r, errno);
    block(SIGTTOU, SIG_UNBLOCK);
    fprintf(stderr, "foreground again: %s\n", tcgetpgrp(0) == getpgrp() ? "yes" : "no");
    set_tostop(0);
}

// A terminal stop signal to an orphaned group is discarded (POSIX, Linux's
// get_signal): a child in a session of its own (its parent is in another)
// is not stopped by SIGTSTP, SIGTTIN or SIGTTOU; SIGSTOP still stops it.
static void orphan_stop_discarded(void) {
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        raise(SIGTSTP);
        kill(getpid(), SIGTTIN);
        kill(getpid(), SIGTTOU);
        fprintf(stderr, "orphaned group: past SIGTSTP, SIGTTIN, SIGTTOU\n");
        raise(SIGSTOP);
        _exit(0);
    }
    for (int st;;) {
        if (waitpid(pid, &st, WUNTRACED) != pid)
            break;
        if (!WIFSTOPPED(st)) {
            fprintf(stderr, "orphaned group: exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            break;
        }
        fprintf(stderr, "orphaned group: stopped by %s\n", WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : name(WSTOPSIG(st)));
        kill(pid, SIGCONT);
    }
}

// A group whose last link to the rest of its session exits while a member
// is stopped gets SIGHUP then SIGCONT (POSIX _exit): nobody could continue
// it. M leads a new session, B a group in it; B's child C stops, then B
// exits: C's new parent is us (a subreaper, in another session).
static void orphaned_by_exit(void) {
    int p[2];
    if (pipe(p) != 0)
        return;
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t m = fork();
    if (m == 0) {
        setsid();
        if (fork() == 0) {
            setpgid(0, 0);
            pid_t c = fork();
            if (c == 0) {
                raise(SIGSTOP);
                _exit(7);  // continued without SIGHUP
            }
            int st;
            waitpid(c, &st, WUNTRACED);
            if (write(p[1], &c, sizeof c) != sizeof c)
                _exit(1);
            _exit(0);
        }
        wait(NULL);
        _exit(0);
    }
    waitpid(m, NULL, 0);  // not any child: C becomes one
    pid_t c = -1;
    if (read(p[0], &c, sizeof c) != sizeof c)
        return;
    int st = 0, tries = 0;
    while (waitpid(c, &st, WNOHANG) == 0 && ++tries < 300)
        usleep(10000);
    if (tries < 300)
        fprintf(stderr, "stopped job of an orphaned group: %s\n",
                WIFSIGNALED(st) && WTERMSIG(st) == SIGHUP ? "killed by SIGHUP" : "ended otherwise");
    else {
        fprintf(stderr, "stopped job of an orphaned group: still stopped\n");
        kill(c, SIGKILL);
        waitpid(c, &st, 0);
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    close(p[0]);
    close(p[1]);
}

static void say_tty(const char* who) {
    int fd = open("/dev/tty", O_RDWR);
    int err = errno;
    pid_t fg = tcgetpgrp(0);
    fprintf(stderr, "%-36s /dev/tty %s, foreground %s\n", who, fd >= 0 ? "opens" : errname(err),
            fg == getpgrp() ? "ours" : fg < 0 ? errname(errno) : "another");
    if (fd >= 0)
        close(fd);
}

static void in_child(void (*fn)(void)) {
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void new_session(void) {
    setsid();
    say_tty("new session:");
    long r = ioctl(0, TIOCSCTTY, 0);
    say_result("  TIOCSCTTY of a terminal held", r, errno);
}

static void member_gives_up(void) {
    long r = ioctl(0, TIOCNOTTY);
    say_result("member TIOCNOTTY", r, errno);
    say_tty("  then:");
}

static void new_session_takes(void) {
    setsid();
    long r = ioctl(0, TIOCSCTTY, 0);
    say_result("new session TIOCSCTTY of a free terminal", r, errno);
    say_tty("  then:");
}

// The controlling terminal (credentials(7), tty_ioctl(4)): a new session
// has none; a member that gives it up has none, its session keeps it; when
// we, the leader, give it up, another session can take it.
static void controlling_terminal(void) {
    say_tty("leader:");
    in_child(new_session);
    in_child(member_gives_up);
    say_tty("leader after the member's TIOCNOTTY:");
    handle(SIGHUP, NULL, 1);  // the leader's TIOCNOTTY sends it to the foreground group: us
    long r = ioctl(0, TIOCNOTTY);
    say_result("leader TIOCNOTTY", r, errno);
    say_tty("  then:");
    in_child(new_session_takes);
    r = ioctl(0, TIOCSCTTY, 0);
    say_result("leader TIOCSCTTY once it is free again", r, errno);
    say_tty("  then:");
    handle(SIGHUP, NULL, 0);
}

int main(void) {
    setvbuf(stderr, NULL, _IONBF, 0);
    fprintf(stderr, "session leader %d, terminal's group is ours %d\n", getsid(0) == getpid(),
            tcgetpgrp(0) == getpgrp());
    in_background(read_with_handler);
    in_background(read_ignored);
    in_background(read_blocked);
    in_background(write_no_tostop);
    set_tostop(1);
    in_background(write_with_handler);
    in_background(write_ignored);
    in_background(write_blocked);
    set_tostop(0);
    in_background(tcsetattr_with_handler);
    in_background(tcsetattr_ignored);
    in_background(tcsetpgrp_from_background);
    fprintf(stderr, "foreground still ours: %s\n", tcgetpgrp(0) == getpgrp() ? "yes" : "no");
    stop_and_orphan();
    orphan_stop_discarded();
    orphaned_by_exit();
    controlling_terminal();
    return 0;
}

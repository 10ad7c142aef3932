/* Blocking and waking inside the guest kernel: a kernel thread (the
   test-hook syscall, guest/kernel/proc/test_hooks.cpp) writes into a pipe
   after a delay while this program blocks in read() or poll(). Without the
   hook (argv[1] == "native") the same checks run against a child process,
   so the output can be compared with a native run. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int native;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Someone else writes into fd after delay_ms. */
static void write_later(int fd, int delay_ms) {
    if (!native) {
        if (syscall(511, 2, fd, delay_ms) != 0)
            perror("hook");
        return;
    }
    if (fork() == 0) {
        usleep(delay_ms * 1000);
        static const char msg[] = "written by a kernel thread\n";
        write(fd, msg, sizeof msg - 1);
        _exit(0);
    }
}

int main(int argc, char** argv) {
    native = argc > 1 && strcmp(argv[1], "native") == 0;
    int p[2];
    char buf[128];
    if (pipe(p) != 0)
        return 1;

    /* 1. read() blocks until the writer comes. */
    double t0 = now_ms();
    write_later(p[1], 30);
    ssize_t n = read(p[0], buf, sizeof buf);
    double waited = now_ms() - t0;
    printf("blocking read: %zd bytes: %.*s", n, (int)(n > 0 ? n : 0), buf);
    printf("waited at least 25 ms: %s\n", waited >= 25 ? "yes" : "no");

    /* 2. O_NONBLOCK: EAGAIN instead of sleeping. */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    n = read(p[0], buf, sizeof buf);
    printf("non-blocking read of an empty pipe: %zd %s\n", n, n < 0 ? strerror(errno) : "");
    fcntl(p[0], F_SETFL, 0);

    /* 3. poll() times out on an empty pipe, then wakes for data. */
    struct pollfd pf = {p[0], POLLIN, 0};
    t0 = now_ms();
    int r = poll(&pf, 1, 40);
    printf("poll with nothing to read: %d after >= 35 ms: %s\n", r, now_ms() - t0 >= 35 ? "yes" : "no");
    write_later(p[1], 20);
    r = poll(&pf, 1, 5000);
    printf("poll woken by the writer: %d revents POLLIN: %s\n", r, (pf.revents & POLLIN) ? "yes" : "no");
    n = read(p[0], buf, sizeof buf);
    printf("then read: %zd bytes\n", n);

    /* 4. The last writer gone: POLLHUP and EOF. */
    if (native)
        while (wait(NULL) > 0) {
        }
    close(p[1]);
    r = poll(&pf, 1, 1000);
    printf("poll after the writer closed: %d POLLHUP: %s\n", r, (pf.revents & POLLHUP) ? "yes" : "no");
    printf("read at EOF: %zd\n", read(p[0], buf, sizeof buf));

    /* 5. poll(NULL, 0, t) sleeps. */
    t0 = now_ms();
    r = poll(NULL, 0, 30);
    printf("poll(NULL, 0, 30): %d after >= 25 ms: %s\n", r, now_ms() - t0 >= 25 ? "yes" : "no");
    return 0;
}

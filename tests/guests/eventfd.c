/* eventfd (man 2 eventfd) inside a VM and natively: counter and semaphore
   reads, O_NONBLOCK, overflow, bad arguments, poll/select readiness, and a
   read that blocks until someone else writes (a kernel thread through the
   test hook in the VM, a child process natively: argv[1] == "native").
   The output must be the same. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int native;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Someone else adds 42 to the eventfd after delay_ms. */
static void write_later(int fd, int delay_ms) {
    uint64_t v = 42;
    if (!native) {
        if (syscall(511, 4, fd, delay_ms, v) != 0)
            perror("hook");
        return;
    }
    if (fork() == 0) {
        usleep(delay_ms * 1000);
        if (write(fd, &v, sizeof v) < 0)
            perror("child write");
        _exit(0);
    }
}

static void reap(void) {
    if (native)
        while (wait(NULL) > 0) {
        }
}

static const char* res(long r) { return r < 0 ? strerror(errno) : "ok"; }

static long rd(int fd, uint64_t* v) { return read(fd, v, sizeof *v); }
static long wr(int fd, uint64_t v) { return write(fd, &v, sizeof v); }

static void show_poll(const char* what, int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    int r = poll(&p, 1, 0);
    printf("%s: poll %d revents%s%s%s\n", what, r, (p.revents & POLLIN) ? " IN" : "",
           (p.revents & POLLOUT) ? " OUT" : "", (p.revents & POLLERR) ? " ERR" : "");
}

int main(int argc, char** argv) {
    native = argc > 1 && strcmp(argv[1], "native") == 0;
    uint64_t v = 0;

    /* Counter: writes add up, a read takes everything. */
    int fd = eventfd(5, 0);
    printf("eventfd(5, 0): %s, F_GETFL %#x\n", fd >= 0 ? "ok" : strerror(errno), fcntl(fd, F_GETFL));
    wr(fd, 3);
    wr(fd, 4);
    long n = rd(fd, &v);
    printf("read after +3 +4: %ld bytes, value %" PRIu64 "\n", n, v);
    show_poll("empty counter", fd);
    wr(fd, 0);
    show_poll("after writing 0", fd);
    close(fd);

    /* Non-blocking: EAGAIN on 0; short buffers; the value ~0 is refused. */
    fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    printf("EFD_NONBLOCK|EFD_CLOEXEC: F_GETFL %#x F_GETFD %d\n", fcntl(fd, F_GETFL), fcntl(fd, F_GETFD));
    n = rd(fd, &v);
    printf("read of 0: %ld %s\n", n, res(n));
    uint32_t small = 1;
    n = write(fd, &small, sizeof small);
    printf("4-byte write: %ld %s\n", n, res(n));
    n = read(fd, &small, sizeof small);
    printf("4-byte read: %ld %s\n", n, res(n));
    n = wr(fd, UINT64_MAX);
    printf("write of 0xffffffffffffffff: %ld %s\n", n, res(n));

    /* Overflow: the counter holds at most 0xfffffffffffffffe. */
    n = wr(fd, UINT64_MAX - 1);
    printf("write of the maximum: %ld %s\n", n, res(n));
    show_poll("full counter", fd);
    n = wr(fd, 1);
    printf("one more: %ld %s\n", n, res(n));
    n = rd(fd, &v);
    printf("read: %ld value %#" PRIx64 "\n", n, v);
    n = wr(fd, 1);
    printf("then a write of 1: %ld %s\n", n, res(n));
    uint8_t big[16];
    memset(big, 0, sizeof big);
    big[0] = 2;
    n = write(fd, big, sizeof big);
    printf("16-byte write (Linux 6.9+: exactly 8): %ld %s\n", n, res(n));
    wr(fd, 2);
    n = read(fd, big, sizeof big);
    printf("16-byte read: %ld value %u\n", n, big[0]);
    close(fd);

    /* Semaphore: each read takes 1. */
    fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    for (int i = 0; i < 4; ++i) {
        v = 0;
        n = rd(fd, &v);
        printf("semaphore read %d: %ld %s value %" PRIu64 "\n", i, n, res(n), v);
    }
    wr(fd, 2);
    n = rd(fd, &v);
    printf("after +2: value %" PRIu64 "\n", v);
    close(fd);

    /* Bad flags. */
    n = syscall(SYS_eventfd2, 0, 0x40000);
    printf("eventfd2 with an unknown flag: %ld %s\n", n, res(n));

    /* Blocking read: sleeps until the writer comes. */
    fd = eventfd(0, 0);
    double t0 = now_ms();
    write_later(fd, 30);
    n = rd(fd, &v);
    printf("blocking read: %ld value %#" PRIx64 " waited >= 25 ms: %s\n", n, v, now_ms() - t0 >= 25 ? "yes" : "no");
    reap();

    /* poll and select wake for it too. */
    struct pollfd p = {fd, POLLIN, 0};
    t0 = now_ms();
    int r = poll(&p, 1, 40);
    printf("poll of an empty eventfd: %d after >= 35 ms: %s\n", r, now_ms() - t0 >= 35 ? "yes" : "no");
    write_later(fd, 20);
    r = poll(&p, 1, 5000);
    printf("poll woken by the writer: %d POLLIN: %s\n", r, (p.revents & POLLIN) ? "yes" : "no");
    reap();
    rd(fd, &v);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(fd, &rs);
    struct timeval tv = {5, 0};
    write_later(fd, 20);
    r = select(fd + 1, &rs, NULL, NULL, &tv);
    printf("select woken by the writer: %d readable: %s\n", r, FD_ISSET(fd, &rs) ? "yes" : "no");
    reap();
    rd(fd, &v);
    fd_set ws;
    FD_ZERO(&ws);
    FD_SET(fd, &ws);
    r = select(fd + 1, NULL, &ws, NULL, &tv);
    printf("select for writing: %d writable: %s\n", r, FD_ISSET(fd, &ws) ? "yes" : "no");

    struct stat st;
    fstat(fd, &st);
    printf("fstat: mode %o\n", (unsigned)st.st_mode);
    close(fd);
    return 0;
}

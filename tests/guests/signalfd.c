/* signalfd (man 2 signalfd) inside a VM and natively: blocked signals read
   as signalfd_siginfo (kill, sigqueue with a value, several at once),
   poll/epoll readiness, O_NONBLOCK, changing the mask of an existing fd,
   bad arguments, and a blocking read and an epoll_wait woken by a timer
   signal (setitimer: sent from the guest's timer interrupt). The output
   must be the same. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char* res(long r) { return r < 0 ? strerror(errno) : "ok"; }

static void show(const char* what, const struct signalfd_siginfo* s) {
    printf("%s: signo %u code %d pid is mine %s uid %u int %d ptr %#llx\n", what, s->ssi_signo, s->ssi_code,
           s->ssi_pid == (uint32_t)getpid() ? "yes" : "no", s->ssi_uid, s->ssi_int, (unsigned long long)s->ssi_ptr);
}

int main(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigaddset(&mask, SIGRTMIN);
    sigaddset(&mask, SIGALRM);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %s F_GETFL %#x F_GETFD %d\n", res(fd), fcntl(fd, F_GETFL), fcntl(fd, F_GETFD));
    struct signalfd_siginfo s[4];
    long n = read(fd, s, sizeof s);
    printf("read with nothing pending: %ld %s\n", n, res(n));
    struct pollfd p = {fd, POLLIN, 0};
    printf("poll with nothing pending: %d\n", poll(&p, 1, 0));

    kill(getpid(), SIGUSR1);
    int r = poll(&p, 1, 0);
    printf("poll after kill: %d revents %#x\n", r, p.revents);
    n = read(fd, s, sizeof s);
    printf("read: %ld bytes\n", n);
    show("kill", &s[0]);

    union sigval v = {.sival_int = 1234};
    sigqueue(getpid(), SIGRTMIN, v);
    sigqueue(getpid(), SIGRTMIN, v);
    kill(getpid(), SIGUSR2);
    n = read(fd, s, sizeof s);
    printf("read of three: %ld bytes (%ld records)\n", n, n / (long)sizeof s[0]);
    for (int i = 0; i < n / (long)sizeof s[0]; ++i)
        show("  one", &s[i]);
    n = read(fd, s, 10);
    printf("10-byte read: %ld %s\n", n, res(n));

    /* A new mask for the same fd: SIGUSR1 no longer read. */
    sigset_t only2;
    sigemptyset(&only2);
    sigaddset(&only2, SIGUSR2);
    printf("new mask on the fd: %s\n", signalfd(fd, &only2, 0) == fd ? "same fd" : strerror(errno));
    kill(getpid(), SIGUSR1);
    n = read(fd, s, sizeof s);
    printf("read with SIGUSR1 out of the mask: %ld %s\n", n, res(n));
    sigset_t pend;
    sigpending(&pend);
    printf("SIGUSR1 still pending: %s\n", sigismember(&pend, SIGUSR1) ? "yes" : "no");
    signalfd(fd, &mask, 0);
    n = read(fd, s, sizeof s);
    printf("read after putting it back: %ld\n", n);

    /* epoll over the signalfd, woken by a timer signal. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("epoll with nothing pending: %d\n", epoll_wait(ep, &ev, 1, 0));
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    double t0 = now_ms();
    r = epoll_wait(ep, &ev, 1, 5000);
    printf("epoll_wait woken by SIGALRM: %d data %llu waited 25..1000 ms: %s\n", r, (unsigned long long)ev.data.u64,
           now_ms() - t0 >= 25 && now_ms() - t0 < 1000 ? "yes" : "no");
    n = read(fd, s, sizeof s);
    printf("read: %ld bytes signo %u\n", n, s[0].ssi_signo);

    /* A blocking read woken by a timer signal. */
    fcntl(fd, F_SETFL, 0);
    setitimer(ITIMER_REAL, &it, NULL);
    t0 = now_ms();
    n = read(fd, s, sizeof s);
    printf("blocking read: %ld bytes signo %u waited 25..1000 ms: %s\n", n, s[0].ssi_signo,
           now_ms() - t0 >= 25 && now_ms() - t0 < 1000 ? "yes" : "no");

    /* Bad arguments. */
    n = syscall(SYS_signalfd4, -1, &mask, 4, 0);
    printf("sizemask 4: %ld %s\n", n, res(n));
    n = syscall(SYS_signalfd4, -1, &mask, 8, 1);
    printf("unknown flag: %ld %s\n", n, res(n));
    n = signalfd(ep, &mask, 0);
    printf("on an epoll fd: %ld %s\n", n, res(n));
    n = signalfd(99, &mask, 0);
    printf("on a closed fd: %ld %s\n", n, res(n));
    n = write(fd, s, sizeof s[0]);
    printf("write: %ld %s\n", n, res(n));
    close(ep);
    close(fd);
    return 0;
}

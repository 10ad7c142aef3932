// Locks between a VM and the host (a share's file): run by
// tests/system/host_locks_test.sh against host processes.
//   hostlocks try FILE         what a record lock, a flock and F_GETLK meet
//   hostlocks hold FILE MS     hold a write record lock on [0,100) and a shared
//                              flock, print "held", sleep MS, then exit
//   hostlocks wait FILE        F_SETLKW a write lock on the whole file (waits
//                              for a host holder), print "got it"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static const char* err(int r) { return r == 0 ? "ok" : errno == EAGAIN ? "EAGAIN" : strerror(errno); }

static int record(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

int main(int argc, char** argv) {
    if (argc < 3)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fd = open(argv[2], O_RDWR);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    if (!strcmp(argv[1], "try")) {
        printf("setlk write: %s\n", err(record(fd, F_SETLK, F_WRLCK, 0, 0)));
        printf("setlk read [200,300): %s\n", err(record(fd, F_SETLK, F_RDLCK, 200, 100)));
        printf("flock ex nb: %s\n", err(flock(fd, LOCK_EX | LOCK_NB)));
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        fcntl(fd, F_GETLK, &fl);
        printf("getlk: %s [%lld,+%lld) pid %d\n", fl.l_type == F_UNLCK ? "unlocked" : fl.l_type == F_WRLCK ? "write" : "read",
               (long long)fl.l_start, (long long)fl.l_len, fl.l_type == F_UNLCK ? 0 : fl.l_pid);
        return 0;
    }
    if (!strcmp(argv[1], "hold") && argc == 4) {
        printf("setlk write [0,100): %s\n", err(record(fd, F_SETLK, F_WRLCK, 0, 100)));
        printf("flock sh: %s\n", err(flock(fd, LOCK_SH | LOCK_NB)));
        printf("held\n");
        long ms = atol(argv[3]);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        return 0;
    }
    if (!strcmp(argv[1], "wait")) {
        printf("setlkw write: %s\n", err(record(fd, F_SETLKW, F_WRLCK, 0, 0)));
        printf("got it\n");
        return 0;
    }
    return 2;
}

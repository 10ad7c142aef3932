// The kernel's device files and descriptor names, as a program sees them:
// run in a VM and natively, the output must be the same.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void show_dev(const char* path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("%s: stat %s\n", path, strerror(errno));
        return;
    }
    printf("%s: %s %u:%u mode %o\n", path, S_ISCHR(st.st_mode) ? "chr" : "other", major(st.st_rdev),
           minor(st.st_rdev), st.st_mode & 07777);
}

int main(void) {
    const char* devs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"};
    for (unsigned i = 0; i < sizeof devs / sizeof devs[0]; ++i)
        show_dev(devs[i]);

    // /dev/full: reads are zeros, writes fail with ENOSPC.
    int fd = open("/dev/full", O_RDWR);
    char buf[64];
    memset(buf, 'x', sizeof buf);
    ssize_t n = read(fd, buf, sizeof buf);
    int zeros = 1;
    for (ssize_t i = 0; i < n; ++i)
        zeros &= buf[i] == 0;
    printf("full: read %zd zeros %d\n", n, zeros);
    errno = 0;
    n = write(fd, "a", 1);
    printf("full: write %zd %s\n", n, strerror(errno));
    printf("full: write 0 -> %zd\n", write(fd, "", 0));
    close(fd);

    // /dev/random and /dev/urandom never block and give what was asked.
    fd = open("/dev/random", O_RDONLY);
    printf("random: read %zd\n", read(fd, buf, 48));
    close(fd);

    // O_CREAT|O_EXCL on an existing device node.
    errno = 0;
    fd = open("/dev/null", O_WRONLY | O_CREAT | O_EXCL, 0600);
    printf("null excl: %d %s\n", fd, strerror(errno));

    errno = 0;
    fd = open("/dev/fd/77", O_RDONLY);
    printf("fd 77: %d %s\n", fd, strerror(errno));
    struct stat a, b;
    int p[2];
    if (pipe(p) == 0 && fstat(p[0], &a) == 0 && fstat(p[1], &b) == 0) {
        char name[32];
        snprintf(name, sizeof name, "/dev/fd/%d", p[0]);
        struct stat c;
        int same = stat(name, &c) == 0 && c.st_dev == a.st_dev && c.st_ino == a.st_ino;
        printf("pipe ends same inode %d, /dev/fd/N same %d, fifo %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev,
               same, S_ISFIFO(a.st_mode));
        int q[2];
        struct stat d;
        if (pipe(q) == 0 && fstat(q[0], &d) == 0)
            printf("two pipes differ %d\n", d.st_ino != a.st_ino || d.st_dev != a.st_dev);
    }
    // Last (a native run's stdout may be a file, reopened at its end):
    // descriptor names: /dev/fd/N and /dev/stdout reach the same file.
    fflush(stdout);
    fd = open("/dev/fd/1", O_WRONLY | O_APPEND);  // natively a new open: append to a file
    dprintf(fd, "via /dev/fd/1\n");
    close(fd);
    fd = open("/dev/stdout", O_WRONLY | O_APPEND);
    dprintf(fd, "via /dev/stdout\n");
    close(fd);
    fd = open("/proc/self/fd/1", O_WRONLY | O_APPEND);
    dprintf(fd, "via /proc/self/fd/1\n");
    close(fd);
    return 0;
}

// Named pipes, mknod, fallocate and chown in the current directory (a
// share in the VM): run in a VM and natively, the output must be the same.
// argv[1] = "guest" adds what differs by design (device nodes: EPERM).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void show(const char* what, long r) {
    printf("%-40s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
    errno = 0;
}
#define SHOW(expr) show(#expr, (long)(expr))

int main(int argc, char** argv) {
    char buf[32];
    struct stat st, a;
    SHOW(mkfifo("fifo", 0640));
    SHOW(mkfifo("fifo", 0640));
    SHOW(stat("fifo", &st) == 0 && S_ISFIFO(st.st_mode) ? (long)(st.st_mode & 0777) : -1);
    SHOW(open("fifo", O_WRONLY | O_NONBLOCK));
    int r = open("fifo", O_RDONLY | O_NONBLOCK);
    SHOW(r >= 0);
    SHOW(read(r, buf, sizeof buf));
    int w = open("fifo", O_WRONLY | O_NONBLOCK);
    SHOW(w >= 0);
    SHOW(write(w, "hello fifo", 10));
    SHOW(fstat(r, &a) == 0 && a.st_ino == st.st_ino && a.st_dev == st.st_dev && S_ISFIFO(a.st_mode));
    SHOW(read(r, buf, sizeof buf));
    SHOW(memcmp(buf, "hello fifo", 10));
    SHOW(lseek(r, 0, SEEK_SET));
    int rw = open("fifo", O_RDWR);
    SHOW(rw >= 0);
    SHOW(write(rw, "x", 1));
    SHOW(read(r, buf, sizeof buf));
    close(w);
    close(rw);
    SHOW(read(r, buf, sizeof buf));
    close(r);
    SHOW(open("fifo", O_RDONLY | O_DIRECTORY));

    SHOW(mknod("node-fifo", S_IFIFO | 0600, 0));
    SHOW(stat("node-fifo", &st) == 0 && S_ISFIFO(st.st_mode));
    SHOW(mknod("node-reg", 0644, 0));
    SHOW(stat("node-reg", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
    SHOW(mknod("node-reg", 0644, 0));
    SHOW(mknod("node-bad", 0170000 | 0644, 0));

    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    SHOW(fallocate(fd, 0, 0, 65536));
    SHOW(fstat(fd, &st) == 0 ? st.st_size : -1);
    SHOW(stat("data", &st) == 0 ? st.st_size : -1);
    SHOW(fallocate(fd, FALLOC_FL_KEEP_SIZE, 65536, 65536));
    SHOW(fstat(fd, &st) == 0 ? st.st_size : -1);
    SHOW(fallocate(fd, 0, -1, 10));
    SHOW(fallocate(fd, 0, 0, 0));
    SHOW(fallocate(fd, 0x4000, 0, 10));
    int ro = open("data", O_RDONLY);
    SHOW(fallocate(ro, 0, 0, 10));
    close(ro);
    int p[2];
    pipe(p);
    SHOW(fallocate(p[1], 0, 0, 10));
    SHOW(write(fd, "abc", 3));
    SHOW(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    SHOW(pread(fd, buf, 3, 0) == 3 && buf[0] == 0);
    close(fd);

    SHOW(stat("data", &st));
    SHOW(chown("data", st.st_uid, st.st_gid));
    SHOW(chown("data", -1, -1));
    SHOW(lchown("data", st.st_uid, -1));
    SHOW(chown("missing", 0, 0));
    fd = open("data", O_RDONLY);
    SHOW(fchown(fd, st.st_uid, st.st_gid));
    SHOW(fchown(999, 0, 0));
    close(fd);
    SHOW(chown("/dev/null", 0, 0));
    SHOW(unlink("fifo") | unlink("node-fifo") | unlink("node-reg") | unlink("data"));
    if (argc > 1 && strcmp(argv[1], "guest") == 0) {
        // Device nodes: a VM's kernel hands out no host devices.
        SHOW(mknod("node-chr", S_IFCHR | 0600, makedev(1, 3)));
        SHOW(mknod("node-blk", S_IFBLK | 0600, makedev(8, 0)));
        // Giving a file away needs CAP_CHOWN on the host: the test checks
        // that the host file shows whatever this says (never a silent no-op).
        fd = open("owned", O_RDWR | O_CREAT, 0600);
        SHOW(fchown(fd, 4242, 4243));
        close(fd);
    }
    return 0;
}

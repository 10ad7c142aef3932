// memfd_create and seals, copies between descriptors (copy_file_range,
// splice, tee, sendfile), /proc/self/fd/N reopened as a new open file,
// mappings past a memfd's end (SIGBUS), chroot: run in the current directory (a share or /tmp in the VM) and
// natively, the output must be the same. System calls go through syscall()
// so glibc and musl builds make the same calls.
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x1U
#define MFD_ALLOW_SEALING 0x2U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x1
#define F_SEAL_SHRINK 0x2
#define F_SEAL_GROW 0x4
#define F_SEAL_WRITE 0x8
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x10
#endif
#define SPLICE_NONBLOCK 0x2

static void show(const char* what, long r) {
    printf("%-64s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
    errno = 0;
}
#define SHOW(expr) show(#expr, (long)(expr))

static int memfd(const char* name, unsigned flags) { return (int)syscall(SYS_memfd_create, name, flags); }

static void link_of(const char* what, int fd) {
    char p[64], t[256];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, t, sizeof t - 1);
    t[n < 0 ? 0 : n] = 0;
    printf("%s link: %s\n", what, n < 0 ? strerror(errno) : t);
}

static void contents(const char* what, int fd, off_t at, size_t len) {
    char b[256] = {0};
    ssize_t n = pread(fd, b, len < sizeof b ? len : sizeof b - 1, at);
    for (ssize_t i = 0; i < n; ++i)
        if (b[i] == 0)
            b[i] = '.';
    printf("%s: %zd \"%s\"\n", what, n, n > 0 ? b : "");
}

static void memfds(void) {
    puts("== memfd_create");
    int fd = memfd("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    printf("memfd %s, FD_CLOEXEC %d, access %d\n", fd >= 0 ? "ok" : strerror(errno), fcntl(fd, F_GETFD),
           fcntl(fd, F_GETFL) & O_ACCMODE);
    struct stat st;
    fstat(fd, &st);
    printf("fstat: mode %o nlink %lu size %ld uid %u\n", st.st_mode, (unsigned long)st.st_nlink, (long)st.st_size,
           st.st_uid);
    struct statfs sf;
    fstatfs(fd, &sf);
    printf("fstatfs: type %lx\n", (unsigned long)sf.f_type);
    link_of("memfd", fd);
    SHOW(write(fd, "hello world", 11));
    SHOW(lseek(fd, 0, SEEK_CUR));
    contents("pread", fd, 0, 11);
    SHOW(ftruncate(fd, 8192));
    char* shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("mmap shared %s\n", shared == MAP_FAILED ? strerror(errno) : "ok");
    shared[0] = 'H';
    shared[5000] = 'x';
    contents("read after map store", fd, 0, 5);
    contents("read at 5000", fd, 5000, 1);
    SHOW(pwrite(fd, "J", 1, 1));
    printf("map after pwrite: %.5s\n", shared);
    char* priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    priv[2] = 'P';
    contents("file after private store", fd, 0, 5);
    printf("private map: %.5s, shared map: %.5s\n", priv, shared);
    pid_t child = fork();
    if (child == 0) {
        shared[3] = 'C';  // a forked child's store through the shared mapping
        _exit(0);
    }
    waitpid(child, NULL, 0);
    contents("after child store", fd, 0, 5);
    munmap(priv, 4096);

    puts("== seals");
    SHOW(fcntl(fd, F_GET_SEALS));
    SHOW(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    SHOW(ftruncate(fd, 100));
    SHOW(ftruncate(fd, 9000));
    SHOW(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    SHOW(pwrite(fd, "abc", 3, 9000));
    SHOW(pwrite(fd, "abc", 3, 8998));
    SHOW(ftruncate(fd, 9001));
    SHOW(fallocate(fd, 0, 0, 20000));
    SHOW(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 20000));
    SHOW(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));  // EBUSY: a shared mapping may still write
    munmap(shared, 8192);
    void* rmap = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);  // of an O_RDWR descriptor: may write
    SHOW(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(rmap, 4096);
    void* cow = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);  // private: no matter
    SHOW(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    SHOW(fcntl(fd, F_GET_SEALS));
    munmap(cow, 4096);
    SHOW(pwrite(fd, "z", 1, 0));
    SHOW(write(fd, "z", 1));
    void* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    show("mmap(MAP_SHARED, PROT_WRITE) sealed", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    show("mmap(MAP_SHARED, PROT_READ) sealed", m == MAP_FAILED ? -1 : 0);
    m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    show("mmap(MAP_PRIVATE, PROT_WRITE) sealed", m == MAP_FAILED ? -1 : 0);
    SHOW(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    SHOW(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    SHOW(fcntl(fd, F_ADD_SEALS, 0x100));
    contents("sealed contents", fd, 0, 5);
    close(fd);

    int plain = memfd("plain", 0);
    printf("plain FD_CLOEXEC %d\n", fcntl(plain, F_GETFD));
    SHOW(fcntl(plain, F_GET_SEALS));
    SHOW(fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE));
    link_of("plain", plain);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", plain);
    int ro = open(path, O_RDONLY);
    SHOW(fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE));
    if (ro >= 0)
        close(ro);
    close(plain);

    char name[300];
    memset(name, 'n', sizeof name);
    name[249] = 0;
    int fd249 = memfd(name, 0);
    show("memfd_create(249-byte name)", fd249 < 0 ? -1 : 0);
    if (fd249 >= 0)
        close(fd249);
    name[249] = 'n';
    name[250] = 0;
    SHOW(memfd(name, 0));
    SHOW(memfd("bad", 0x100));
    SHOW(memfd(NULL, 0));
    int p[2];
    pipe(p);
    SHOW(fcntl(p[0], F_GET_SEALS));
    close(p[0]);
    close(p[1]);
}

static long cfr(int in, off_t* oin, int out, off_t* oout, size_t len, unsigned flags) {
    return syscall(SYS_copy_file_range, in, oin, out, oout, len, flags);
}
static long splice_(int in, off_t* oin, int out, off_t* oout, size_t len, unsigned flags) {
    return syscall(SYS_splice, in, oin, out, oout, len, flags);
}
static long tee_(int in, int out, size_t len, unsigned flags) { return syscall(SYS_tee, in, out, len, flags); }

static void drain(const char* what, int fd) {
    char b[200];
    ssize_t n = read(fd, b, sizeof b - 1);
    b[n < 0 ? 0 : n] = 0;
    printf("%s: %zd \"%s\"\n", what, n, n < 0 ? strerror(errno) : b);
}

static void copies(void) {
    puts("== copy_file_range");
    int fd = open("src.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789abcdefghijklmnopqrstuvwxyz", 36);
    int in = open("src.txt", O_RDONLY);
    int out = open("dst.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    SHOW(cfr(in, NULL, out, NULL, 10, 0));
    SHOW(lseek(in, 0, SEEK_CUR));
    SHOW(lseek(out, 0, SEEK_CUR));
    off_t oin = 20, oout = 100;
    SHOW(cfr(in, &oin, out, &oout, 100, 0));
    printf("offsets after: in %ld out %ld, file offsets %ld %ld\n", (long)oin, (long)oout, (long)lseek(in, 0, SEEK_CUR),
           (long)lseek(out, 0, SEEK_CUR));
    contents("dst", out, 0, 120);
    oin = 1000;
    SHOW(cfr(in, &oin, out, NULL, 5, 0));
    SHOW(cfr(in, NULL, out, NULL, 5, 1));
    int p[2];
    pipe(p);
    SHOW(cfr(in, NULL, p[1], NULL, 5, 0));
    SHOW(cfr(p[0], NULL, out, NULL, 5, 0));
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    SHOW(cfr(dir, NULL, out, NULL, 5, 0));
    close(dir);
    int app = open("dst.txt", O_WRONLY | O_APPEND);
    SHOW(cfr(in, NULL, app, NULL, 5, 0));
    close(app);
    SHOW(cfr(out, NULL, in, NULL, 5, 0));
    oin = 0;
    oout = 4;
    SHOW(cfr(fd, &oin, fd, &oout, 8, 0));
    oout = 40;
    SHOW(cfr(fd, &oin, fd, &oout, 8, 0));
    contents("src after self copy", fd, 36, 20);
    int m1 = memfd("a", 0), m2 = memfd("b", 0);
    write(m1, "memory", 6);
    oin = 0;
    SHOW(cfr(m1, &oin, m2, NULL, 6, 0));
    contents("memfd copy", m2, 0, 6);
    close(m1);
    close(m2);

    puts("== splice");
    SHOW(splice_(in, NULL, out, NULL, 5, 0));
    oin = 3;
    SHOW(splice_(in, &oin, p[1], NULL, 7, 0));
    printf("in offset %ld, file offset %ld\n", (long)oin, (long)lseek(in, 0, SEEK_CUR));
    SHOW(splice_(in, NULL, p[1], NULL, 4, 0));
    printf("file offset %ld\n", (long)lseek(in, 0, SEEK_CUR));
    oout = 0;
    SHOW(splice_(p[0], NULL, out, &oout, 5, 0));
    contents("dst head", out, 0, 10);
    SHOW(splice_(p[0], &oin, out, NULL, 5, 0));
    SHOW(splice_(in, NULL, p[1], &oin, 5, 0));
    int q[2];
    pipe(q);
    SHOW(splice_(p[0], NULL, q[1], NULL, 100, 0));
    drain("second pipe", q[0]);
    SHOW(splice_(p[0], NULL, q[1], NULL, 100, SPLICE_NONBLOCK));
    SHOW(splice_(p[0], NULL, p[1], NULL, 100, 0));
    app = open("dst.txt", O_WRONLY | O_APPEND);
    write(p[1], "x", 1);
    SHOW(splice_(p[0], NULL, app, NULL, 5, 0));
    close(app);
    SHOW(splice_(p[0], NULL, out, NULL, 5, 0));
    SHOW(splice_(in, NULL, p[0], NULL, 5, 0));
    SHOW(splice_(in, NULL, p[1], NULL, 0, 0));
    SHOW(splice_(in, NULL, p[1], NULL, 5, 0x100));
    // A full pipe: SPLICE_F_NONBLOCK says EAGAIN instead of sleeping.
    fcntl(q[1], F_SETFL, O_NONBLOCK);
    static char big[65536];
    long filled = 0, w;
    while ((w = write(q[1], big, sizeof big)) > 0)
        filled += w;
    printf("pipe filled with %ld bytes\n", filled);
    SHOW(splice_(in, NULL, q[1], NULL, 5, SPLICE_NONBLOCK));
    close(q[0]);
    close(q[1]);
    // EOF: no writer left.
    close(p[1]);
    SHOW(splice_(p[0], NULL, out, NULL, 5, 0));
    close(p[0]);
    // Sockets: pipe to socket and socket to pipe.
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    write(p[1], "through a socket", 16);
    SHOW(splice_(p[0], NULL, sv[0], NULL, 100, 0));
    SHOW(splice_(sv[1], NULL, p[1], NULL, 100, 0));
    drain("back from the socket", p[0]);

    puts("== tee and vmsplice");
    pipe(q);
    write(p[1], "tee data", 8);
    SHOW(tee_(p[0], q[1], 100, 0));
    drain("tee copy", q[0]);
    drain("tee source", p[0]);
    SHOW(tee_(p[0], q[1], 100, SPLICE_NONBLOCK));
    SHOW(tee_(p[0], p[1], 100, 0));
    SHOW(tee_(in, q[1], 100, 0));
    SHOW(tee_(p[0], q[1], 0, 0));
    struct iovec iov[2] = {{"vm", 2}, {"splice", 6}};
    SHOW(syscall(SYS_vmsplice, p[1], iov, 2, 0));
    drain("vmsplice", p[0]);
    write(p[1], "gather", 6);
    char b1[3] = {0}, b2[8] = {0};
    struct iovec rio[2] = {{b1, 2}, {b2, 7}};
    SHOW(syscall(SYS_vmsplice, p[0], rio, 2, 0));
    printf("vmsplice read: %s %s\n", b1, b2);
    SHOW(syscall(SYS_vmsplice, in, iov, 2, 0));

    puts("== sendfile");
    oin = 30;
    SHOW(sendfile(p[1], in, &oin, 100));
    drain("sendfile to pipe", p[0]);
    lseek(in, 0, SEEK_SET);
    SHOW(sendfile(sv[0], in, NULL, 6));
    drain("sendfile to socket", sv[1]);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    close(in);
    close(out);
    close(fd);
    unlink("src.txt");
    unlink("dst.txt");
}

static int reopen(int fd, int flags) {
    char p[64];
    snprintf(p, sizeof p, "/dev/fd/%d", fd);
    return open(p, flags);
}

static void same_file(const char* what, int a, int b) {
    struct stat sa, sb;
    fstat(a, &sa);
    fstat(b, &sb);
    printf("%s: same file %d\n", what, sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

static void reopens(void) {
    puts("== /dev/fd/N and /proc/self/fd/N reopen");
    int fd = open("r.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    close(fd);
    fd = open("r.txt", O_RDONLY);
    char b[8] = {0};
    read(fd, b, 3);
    int again = reopen(fd, O_RDONLY);
    printf("reopened %s; offsets %ld and %ld\n", again >= 0 ? "ok" : strerror(errno), (long)lseek(fd, 0, SEEK_CUR),
           (long)lseek(again, 0, SEEK_CUR));
    same_file("r.txt", fd, again);
    read(again, b, 3);
    printf("new description reads \"%s\"; old offset still %ld\n", b, (long)lseek(fd, 0, SEEK_CUR));
    int w = reopen(fd, O_WRONLY | O_APPEND);
    printf("write reopen of a read-only fd: %s, access %d, append %d\n", w >= 0 ? "ok" : strerror(errno),
           fcntl(w, F_GETFL) & O_ACCMODE, !!(fcntl(w, F_GETFL) & O_APPEND));
    SHOW(write(w, "AB", 2));
    contents("r.txt", fd, 0, 20);
    SHOW(write(fd, "x", 1));
    int t = reopen(fd, O_RDWR | O_TRUNC);
    struct stat st;
    fstat(fd, &st);
    printf("O_TRUNC reopen: %s, size %ld\n", t >= 0 ? "ok" : strerror(errno), (long)st.st_size);
    SHOW(reopen(fd, O_RDONLY | O_DIRECTORY));
    SHOW(fchmod(fd, 0644));
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    SHOW(chmod(path, 0600));
    fstat(fd, &st);
    printf("mode after chmod through the link: %o\n", st.st_mode & 07777);
    struct timespec ts[2] = {{1000000000, 0}, {1200000000, 0}};
    SHOW(utimensat(AT_FDCWD, path, ts, 0));
    fstat(fd, &st);
    printf("mtime after utimensat through the link: %ld\n", (long)st.st_mtime);
    close(w);
    close(t);
    close(again);
    close(fd);
    unlink("r.txt");

    int dir = open(".", O_RDONLY | O_DIRECTORY);
    int d2 = reopen(dir, O_RDONLY | O_DIRECTORY);
    show("directory reopen", d2 < 0 ? -1 : 0);
    same_file(".", dir, d2);
    SHOW(reopen(dir, O_WRONLY));
    close(d2);
    close(dir);

    int p[2];
    pipe(p);
    int pw = reopen(p[0], O_WRONLY);
    show("write end from the read end", pw < 0 ? -1 : 0);
    SHOW(write(pw, "via reopen", 10));
    drain("pipe", p[0]);
    int pr = reopen(p[1], O_RDONLY);
    write(p[1], "other way", 9);
    drain("pipe reopened for reading", pr);
    close(p[1]);
    close(pw);
    SHOW(read(p[0], b, 1));
    close(p[0]);
    close(pr);

    int m = memfd("re", 0);
    write(m, "memfd text", 10);
    int m2 = reopen(m, O_RDONLY);
    printf("memfd reopen: offsets %ld %ld\n", (long)lseek(m, 0, SEEK_CUR), (long)lseek(m2, 0, SEEK_CUR));
    same_file("memfd", m, m2);
    contents("memfd via reopen", m2, 0, 10);
    link_of("memfd reopened", m2);
    close(m);
    close(m2);

    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    SHOW(reopen(sv[0], O_RDWR));
    close(sv[0]);
    close(sv[1]);
    SHOW(open("/dev/fd/999", O_RDONLY));
    int n = open("/dev/null", O_WRONLY);
    int n2 = reopen(n, O_RDONLY);
    printf("/dev/null reopened for reading: access %d, read %ld\n", fcntl(n2, F_GETFL) & O_ACCMODE, (long)read(n2, b, 1));
    close(n);
    close(n2);
}

static void cwd_is(const char* what) {
    char b[4096];
    long n = syscall(SYS_getcwd, b, sizeof b);  // raw: libcs refuse "(unreachable)"
    if (n < 0)
        printf("%s: getcwd %s\n", what, strerror(errno));
    else
        printf("%s: getcwd %s\n", what, strncmp(b, "(unreachable)", 13) == 0 ? "(unreachable)..." : b);
}

static void cat(const char* path) {
    char b[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("cat %s: %s\n", path, strerror(errno));
        return;
    }
    ssize_t n = read(fd, b, sizeof b - 1);
    printf("cat %s: %zd \"%s\"\n", path, n, b);
    close(fd);
}

static void chroots(void) {
    puts("== chroot");
    mkdir("jail", 0755);
    mkdir("jail/sub", 0755);
    int fd = open("jail/sub/f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "in jail", 7);
    close(fd);
    fd = open("outside", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "outside", 7);
    close(fd);
    SHOW(chroot("no-such-dir"));
    SHOW(chroot("outside"));
    int proc = open("/proc", O_RDONLY | O_DIRECTORY);
    pid_t child = fork();
    if (child == 0) {
        SHOW(chroot("jail"));
        cwd_is("after chroot, before chdir");
        cat("outside");  // the working directory is still outside the new root
        SHOW(chdir("/"));
        cwd_is("after chdir /");
        cat("/sub/f");
        cat("/../../sub/f");
        cat("../sub/f");
        cat("/outside");
        SHOW(chdir("sub"));
        cwd_is("in sub");
        // /proc reached through a descriptor opened before the chroot: its
        // links read as seen from the new root (Linux's d_path).
        char seen[256] = {0};
        SHOW(readlinkat(proc, "self/cwd", seen, sizeof seen - 1));
        printf("self/cwd in the jail: %s\n", seen);
        int held = open("/sub", O_RDONLY | O_DIRECTORY);  // directories keep their path (docs/compat.md)
        char fdlink[64];
        snprintf(fdlink, sizeof fdlink, "self/fd/%d", held);
        memset(seen, 0, sizeof seen);
        SHOW(readlinkat(proc, fdlink, seen, sizeof seen - 1));
        printf("fd link in the jail: %s\n", seen);
        close(held);
        SHOW(chdir("../.."));
        cwd_is("after ../..");
        struct stat a, b;
        stat("/", &a);
        stat("/..", &b);
        printf("/ and /.. are the same: %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        SHOW(mkdir("/made", 0755));
        SHOW(chroot("/sub"));
        cat("/f");
        cwd_is("after a second chroot");
        SHOW(setuid(1000));
        SHOW(chroot("/"));
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child status %d\n", status);
    close(proc);
    struct stat st;
    SHOW(stat("jail/made", &st));
    unlink("jail/sub/f");
    rmdir("jail/sub");
    rmdir("jail/made");
    rmdir("jail");
    unlink("outside");
}

// A mapping of a memfd past the file's end: SIGBUS (BUS_ADRERR) for the
// pages wholly beyond it, EFAULT when the kernel reads them, and the
// pages come back when the file grows.
static sigjmp_buf g_jump;
static volatile int g_code;
static void on_bus(int sig, siginfo_t* info, void* ctx) {
    (void)sig;
    (void)ctx;
    g_code = info->si_code;
    siglongjmp(g_jump, 1);
}

static void past_eof(void) {
    puts("== mapping past the end");
    int fd = memfd("eof", 0);
    SHOW(ftruncate(fd, 100));
    volatile char* p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    printf("byte 4095: %d\n", p[4095]);
    if (!sigsetjmp(g_jump, 1))
        printf("byte 4096: %d\n", p[4096]);
    else
        printf("byte 4096: SIGBUS code %d\n", g_code);
    if (!sigsetjmp(g_jump, 1)) {
        p[8192] = 1;
        printf("store at 8192: ok\n");
    } else {
        printf("store at 8192: SIGBUS code %d\n", g_code);
    }
    int pp[2];
    pipe(pp);
    SHOW(write(pp[1], (const char*)p + 4096, 1));
    close(pp[0]);
    close(pp[1]);
    SHOW(ftruncate(fd, 5000));
    printf("after growing, byte 4096: %d\n", p[4096]);
    signal(SIGBUS, SIG_DFL);
    munmap((void*)p, 3 * 4096);
    close(fd);
}

// RLIMIT_NOFILE's soft limit bounds new descriptors: open beyond it is
// EMFILE, dup2 to it EBADF, F_DUPFD from it EINVAL (as Linux).
static void fd_limit(void) {
    struct rlimit old, lim;
    getrlimit(RLIMIT_NOFILE, &old);
    lim.rlim_cur = 16;
    lim.rlim_max = old.rlim_max;
    printf("setrlimit NOFILE 16: %d\n", setrlimit(RLIMIT_NOFILE, &lim));
    int last = -1, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0)
        last = fd;
    printf("open until full: last fd %d, then %s\n", last, strerror(errno));
    int r = dup2(0, 16);
    printf("dup2(0, 16): %d %s\n", r, r < 0 ? strerror(errno) : "");
    r = fcntl(0, F_DUPFD, 16);
    printf("F_DUPFD 16: %d %s\n", r, r < 0 ? strerror(errno) : "");
    r = fcntl(0, F_DUPFD, 3);
    printf("F_DUPFD 3 when full: %d %s\n", r, r < 0 ? strerror(errno) : "");
    for (fd = 3; fd <= last; ++fd)
        close(fd);
    printf("restore: %d\n", setrlimit(RLIMIT_NOFILE, &old));
    fd = open("/dev/null", O_RDONLY);
    printf("open after restore: %s\n", fd >= 0 ? "ok" : strerror(errno));
    close(fd);
}

int main(int argc, char** argv) {
    (void)argc;
    (void)argv;
    setvbuf(stdout, NULL, _IONBF, 0);
    memfds();
    past_eof();
    copies();
    reopens();
    chroots();
    fd_limit();
    return 0;
}

// File locks (flock, POSIX and OFD record locks), sync and I/O hints,
// preadv2/pwritev2, the old utime calls, mlockall: run in the current
// directory (a share in the VM) and natively, the output must be the same.
// argv[1] = "guest" adds what differs by design: the capabilities of root
// in its VM and sethostname/setdomainname (a native run would rename the
// host).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

// <linux/capability.h> is not in musl's include path: the two structs and
// the constants used here (man 2 capget).
struct cap_header {
    unsigned version;
    int pid;
};
struct cap_data {
    unsigned effective, permitted, inheritable;
};
#define CAP_VERSION_3 0x20080522
#define CAP_SYS_ADMIN 21
#ifndef RWF_DSYNC
#define RWF_DSYNC 0x2
#define RWF_APPEND 0x10
#endif

static void show(const char* what, long r) {
    printf("%-60s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
    errno = 0;
}
#define SHOW(expr) show(#expr, (long)(expr))

// A record-lock query: what conflicts with a write lock on [start, start+len).
static void getlk(const char* what, int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    errno = 0;
    int r = fcntl(fd, cmd, &fl);
    if (r < 0) {
        printf("%-60s -1 %s\n", what, strerror(errno));
        return;
    }
    printf("%-60s type %s start %ld len %ld pid %s\n", what,
           fl.l_type == F_UNLCK ? "unlck" : fl.l_type == F_WRLCK ? "wrlck" : "rdlck", (long)fl.l_start,
           (long)fl.l_len, fl.l_type == F_UNLCK ? "-" : fl.l_pid == -1 ? "-1" : fl.l_pid == getpid() ? "self" : "other");
}

static int setlk(int fd, int cmd, short type, short whence, off_t start, off_t len, pid_t pid) {
    struct flock fl = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = len, .l_pid = pid};
    return fcntl(fd, cmd, &fl);
}

static void locks(void) {
    int a = open("locked", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int b = open("locked", O_RDWR);
    int ro = open("locked", O_RDONLY);
    SHOW(write(a, "0123456789abcdef", 16));
    // flock: per open file description.
    SHOW(flock(a, LOCK_EX));
    SHOW(flock(b, LOCK_EX | LOCK_NB));
    SHOW(flock(b, LOCK_SH | LOCK_NB));
    SHOW(flock(a, LOCK_EX | LOCK_NB));
    int dupa = dup(a);
    SHOW(flock(dupa, LOCK_UN));
    SHOW(flock(b, LOCK_SH | LOCK_NB));
    SHOW(flock(a, LOCK_SH | LOCK_NB));
    SHOW(flock(a, LOCK_EX | LOCK_NB));
    close(dupa);
    SHOW(flock(b, LOCK_UN));
    SHOW(flock(a, LOCK_EX | LOCK_NB));
    SHOW(flock(a, LOCK_NB));
    SHOW(flock(a, LOCK_SH | LOCK_EX));
    SHOW(flock(-1, LOCK_SH));
    SHOW(flock(a, LOCK_UN));
    // OFD locks: owned by the open file description.
    SHOW(setlk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10, 0));
    getlk("OFD_GETLK b wr [5,6)", b, F_OFD_GETLK, F_WRLCK, 5, 1);
    getlk("OFD_GETLK a wr [5,6) (its own)", a, F_OFD_GETLK, F_WRLCK, 5, 1);
    SHOW(setlk(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 20, 5, 0));
    SHOW(setlk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1, 0));
    SHOW(setlk(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 9, 2, 0));
    SHOW(setlk(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 0, 1, 1234));
    getlk("OFD_GETLK a rd [0,100)", a, F_OFD_GETLK, F_RDLCK, 0, 100);
    getlk("OFD_GETLK a wr [15,100)", a, F_OFD_GETLK, F_WRLCK, 15, 100);
    getlk("GETLK wr [0,1) (process vs a's OFD lock)", a, F_GETLK, F_WRLCK, 0, 1);
    // Split: unlock the middle of a's lock.
    SHOW(setlk(a, F_OFD_SETLK, F_UNLCK, SEEK_SET, 3, 4, 0));
    getlk("OFD_GETLK b wr [3,7)", b, F_OFD_GETLK, F_WRLCK, 3, 4);
    getlk("OFD_GETLK b wr [2,3)", b, F_OFD_GETLK, F_WRLCK, 2, 1);
    getlk("OFD_GETLK b wr [7,8)", b, F_OFD_GETLK, F_WRLCK, 7, 1);
    SHOW(setlk(b, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0, 0));
    // POSIX locks: owned by the process; its own never conflict.
    SHOW(setlk(a, F_SETLK, F_WRLCK, SEEK_SET, 100, 10, 0));
    SHOW(setlk(b, F_SETLK, F_WRLCK, SEEK_SET, 100, 10, 0));
    getlk("GETLK wr [100,110) (own lock)", b, F_GETLK, F_WRLCK, 100, 10);
    getlk("OFD_GETLK b wr [0,0=EOF)", b, F_OFD_GETLK, F_WRLCK, 0, 0);
    SHOW(setlk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 105, 1, 0));
    SHOW(setlk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1, 0));
    SHOW(setlk(a, F_SETLK, 7, SEEK_SET, 0, 1, 0));
    SHOW(setlk(a, F_SETLK, F_RDLCK, 9, 0, 1, 0));
    SHOW(setlk(a, F_SETLK, F_RDLCK, SEEK_SET, -1, 1, 0));
    SHOW(setlk(a, F_SETLK, F_RDLCK, SEEK_SET, 5, -10, 0));
    SHOW(setlk(a, F_SETLK, F_RDLCK, SEEK_END, -4, 2, 0));
    getlk("OFD_GETLK b wr [12,13) (SEEK_END lock)", b, F_OFD_GETLK, F_WRLCK, 12, 1);
    // Closing any descriptor of the file drops the process's POSIX locks.
    close(ro);
    getlk("OFD_GETLK b wr [100,110) after close(ro)", b, F_OFD_GETLK, F_WRLCK, 100, 10);
    // Closing a releases its OFD locks.
    SHOW(setlk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 0, 0));
    SHOW(setlk(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 0, 1, 0));
    close(a);
    SHOW(setlk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 0, 0));
    close(b);
    unlink("locked");
}

// Between processes: a forked child does not own its parent's POSIX locks
// (and waits for them in F_SETLKW) but shares its flock through the
// inherited open file; a child's locks go when it exits.
static void process_locks(void) {
    int fd = open("plock", O_RDWR | O_CREAT | O_TRUNC, 0644);
    SHOW(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10, 0));
    SHOW(flock(fd, LOCK_EX));
    pid_t pid = fork();
    if (pid == 0) {
        getlk("child: GETLK wr [0,1)", fd, F_GETLK, F_WRLCK, 0, 1);
        SHOW(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1, 0));
        SHOW(flock(fd, LOCK_EX | LOCK_NB));
        int other = open("plock", O_RDWR);
        SHOW(flock(other, LOCK_EX | LOCK_NB));
        SHOW(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 20, 10, 0));
        SHOW(setlk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1, 0));
        printf("child: got the lock its parent released\n");
        _exit(0);
    }
    usleep(300000);
    getlk("parent: GETLK wr [20,30) (the child's)", fd, F_GETLK, F_WRLCK, 20, 10);
    printf("parent: unlocks\n");
    fflush(stdout);
    // The child prints as soon as the unlock wakes it: the parent's result
    // is printed after the child ended, so the order never depends on the
    // scheduler (natively either could print first).
    long unlocked = setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0, 0);
    int status = 0;
    waitpid(pid, &status, 0);
    show("setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0, 0)", unlocked);
    printf("child exit %d\n", WEXITSTATUS(status));
    getlk("parent: GETLK wr [0,30) after the child exited", fd, F_GETLK, F_WRLCK, 0, 30);
    close(fd);
    unlink("plock");
}

static void hints(void) {
    int fd = open("hints", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int p[2];
    SHOW(pipe(p));
    sync();
    SHOW(syncfs(fd));
    SHOW(syncfs(-1));
    SHOW(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
    SHOW(sync_file_range(fd, 0, 0, 8));
    SHOW(sync_file_range(fd, -1, 0, 0));
    SHOW(sync_file_range(p[0], 0, 0, 0));
    SHOW(readahead(fd, 0, 4096));
    SHOW(readahead(p[0], 0, 4096));
    SHOW(readahead(99, 0, 4096));
    SHOW(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    SHOW(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
    SHOW(posix_fadvise(fd, 0, 0, 99));
    SHOW(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL));
    SHOW(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL));
    SHOW(posix_fadvise(99, 0, 0, POSIX_FADV_NORMAL));
    // preadv2/pwritev2 (raw: not every libc wraps them).
    char buf[16] = {0};
    struct iovec w = {"hello", 5}, r = {buf, sizeof buf - 1};
    SHOW(syscall(SYS_pwritev2, fd, &w, 1, 0L, 0L, 0));
    SHOW(syscall(SYS_pwritev2, fd, &w, 1, -1L, 0L, 0));
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(syscall(SYS_pwritev2, fd, &w, 1, 2L, 0L, RWF_DSYNC));
    SHOW(lseek(fd, 0, SEEK_SET));
    SHOW(syscall(SYS_pwritev2, fd, &w, 1, -1L, 0L, RWF_APPEND));
    SHOW(syscall(SYS_preadv2, fd, &r, 1, 0L, 0L, 0));
    printf("read back: %s\n", buf);
    SHOW(syscall(SYS_preadv2, fd, &r, 1, 0L, 0L, 0x40000000));
    SHOW(syscall(SYS_preadv2, p[0], &r, 1, 0L, 0L, 0));
    close(fd);
    close(p[0]);
    close(p[1]);
    // utime, utimes, futimesat.
    struct stat st;
    struct utimbuf ub = {.actime = 1000000000, .modtime = 1100000000};
    SHOW(utime("hints", &ub));
    stat("hints", &st);
    printf("utime: atime %ld mtime %ld\n", (long)st.st_atime, (long)st.st_mtime);
    struct timeval tv[2] = {{1200000000, 250000}, {1300000000, 500000}};
    SHOW(utimes("hints", tv));
    stat("hints", &st);
    printf("utimes: atime %ld.%09ld mtime %ld.%09ld\n", (long)st.st_atime, st.st_atim.tv_nsec, (long)st.st_mtime,
           st.st_mtim.tv_nsec);
    tv[1].tv_usec = 1000000;
    SHOW(utimes("hints", tv));
    tv[1].tv_usec = 0;
    SHOW(syscall(SYS_futimesat, AT_FDCWD, "hints", tv));
    stat("hints", &st);
    printf("futimesat: mtime %ld\n", (long)st.st_mtime);
    SHOW(utimes("no-such-file", tv));
    unlink("hints");
    // Memory locking: nothing is paged out, the flags are checked.
    SHOW(mlockall(MCL_CURRENT));
    SHOW(munlockall());
    SHOW(mlockall(0));
    SHOW(mlockall(MCL_ONFAULT));
    static char page[4096] __attribute__((aligned(4096)));
    SHOW(syscall(SYS_mlock2, page, sizeof page, 1));
    SHOW(syscall(SYS_mlock2, page, sizeof page, 2));
    SHOW(munlock(page, sizeof page));
    // capget: an unknown version is EINVAL and reports the preferred one.
    struct cap_header h = {0x12345, 0};
    SHOW(syscall(SYS_capget, &h, NULL));
    printf("preferred capability version %#x\n", h.version);
    h.pid = -1;
    SHOW(syscall(SYS_capget, &h, NULL));
}

static void guest_only(void) {
    struct cap_header h = {CAP_VERSION_3, 0};
    struct cap_data d[2];
    SHOW(syscall(SYS_capget, &h, d));
    printf("caps eff %08x%08x prm %08x%08x inh %08x%08x\n", d[1].effective, d[0].effective, d[1].permitted,
           d[0].permitted, d[1].inheritable, d[0].inheritable);
    struct utsname u;
    SHOW(sethostname("myvm", 4));
    SHOW(setdomainname("example.org", 11));
    uname(&u);
    printf("uname: %s %s\n", u.nodename, u.domainname);
    static char long_name[66];
    memset(long_name, 'x', 65);
    SHOW(sethostname(long_name, 65));
    char name[64];
    SHOW(gethostname(name, sizeof name));
    printf("gethostname: %s\n", name);
    d[0].effective &= ~(1u << CAP_SYS_ADMIN);
    SHOW(syscall(SYS_capset, &h, d));
    SHOW(sethostname("other", 5));
    d[0].effective |= 1u << CAP_SYS_ADMIN;
    SHOW(syscall(SYS_capset, &h, d));
    SHOW(sethostname("again", 5));
    d[0].permitted &= ~(1u << CAP_SYS_ADMIN);
    d[0].effective &= ~(1u << CAP_SYS_ADMIN);
    SHOW(syscall(SYS_capset, &h, d));
    d[0].effective |= 1u << CAP_SYS_ADMIN;
    SHOW(syscall(SYS_capset, &h, d));
    d[0].permitted |= 1u << CAP_SYS_ADMIN;
    SHOW(syscall(SYS_capset, &h, d));
    SHOW(sethostname("never", 5));
    h.pid = 4242;
    SHOW(syscall(SYS_capset, &h, d));
    uname(&u);
    printf("uname: %s %s\n", u.nodename, u.domainname);
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "enosys") == 0) {
        // A number x86-64 never assigned (335-423 stay free): --stats lists it.
        for (int i = 0; i < 3; ++i)
            SHOW(syscall(400));
        return 0;
    }
    locks();
    process_locks();
    hints();
    if (argc > 1 && strcmp(argv[1], "guest") == 0)
        guest_only();
    return 0;
}

// File permissions as a non-root user sees them (lightvm run --user):
// run inside a VM and natively as the same uid over the same fixture
// (tests/system/users_test.sh makes it as root), the output must match.
//   perms DIR   DIR holds: root600 (0:0 0600), mine600 (U:G 0600),
//               root644 (0:0 0644), group640 (0:G 0640), secret/ (0:0 0700)
//               with inner, sticky/ (0:0 1777) with rootfile (0:0 0644),
//               rodir/ (0:0 0755), mydir/ (U:G 0755)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static const char* dir;

// capget's header and data (linux/capability.h, which musl's toolchain lacks).
struct cap_header {
    unsigned version;
    int pid;
};
struct cap_data {
    unsigned effective, permitted, inheritable;
};

static const char* at(const char* name) {
    static char buf[4][4096];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

// One line per call: what it did, then ok or the errno's name.
static void report(const char* what, long r) {
    const char* e = r >= 0 ? "ok" : errno == EACCES ? "EACCES" : errno == EPERM ? "EPERM" : errno == ENOENT ? "ENOENT"
                                      : errno == EEXIST ? "EEXIST" : errno == ENOTDIR ? "ENOTDIR" : strerror(errno);
    printf("%-44s %s\n", what, e);
}

static long open_close(const char* path, int flags) {
    int fd = open(path, flags, 0644);
    if (fd >= 0)
        close(fd);
    return fd;
}

static void opens(void) {
    report("open root600 r", open_close(at("root600"), O_RDONLY));
    report("open mine600 rw", open_close(at("mine600"), O_RDWR));
    report("open root644 r", open_close(at("root644"), O_RDONLY));
    report("open root644 w", open_close(at("root644"), O_WRONLY));
    report("open root644 r trunc", open_close(at("root644"), O_RDONLY | O_TRUNC));
    report("open group640 r", open_close(at("group640"), O_RDONLY));
    report("open group640 w", open_close(at("group640"), O_WRONLY));
    report("open secret/inner r (no search)", open_close(at("secret/inner"), O_RDONLY));
    report("opendir secret", open_close(at("secret"), O_RDONLY | O_DIRECTORY));
    struct stat st;
    report("stat secret", stat(at("secret"), &st));
    report("stat secret/inner", stat(at("secret/inner"), &st));
    report("chdir secret", chdir(at("secret")));
}

static void names(void) {
    report("create rodir/new", open_close(at("rodir/new"), O_WRONLY | O_CREAT));
    report("mkdir rodir/d", mkdir(at("rodir/d"), 0755));
    report("mkdir rodir (exists)", mkdir(at("rodir"), 0755));
    report("unlink root644 (dir not writable)", unlink(at("root644")));
    report("rename root644 -> mydir/x", rename(at("root644"), at("mydir/x")));
    report("link root600 mydir/l (protected)", link(at("root600"), at("mydir/l")));
    report("create mydir/new", open_close(at("mydir/new"), O_WRONLY | O_CREAT | O_EXCL));
    report("append mydir/new again", open_close(at("mydir/new"), O_WRONLY | O_APPEND));
    struct stat st;
    stat(at("mydir/new"), &st);
    printf("%-44s %s\n", "mydir/new owned by me", st.st_uid == getuid() && st.st_gid == getgid() ? "yes" : "no");
    report("link mydir/new mydir/l2 (own file)", link(at("mydir/new"), at("mydir/l2")));
    report("unlink mydir/l2", unlink(at("mydir/l2")));
    report("mkdir mydir/sub", mkdir(at("mydir/sub"), 0700));
    report("rename mydir/new -> mydir/sub/new", rename(at("mydir/new"), at("mydir/sub/new")));
    report("unlink mydir/sub/new", unlink(at("mydir/sub/new")));
    report("rmdir mydir/sub", rmdir(at("mydir/sub")));
    report("unlink sticky/rootfile (sticky)", unlink(at("sticky/rootfile")));
    report("create sticky/mine", open_close(at("sticky/mine"), O_WRONLY | O_CREAT | O_EXCL));
    report("unlink sticky/mine", unlink(at("sticky/mine")));
}

static void attributes(void) {
    report("chmod root644 0666", chmod(at("root644"), 0666));
    report("chmod mine600 0640", chmod(at("mine600"), 0640));
    report("chmod mine600 0600", chmod(at("mine600"), 0600));
    report("chown mine600 to root", chown(at("mine600"), 0, -1));
    report("chown mine600 to own ids", chown(at("mine600"), getuid(), getgid()));
    report("chown root644 unchanged ids", chown(at("root644"), 0, 0));
    report("utimes root644 now", utimes(at("root644"), NULL));
    struct timeval tv[2] = {{1000, 0}, {2000, 0}};
    report("utimes root644 explicit", utimes(at("root644"), tv));
    report("utimes group640 now (not owner, no w)", utimes(at("group640"), NULL));
    report("utimes mine600 explicit", utimes(at("mine600"), tv));
    report("truncate root644", truncate(at("root644"), 0));
    report("truncate mine600", truncate(at("mine600"), 0));
}

static void access_calls(void) {
    report("access root600 R_OK", access(at("root600"), R_OK));
    report("access root644 R_OK", access(at("root644"), R_OK));
    report("access root644 W_OK", access(at("root644"), W_OK));
    report("access group640 R_OK", access(at("group640"), R_OK));
    report("access mine600 R_OK|W_OK", access(at("mine600"), R_OK | W_OK));
    report("access mine600 X_OK", access(at("mine600"), X_OK));
    report("access secret/inner F_OK", access(at("secret/inner"), F_OK));
    report("faccessat root644 W_OK AT_EACCESS", faccessat(AT_FDCWD, at("root644"), W_OK, AT_EACCESS));
}

static void identity(void) {
    gid_t groups[8];
    int n = getgroups(8, groups);
    printf("uid %u euid %u gid %u egid %u groups %d:", getuid(), geteuid(), getgid(), getegid(), n);
    for (int i = 0; i < n; ++i)
        printf(" %u", groups[i]);
    printf("\n");
    struct cap_header h = {0x20080522, 0};  // _LINUX_CAPABILITY_VERSION_3
    struct cap_data d[2];
    syscall(SYS_capget, &h, d);
    printf("capabilities effective %x permitted %x\n", d[0].effective, d[0].permitted);
    report("setuid(0)", setuid(0));
    report("setgroups", setgroups(0, NULL));
}

// In a directory the user makes under /dev/shm (a tmpfs in the VM and on
// the host: root's, mode 1777).
static void tmp_dir(void) {
    char d[] = "/dev/shm/permsXXXXXX";
    if (!mkdtemp(d)) {
        perror("mkdtemp");
        exit(1);
    }
    dir = d;
    report("tmp: create f", open_close(at("f"), O_WRONLY | O_CREAT | O_EXCL));
    report("tmp: chmod f 0400", chmod(at("f"), 0400));
    report("tmp: open f w (0400)", open_close(at("f"), O_WRONLY));
    report("tmp: chown f to root", chown(at("f"), 0, -1));
    report("tmp: chmod dir 0500", chmod(d, 0500));
    report("tmp: create g in 0500 dir", open_close(at("g"), O_WRONLY | O_CREAT));
    report("tmp: unlink f in 0500 dir", unlink(at("f")));
    report("tmp: chmod dir 0000", chmod(d, 0));
    report("tmp: open f (no search)", open_close(at("f"), O_RDONLY));
    report("tmp: chmod dir 0700", chmod(d, 0700));
    report("tmp: unlink f", unlink(at("f")));
    report("tmp: rmdir", rmdir(d));
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: perms DIR\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    dir = argv[1];
    identity();
    opens();
    names();
    attributes();
    access_calls();
    tmp_dir();
    return 0;
}

// linkat with and without AT_SYMLINK_FOLLOW on a symlink, link() of a
// symlink (the link itself, as Linux), bad flags: run in a share and
// natively, the output must be the same. Symbolic links need a share (a
// tmpfs has none yet).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char* what, long r) {
    printf("%-60s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
    errno = 0;
}
#define SHOW(expr) show(#expr, (long)(expr))

static void same(const char* a, const char* b) {
    struct stat x, y;
    lstat(a, &x);
    lstat(b, &y);
    printf("%s and %s: %s, %s\n", a, b, x.st_ino == y.st_ino ? "same inode" : "different inodes",
           S_ISLNK(y.st_mode) ? "a symlink" : "not a symlink");
}

int main(void) {
    close(open("target", O_WRONLY | O_CREAT | O_TRUNC, 0644));
    SHOW(symlink("target", "sym"));
    SHOW(linkat(AT_FDCWD, "sym", AT_FDCWD, "followed", AT_SYMLINK_FOLLOW));
    same("target", "followed");
    SHOW(linkat(AT_FDCWD, "sym", AT_FDCWD, "nofollow", 0));
    same("sym", "nofollow");
    SHOW(link("sym", "plain"));
    same("sym", "plain");
    SHOW(linkat(AT_FDCWD, "sym", AT_FDCWD, "bad", 0x8000));
    SHOW(symlink("missing", "dangling"));
    SHOW(linkat(AT_FDCWD, "dangling", AT_FDCWD, "x", AT_SYMLINK_FOLLOW));
    SHOW(linkat(AT_FDCWD, "dangling", AT_FDCWD, "y", 0));
    const char* names[] = {"target", "sym", "followed", "nofollow", "plain", "dangling", "y"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
        unlink(names[i]);
    return 0;
}

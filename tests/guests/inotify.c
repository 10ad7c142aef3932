// inotify: watches on a directory and on a file, the events of the
// program's own changes (create, open, read, write, close, chmod, rename,
// link, unlink, mkdir, rmdir, truncate, xattrs), coalescing, IN_ONESHOT,
// IN_IGNORED, poll and FIONREAD, and the errors of inotify_add_watch and
// inotify_rm_watch. Run in the current directory (a share or a tmpfs in
// the VM) and natively: the output must be the same.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int g_fd, g_wd_dir, g_wd_file;

static void show(const char* what, long r) {
    printf("%-60s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
    errno = 0;
}
#define SHOW(expr) show(#expr, (long)(expr))

static const char* wd_name(int wd) {
    return wd == g_wd_dir ? "dir" : wd == g_wd_file ? "file" : wd == -1 ? "-1" : "other";
}

// Prints and consumes every queued event; cookies print as "c" (paired) or 0.
static void drain(const char* after) {
    static const struct {
        unsigned bit;
        const char* name;
    } bits[] = {{IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
                {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"},
                {IN_MOVED_TO, "MOVED_TO"}, {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"},
                {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"},
                {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"}};
    char buf[4096] __attribute__((aligned(8)));
    unsigned last_cookie = 0;
    printf("-- %s\n", after);
    for (;;) {
        ssize_t n = read(g_fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char* p = buf; p < buf + n;) {
            struct inotify_event* e = (struct inotify_event*)p;
            printf("   %s", wd_name(e->wd));
            for (size_t i = 0; i < sizeof bits / sizeof bits[0]; ++i)
                if (e->mask & bits[i].bit)
                    printf(" %s", bits[i].name);
            printf(" len %u %s cookie %s\n", e->len, e->len ? e->name : "-",
                   !e->cookie ? "0" : e->cookie == last_cookie ? "same" : "new");
            if (e->cookie)
                last_cookie = e->cookie;
            p += sizeof *e + e->len;
        }
    }
}

int main(void) {
    char buf[64];
    g_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    SHOW(g_fd >= 0);
    SHOW(read(g_fd, buf, sizeof buf));
    SHOW(mkdir("w", 0755));
    g_wd_dir = inotify_add_watch(g_fd, "w", IN_ALL_EVENTS);
    SHOW(g_wd_dir);

    int f = open("w/f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    SHOW(write(f, "hello\n", 6));
    SHOW(write(f, "again\n", 6));  // coalesced with the first MODIFY
    SHOW(close(f));
    drain("create, write twice, close");

    g_wd_file = inotify_add_watch(g_fd, "w/f", IN_ALL_EVENTS);
    SHOW(g_wd_file);
    SHOW(inotify_add_watch(g_fd, "w/f", IN_MODIFY | IN_MASK_ADD) == g_wd_file);
    f = open("w/f", O_RDONLY);
    SHOW(read(f, buf, sizeof buf));
    SHOW(read(f, buf, sizeof buf));  // end of file: no event
    struct pollfd pfd = {.fd = g_fd, .events = POLLIN};
    SHOW(poll(&pfd, 1, 0));
    int queued = 0;
    SHOW(ioctl(g_fd, FIONREAD, &queued));
    printf("FIONREAD %d\n", queued);
    SHOW(close(f));
    drain("open, read, close");
    SHOW(poll(&pfd, 1, 0));

    SHOW(chmod("w/f", 0600));
    drain("chmod");
    SHOW(rename("w/f", "w/g"));
    drain("rename");
    SHOW(link("w/g", "w/h"));
    drain("link");
    SHOW(unlink("w/h"));
    drain("unlink of one of two links");
    SHOW(truncate("w/g", 2));
    drain("truncate");
    SHOW(unlink("w/g"));
    drain("unlink of the last link");

    SHOW(mkdir("w/sub", 0700));
    SHOW(rmdir("w/sub"));
    drain("mkdir, rmdir");

    // IN_ONESHOT: one event, then the watch is gone.
    f = open("w/once", O_RDWR | O_CREAT, 0644);
    drain("create once");
    g_wd_file = inotify_add_watch(g_fd, "w/once", IN_MODIFY | IN_ONESHOT);
    SHOW(ftruncate(f, 10));
    SHOW(write(f, "x", 1));
    drain("oneshot: ftruncate, write");
    SHOW(close(f));
    SHOW(unlink("w/once"));
    drain("close, unlink");

    // Errors.
    SHOW(inotify_add_watch(g_fd, "w", IN_MODIFY | IN_MASK_CREATE));
    f = open("w/plain", O_RDWR | O_CREAT, 0644);
    SHOW(inotify_add_watch(g_fd, "w/plain", IN_MODIFY | IN_ONLYDIR));
    SHOW(inotify_add_watch(g_fd, "w/plain", 0));
    SHOW(inotify_add_watch(g_fd, "w/missing", IN_MODIFY));
    SHOW(inotify_add_watch(f, "w/plain", IN_MODIFY));
    SHOW(inotify_add_watch(-1, "w/plain", IN_MODIFY));
    SHOW(inotify_rm_watch(g_fd, 12345));
    SHOW(inotify_rm_watch(f, g_wd_dir));
    drain("errors");
    SHOW(chmod("w/plain", 0600));
    SHOW(read(g_fd, buf, 8));  // a buffer too small for the first event
    drain("small buffer");
    close(f);
    SHOW(unlink("w/plain"));
    drain("unlink plain");

    SHOW(inotify_rm_watch(g_fd, g_wd_dir));
    drain("rm_watch");
    SHOW(inotify_rm_watch(g_fd, g_wd_dir));
    SHOW(rmdir("w"));
    drain("rmdir w (no watch left)");
    char link[64] = {0};
    snprintf(buf, sizeof buf, "/proc/self/fd/%d", g_fd);
    SHOW(readlink(buf, link, sizeof link - 1));
    printf("link %s\n", link);
    SHOW(close(g_fd));
    return 0;
}

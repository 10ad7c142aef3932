// Extended attributes (user.*): set/get/list/remove and the l/f forms,
// XATTR_CREATE/XATTR_REPLACE, size queries, short buffers, the errors for
// bad names, sizes and flags, directories and FIFOs. Run in the current
// directory (a share or a tmpfs in the VM) and natively: the output must
// be the same. Lists are printed sorted (file systems order them their way).
// argv[1] = "guest": what differs by design (other namespaces, host view).
// argv[1] = "owner" PATH: what the guest sees of lightvm's own attribute in
// a mapped share (tests/system/mapped_owner_test.sh): PATH's list, and a
// get, set and remove of user.lightvm.owner.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static void show(const char* what, long r) {
    printf("%-64s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
    errno = 0;
}
#define SHOW(expr) show(#expr, (long)(expr))

static int cmp(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

static void print_list(const char* what, const char* buf, long n) {
    const char* names[64];
    int count = 0;
    for (long i = 0; i < n && count < 64; i += (long)strlen(buf + i) + 1)
        names[count++] = buf + i;
    qsort(names, (size_t)count, sizeof names[0], cmp);
    printf("%s: %ld bytes:", what, n);
    for (int i = 0; i < count; ++i)
        printf(" %s", names[i]);
    printf("\n");
}

static void get(const char* path, const char* name) {
    char buf[128];
    errno = 0;
    long n = getxattr(path, name, buf, sizeof buf);
    if (n < 0) {
        printf("get %s %s: -1 %s\n", path, name, strerror(errno));
        return;
    }
    printf("get %s %s: %ld \"", path, name, n);
    for (long i = 0; i < n; ++i)
        printf(buf[i] >= 32 && buf[i] < 127 ? "%c" : "\\%o", (unsigned char)buf[i]);
    printf("\"\n");
}

int main(int argc, char** argv) {
    char buf[256], big[300];
    if (argc > 2 && strcmp(argv[1], "owner") == 0) {
        const char* path = argv[2];
        long n = listxattr(path, buf, sizeof buf);
        print_list("list", buf, n < 0 ? 0 : n);
        get(path, "user.lightvm.owner");
        SHOW(setxattr(path, "user.lightvm.owner", "0:0:4755", 8, 0));
        SHOW(removexattr(path, "user.lightvm.owner"));
        return 0;
    }
    if (argc > 1) {
        // "guest": what differs by design. The file keeps user.kept for the
        // test to read on the host; other namespaces are refused.
        int k = open("kept", O_RDWR | O_CREAT, 0644);
        SHOW(fsetxattr(k, "user.kept", "from the guest", 14, 0));
        SHOW(fsetxattr(k, "trusted.t", "x", 1, 0));
        SHOW(fsetxattr(k, "security.s", "x", 1, 0));
        SHOW(fgetxattr(k, "system.posix_acl_access", buf, sizeof buf));
        SHOW(getxattr("/dev/null", "user.a", buf, sizeof buf));
        SHOW(listxattr("/proc/self/status", buf, sizeof buf));
        return 0;
    }
    int fd = open("xf", O_RDWR | O_CREAT | O_TRUNC, 0644);
    SHOW(mkdir("xd", 0755));
    SHOW(mkfifo("xp", 0644));

    SHOW(setxattr("xf", "user.a", "hello", 5, 0));
    SHOW(getxattr("xf", "user.a", NULL, 0));
    get("xf", "user.a");
    SHOW(getxattr("xf", "user.a", buf, 2));
    SHOW(setxattr("xf", "user.a", "again", 5, XATTR_CREATE));
    SHOW(setxattr("xf", "user.a", "bye", 3, XATTR_REPLACE));
    get("xf", "user.a");
    SHOW(setxattr("xf", "user.none", "x", 1, XATTR_REPLACE));
    get("xf", "user.none");
    SHOW(setxattr("xf", "user.empty", "", 0, 0));
    get("xf", "user.empty");
    SHOW(setxattr("xf", "user.bin", "a\0b\n", 4, 0));
    get("xf", "user.bin");
    SHOW(setxattr("xf", "user.flags", "x", 1, 4));

    SHOW(listxattr("xf", NULL, 0));
    long n = listxattr("xf", buf, sizeof buf);
    print_list("list xf", buf, n);
    SHOW(listxattr("xf", buf, 3));
    n = llistxattr("xf", buf, sizeof buf);
    print_list("llist xf", buf, n);

    // Names and sizes Linux refuses before looking at the file.
    SHOW(setxattr("xf", "", "x", 1, 0));
    memset(big, 'n', sizeof big);
    memcpy(big, "user.", 5);
    big[256] = 0;
    SHOW(setxattr("xf", big, "x", 1, 0));
    SHOW(getxattr("xf", big, buf, sizeof buf));
    big[255] = 0;  // 255 bytes: the longest name
    SHOW(setxattr("xf", big, "x", 1, 0));
    SHOW(getxattr("xf", big, buf, sizeof buf));
    SHOW(removexattr("xf", big));
    char* huge = calloc(1, 65537);
    SHOW(setxattr("xf", "user.huge", huge, 65537, 0));
    SHOW(setxattr("missing", "user.a", "x", 1, 0));
    SHOW(getxattr("missing", "user.a", buf, sizeof buf));
    SHOW(listxattr("missing", buf, sizeof buf));
    void* volatile bad = (void*)8;  // unmapped: the value cannot be delivered
    SHOW(getxattr("xf", "user.a", bad, sizeof buf));
    free(huge);

    // Descriptors.
    SHOW(fsetxattr(fd, "user.f", "by fd", 5, 0));
    n = fgetxattr(fd, "user.f", buf, sizeof buf);
    printf("fget user.f: %ld \"%.*s\"\n", n, n > 0 ? (int)n : 0, buf);
    n = flistxattr(fd, buf, sizeof buf);
    print_list("flist", buf, n);
    SHOW(fremovexattr(fd, "user.f"));
    SHOW(fremovexattr(fd, "user.f"));
    SHOW(fsetxattr(-1, "user.f", "x", 1, 0));
    SHOW(lsetxattr("xf", "user.l", "link-form", 9, 0));
    get("xf", "user.l");
    SHOW(lremovexattr("xf", "user.l"));

    // Directories carry them; FIFOs (special files) refuse user.* values.
    SHOW(setxattr("xd", "user.dir", "d", 1, 0));
    get("xd", "user.dir");
    n = listxattr("xd", buf, sizeof buf);
    print_list("list xd", buf, n);
    SHOW(setxattr("xp", "user.p", "p", 1, 0));
    get("xp", "user.p");

    SHOW(removexattr("xf", "user.a"));
    SHOW(removexattr("xf", "user.a"));
    n = listxattr("xf", buf, sizeof buf);
    print_list("list xf after remove", buf, n);

    close(fd);
    SHOW(unlink("xf"));
    SHOW(rmdir("xd"));
    SHOW(unlink("xp"));
    return 0;
}

/* Guest virtual memory semantics (issue 8), one check per name:
 *   vmsem list          the names of the semantic checks
 *   vmsem NAME          run one; prints "NAME: ok" or "NAME: BAD ..." (exit 1)
 *   vmsem all           every semantic check
 * Output never contains addresses, so a run in lightvm must print exactly
 * what the same binary prints natively. Fault cases (expected to die with
 * SIGSEGV natively, and with the fault report + 139 in lightvm):
 *   vmsem fault-write-ro | fault-prot-none | fault-stack-overflow | fault-after-munmap | fault-exec-nx
 * Large reservations and the memory limit:
 *   vmsem reserve GIB COMMIT_MIB   PROT_NONE reservation, commit and use part of it
 *   vmsem exhaust MIB              touch up to MIB MiB in 1 MiB mmaps; reports ENOMEM
 *   vmsem cache-then-anon FILE_MIB ANON_MIB   map a file in /tmp, drop it, then exhaust ANON_MIB
 *   vmsem give-back MIB ROUNDS     touch MIB MiB in one mapping and unmap it, ROUNDS times */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096UL
static int failed;
static char why[256];

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            snprintf(why, sizeof why, __VA_ARGS__);        \
            return 0;                                      \
        }                                                  \
    } while (0)

static void *anon(size_t len, int prot) {
    return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}
static int all_bytes(const unsigned char *p, size_t len, unsigned char v) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != v)
            return 0;
    return 1;
}
static int resident(void *p, size_t pages, unsigned char *vec) { return mincore(p, pages * PG, vec); }

/* ---- the checks ---------------------------------------------------------- */

static int mmap_zero_aligned(void) {
    unsigned char *p = anon(10 * PG + 123, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
    CHECK(((uintptr_t)p & (PG - 1)) == 0, "not page aligned");
    CHECK(all_bytes(p, 11 * PG, 0), "not zero");
    memset(p, 0xab, 11 * PG);  /* the rounded-up tail is usable */
    CHECK(munmap(p, 11 * PG) == 0, "munmap: %s", strerror(errno));
    return 1;
}

static int mmap_bad_args(void) {
    errno = 0;
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL, "len 0: %d", errno);
    errno = 0;
    CHECK(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL, "neither private nor shared: %d", errno);
    errno = 0;
    CHECK(mmap((void *)0x10001000, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | 0, -1, 1) == MAP_FAILED &&
              errno == EINVAL, "unaligned offset: %d", errno);
    errno = 0;
    CHECK(mmap((void *)0x10000123, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED &&
              errno == EINVAL, "unaligned MAP_FIXED: %d", errno);
    errno = 0;
    CHECK(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 12345, 0) == MAP_FAILED && errno == EBADF, "bad fd: %d", errno);
    errno = 0;
    CHECK(munmap((void *)0x10000123, PG) == -1 && errno == EINVAL, "munmap unaligned: %d", errno);
    errno = 0;
    CHECK(munmap(NULL, 0) == -1 && errno == EINVAL, "munmap len 0: %d", errno);
    return 1;
}

static int munmap_middle(void) {
    unsigned char *p = anon(3 * PG, PROT_READ | PROT_WRITE), vec[3];
    CHECK(p != MAP_FAILED, "mmap");
    memset(p, 1, 3 * PG);
    CHECK(munmap(p + PG, PG) == 0, "munmap middle: %s", strerror(errno));
    errno = 0;
    CHECK(resident(p, 3, vec) == -1 && errno == ENOMEM, "mincore over the hole: %d", errno);
    CHECK(p[0] == 1 && p[2 * PG] == 1, "neighbours lost their contents");
    CHECK(munmap(p, 3 * PG) == 0, "munmap over a hole: %s", strerror(errno));  /* holes are fine */
    CHECK(munmap(p, 3 * PG) == 0, "munmap of nothing: %s", strerror(errno));
    return 1;
}

static int mmap_fixed_replaces(void) {
    unsigned char *p = anon(4 * PG, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED, "mmap");
    memset(p, 7, 4 * PG);
    unsigned char *q = mmap(p + PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == p + PG, "MAP_FIXED moved");
    CHECK(all_bytes(q, 2 * PG, 0), "MAP_FIXED did not give fresh zero pages");
    CHECK(p[0] == 7 && p[3 * PG] == 7, "MAP_FIXED touched its neighbours");
    munmap(p, 4 * PG);
    return 1;
}

static int mmap_fixed_noreplace(void) {
    unsigned char *p = anon(2 * PG, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED, "mmap");
    errno = 0;
    void *q = mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(q == MAP_FAILED && errno == EEXIST, "over a mapping: %s", q == MAP_FAILED ? strerror(errno) : "mapped");
    munmap(p, 2 * PG);
    q = mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(q == p, "into a hole: %s", q == MAP_FAILED ? strerror(errno) : "elsewhere");
    munmap(q, PG);
    return 1;
}

static int hint_is_honoured_when_free(void) {
    unsigned char *p = anon(16 * PG, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED, "mmap");
    munmap(p, 16 * PG);
    unsigned char *q = mmap(p + 4 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(q == p + 4 * PG, "free hint not used");
    munmap(q, PG);
    return 1;
}

static int mprotect_semantics(void) {
    unsigned char *p = anon(4 * PG, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED, "mmap");
    p[0] = 5;
    CHECK(mprotect(p, 2 * PG, PROT_READ) == 0, "mprotect: %s", strerror(errno));
    CHECK(p[0] == 5, "contents lost");
    CHECK(mprotect(p, 4 * PG, PROT_READ | PROT_WRITE) == 0, "mprotect back: %s", strerror(errno));
    p[PG] = 6;
    errno = 0;
    /* The raw call: musl's mprotect rounds the address down itself. */
    CHECK(syscall(SYS_mprotect, p + 1, PG, PROT_READ) == -1 && errno == EINVAL, "unaligned: %d", errno);
    munmap(p + 2 * PG, PG);
    errno = 0;
    CHECK(mprotect(p, 4 * PG, PROT_READ) == -1 && errno == ENOMEM, "over a hole: %d", errno);
    errno = 0;
    CHECK(mprotect(p, PG, 0x100) == -1 && errno == EINVAL, "bad prot bits: %d", errno);
    munmap(p, 4 * PG);
    return 1;
}

static int mremap_grow_and_move(void) {
    unsigned char *p = anon(2 * PG, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED, "mmap");
    memset(p, 9, 2 * PG);
    unsigned char *q = mremap(p, 2 * PG, 64 * PG, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED, "grow: %s", strerror(errno));
    CHECK(all_bytes(q, 2 * PG, 9), "contents lost");
    CHECK(all_bytes(q + 2 * PG, 62 * PG, 0), "new part not zero");
    memset(q + 63 * PG, 3, PG);
    unsigned char *r = mremap(q, 64 * PG, PG, 0);
    CHECK(r == q && q[0] == 9, "shrink in place");
    unsigned char vec[2];
    errno = 0;
    CHECK(resident(q, 2, vec) == -1 && errno == ENOMEM, "shrunk tail still mapped");
    /* Move to a chosen place. */
    unsigned char *dst = anon(8 * PG, PROT_NONE);
    CHECK(dst != MAP_FAILED, "mmap dst");
    unsigned char *m = mremap(r, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 2 * PG);
    CHECK(m == dst + 2 * PG, "MREMAP_FIXED: %s", m == MAP_FAILED ? strerror(errno) : "elsewhere");
    CHECK(m[0] == 9 && all_bytes(m + PG, PG, 0), "moved contents");
    errno = 0;
    CHECK(resident(r, 1, vec) == -1 && errno == ENOMEM, "old place still mapped");
    errno = 0;
    CHECK(mremap(m, PG, 0, MREMAP_MAYMOVE) == MAP_FAILED && errno == EINVAL, "new size 0: %d", errno);
    munmap(dst, 8 * PG);
    return 1;
}

static int mremap_without_maymove(void) {
    unsigned char *p = anon(3 * PG, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED, "mmap");
    munmap(p + PG, 2 * PG);
    unsigned char *blocker = mmap(p + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(blocker == p + 2 * PG, "blocker");
    CHECK(mremap(p, PG, 2 * PG, 0) == p, "grow in place into a free page: %s", strerror(errno));
    errno = 0;
    CHECK(mremap(p, 2 * PG, 3 * PG, 0) == MAP_FAILED && errno == ENOMEM, "grow in place into a mapping: %d", errno);
    munmap(p, 3 * PG);
    return 1;
}

static int madvise_dontneed_zeroes(void) {
    unsigned char *p = anon(8 * PG, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED, "mmap");
    memset(p, 0x5a, 8 * PG);
    CHECK(madvise(p + 2 * PG, 4 * PG, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
    CHECK(all_bytes(p + 2 * PG, 4 * PG, 0), "MADV_DONTNEED pages not zero");
    CHECK(all_bytes(p, 2 * PG, 0x5a) && all_bytes(p + 6 * PG, 2 * PG, 0x5a), "neighbours changed");
    CHECK(madvise(p, 8 * PG, MADV_WILLNEED) == 0 && madvise(p, 8 * PG, MADV_NORMAL) == 0, "hints");
    errno = 0;
    CHECK(madvise(p + 1, PG, MADV_DONTNEED) == -1 && errno == EINVAL, "unaligned: %d", errno);
    munmap(p, 8 * PG);
    return 1;
}

static int mincore_reports_mapping(void) {
    unsigned char *p = anon(4 * PG, PROT_READ | PROT_WRITE), vec[4];
    CHECK(p != MAP_FAILED, "mmap");
    memset(p, 1, 4 * PG);
    CHECK(resident(p, 4, vec) == 0, "mincore: %s", strerror(errno));
    CHECK((vec[0] & 1) && (vec[3] & 1), "touched pages not resident");
    errno = 0;
    CHECK(mincore(p + 1, PG, vec) == -1 && errno == EINVAL, "unaligned: %d", errno);
    munmap(p, 4 * PG);
    errno = 0;
    CHECK(resident(p, 4, vec) == -1 && errno == ENOMEM, "unmapped: %d", errno);
    return 1;
}

/* The raw brk call: musl's sbrk only answers sbrk(0). */
static char *sys_brk(void *to) { return (char *)syscall(SYS_brk, to); }

static int brk_grows_and_shrinks(void) {
    char *start = sys_brk(NULL);
    CHECK(sys_brk(start + 3 * PG) == start + 3 * PG, "brk grow");
    memset(start, 0x11, 3 * PG);
    CHECK(sys_brk(NULL) == start + 3 * PG, "break moved");
    CHECK(sys_brk(start + PG) == start + PG, "brk shrink");
    CHECK(sys_brk(start + 2 * PG) == start + 2 * PG, "regrow");
    CHECK(start[PG] == 0 && start[0] == 0x11, "regrown page not zero");
    CHECK(sys_brk(start - (64ul << 40)) == start + 2 * PG, "a failed brk returns the old break");
    CHECK(sys_brk(start) == start, "back to start");
    return 1;
}

static int stack_rlimit(void) {
    struct rlimit r;
    CHECK(getrlimit(RLIMIT_STACK, &r) == 0, "getrlimit");
    CHECK(r.rlim_cur == 8 << 20, "soft stack limit %llu", (unsigned long long)r.rlim_cur);
    /* Use 4 MiB of stack: within the 8 MiB limit. */
    volatile char big[4 << 20];
    big[0] = 1;
    big[sizeof big - 1] = 2;
    CHECK(big[0] + big[sizeof big - 1] == 3, "deep stack");
    return 1;
}

/* The stack's room follows RLIMIT_STACK: raised to 64 MiB, then exec'd
 * again (the limit applies to the new image), the program uses 32 MiB of
 * stack; under `ulimit -s` it would have died. */
static int stack_use(unsigned long mib) {
    volatile char *big = __builtin_alloca(mib << 20);
    for (size_t i = 0; i < (mib << 20); i += PG)
        big[i] = 1;
    printf("stack: used %lu MiB\n", mib);
    return 0;
}

static int stack_raised_limit(void) {
    struct rlimit r;
    CHECK(getrlimit(RLIMIT_STACK, &r) == 0, "getrlimit");
    CHECK(r.rlim_max == RLIM_INFINITY, "hard stack limit %llu, not unlimited", (unsigned long long)r.rlim_max);
    r.rlim_cur = 64 << 20;
    CHECK(setrlimit(RLIMIT_STACK, &r) == 0, "setrlimit: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        execl("/proc/self/exe", "vmsem", "stack-use", "32", (char *)NULL);
        _exit(127);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    return 1;
}

static int many_mappings(void) {
    enum { N = 2000 };
    static unsigned char *m[N];
    for (int i = 0; i < N; i++) {
        m[i] = anon(PG, PROT_READ | PROT_WRITE);
        CHECK(m[i] != MAP_FAILED, "mmap %d: %s", i, strerror(errno));
        m[i][0] = (unsigned char)i;
    }
    for (int i = 0; i < N; i += 2)
        CHECK(munmap(m[i], PG) == 0, "munmap %d", i);
    for (int i = 1; i < N; i += 2)
        CHECK(m[i][0] == (unsigned char)i, "mapping %d changed", i);
    for (int i = 1; i < N; i += 2)
        munmap(m[i], PG);
    return 1;
}

static int dev_zero_private(void) {
    FILE *f = fopen("/dev/zero", "r");
    CHECK(f != NULL, "open /dev/zero");
    unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fileno(f), 0);
    fclose(f);
    CHECK(p != MAP_FAILED, "mmap /dev/zero: %s", strerror(errno));
    CHECK(all_bytes(p, 4 * PG, 0), "not zero");
    p[5] = 1;
    munmap(p, 4 * PG);
    return 1;
}

static int shared_anonymous(void) {
    unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "MAP_SHARED|MAP_ANONYMOUS: %s", strerror(errno));
    CHECK(all_bytes(p, 4 * PG, 0), "not zero");
    memset(p, 2, 4 * PG);
    munmap(p, 4 * PG);
    return 1;
}

static int populate_and_stack_flags(void) {
    unsigned char *p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_STACK | MAP_NORESERVE, -1, 0);
    CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
    unsigned char vec[16];
    CHECK(resident(p, 16, vec) == 0, "mincore");
    int all = 1;
    for (int i = 0; i < 16; i++)
        all &= vec[i] & 1;
    CHECK(all, "MAP_POPULATE pages not resident");
    munmap(p, 16 * PG);
    return 1;
}

static int file_mapping_private(void) {
    char path[] = "/tmp/vmsemXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp in /tmp: %s", strerror(errno));
    unlink(path);
    unsigned char data[3 * PG];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7);
    CHECK(write(fd, data, sizeof data) == (ssize_t)sizeof data, "write");
    unsigned char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PG);
    CHECK(p != MAP_FAILED, "mmap offset: %s", strerror(errno));
    CHECK(memcmp(p, data + PG, 2 * PG) == 0, "contents at offset");
    p[0] ^= 0xff;  /* private: the file keeps its byte */
    unsigned char b;
    CHECK(pread(fd, &b, 1, PG) == 1 && b == data[PG], "private write reached the file");
    munmap(p, 2 * PG);
    close(fd);
    return 1;
}

/* MAP_SHARED writes reach the file by msync and by munmap, within the
 * file's size (checked with pread, after msync/munmap as POSIX requires). */
static int file_mapping_shared(void) {
    char path[] = "/tmp/vmsemXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp in /tmp: %s", strerror(errno));
    int ro = open(path, O_RDONLY);
    CHECK(ro >= 0, "reopen read-only: %s", strerror(errno));
    unlink(path);
    CHECK(ftruncate(fd, 2 * PG + 100) == 0, "ftruncate");
    unsigned char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED, "mmap shared: %s", strerror(errno));
    memcpy(p + 10, "msync", 5);
    memcpy(p + 2 * PG + 50, "tail", 4);
    CHECK(msync(p, 3 * PG, MS_SYNC) == 0, "msync: %s", strerror(errno));
    char b[8] = {0};
    CHECK(pread(fd, b, 5, 10) == 5 && memcmp(b, "msync", 5) == 0, "msync did not write: %.5s", b);
    CHECK(pread(fd, b, 4, 2 * PG + 50) == 4 && memcmp(b, "tail", 4) == 0, "last page: %.4s", b);
    memcpy(p + PG, "unmap", 5);
    CHECK(munmap(p, 3 * PG) == 0, "munmap");
    CHECK(pread(fd, b, 5, PG) == 5 && memcmp(b, "unmap", 5) == 0, "munmap did not write: %.5s", b);
    CHECK(lseek(fd, 0, SEEK_END) == (off_t)(2 * PG + 100), "the file grew");
    CHECK(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED && errno == EACCES,
          "writable shared mapping of a read-only fd: %d", errno);
    close(ro);
    close(fd);
    return 1;
}

/* A file in /tmp (a share in lightvm: its pages go through the guest's page
 * cache) holding `len` bytes of `seed` pattern; returns its path in `path`. */
static int make_file(char *path, size_t len, unsigned char seed) {
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unsigned char buf[PG];
    for (size_t off = 0; off < len; off += PG) {
        size_t n = len - off < PG ? len - off : PG;
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)((off + i) * 13 + seed);
        if (write(fd, buf, n) != (ssize_t)n)
            return -1;
    }
    return close(fd);
}

static int has_pattern(const unsigned char *p, size_t len, unsigned char seed) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != (unsigned char)(i * 13 + seed))
            return 0;
    return 1;
}

static unsigned char *map_ro(const char *path, size_t len, int flags) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return MAP_FAILED;
    unsigned char *p = mmap(NULL, len, PROT_READ, flags, fd, 0);
    close(fd);
    return p;
}

/* A file written after it was mapped (and so cached): a new mapping and
 * read() see the new bytes, whether the write came while the mapping
 * lived or after it was gone. */
static int file_rewritten_after_mapping(void) {
    char path[] = "/tmp/vmsemXXXXXX";
    const size_t len = 5 * PG + 123;
    CHECK(make_file(path, len, 1) == 0, "make file: %s", strerror(errno));
    unsigned char *p = map_ro(path, len, MAP_PRIVATE);
    CHECK(p != MAP_FAILED && has_pattern(p, len, 1), "first mapping");
    munmap(p, len);
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0, "open for writing: %s", strerror(errno));
    unsigned char b = 0x5a;
    CHECK(pwrite(fd, &b, 1, 2 * PG + 7) == 1, "pwrite");
    close(fd);
    p = map_ro(path, len, MAP_PRIVATE);
    CHECK(p != MAP_FAILED, "second mapping: %s", strerror(errno));
    CHECK(p[2 * PG + 7] == 0x5a, "second mapping shows the old byte %#x", p[2 * PG + 7]);
    CHECK(p[2 * PG + 6] == (unsigned char)((2 * PG + 6) * 13 + 1), "neighbour changed");
    unsigned char r = 0;
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && pread(fd, &r, 1, 2 * PG + 7) == 1 && r == 0x5a, "read() shows the old byte %#x", r);
    /* Grown by a write while a mapping lives: the new tail is there. */
    int w = open(path, O_WRONLY | O_APPEND);
    CHECK(w >= 0 && write(w, "tail", 4) == 4, "append");
    close(w);
    char t[4];
    CHECK(pread(fd, t, 4, len) == 4 && memcmp(t, "tail", 4) == 0, "appended bytes not read");
    close(fd);
    munmap(p, len);
    /* Truncated: a new mapping's page past the end is not the old data. */
    CHECK(truncate(path, PG) == 0, "truncate: %s", strerror(errno));
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && pread(fd, t, 4, 3 * PG) == 0, "read past the new end");
    close(fd);
    unlink(path);
    return 1;
}

/* Two private mappings of one file: a write to one (copy-on-write) never
 * shows in the other, nor in read(), nor in a later mapping. */
static int private_writes_stay_private(void) {
    char path[] = "/tmp/vmsemXXXXXX";
    const size_t len = 3 * PG;
    CHECK(make_file(path, len, 2) == 0, "make file");
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open");
    unsigned char *ro = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    unsigned char *rw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(ro != MAP_FAILED && rw != MAP_FAILED, "mmap: %s", strerror(errno));
    rw[PG] = 0xee;
    CHECK(ro[PG] == (unsigned char)(PG * 13 + 2), "a private write showed in another mapping");
    CHECK(mprotect(ro, len, PROT_READ | PROT_WRITE) == 0, "mprotect: %s", strerror(errno));
    ro[2 * PG] = 0xdd;
    unsigned char *again = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(again != MAP_FAILED && has_pattern(again, len, 2), "a later mapping saw a private write");
    unsigned char b;
    CHECK(pread(fd, &b, 1, 2 * PG) == 1 && b == (unsigned char)(2 * PG * 13 + 2), "read() saw a private write");
    /* Shared but read-only through a read-only descriptor: never writable. */
    unsigned char *sh = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(sh != MAP_FAILED, "shared read-only mapping: %s", strerror(errno));
    CHECK(mprotect(sh, len, PROT_READ | PROT_WRITE) == -1 && errno == EACCES, "mprotect of a shared read-only mapping");
    CHECK(has_pattern(sh, len, 2), "shared mapping contents");
    munmap(ro, len);
    munmap(rw, len);
    munmap(again, len);
    munmap(sh, len);
    close(fd);
    unlink(path);
    return 1;
}

/* Large anonymous memory: lightvm maps it with 2 MiB entries and splits
 * one when part of it changes; each operation must behave as on 4 KiB
 * pages (and as natively, where THP may or may not be in use). */
#define MB2 (2UL << 20)
static void stamp(unsigned char *p, size_t len) {
    for (size_t off = 0; off < len; off += PG)
        memcpy(p + off, &off, sizeof off);
}
static int stamped(const unsigned char *p, size_t len, size_t base) {
    for (size_t off = 0; off < len; off += PG) {
        size_t v;
        memcpy(&v, p + off, sizeof v);
        if (v != base + off)
            return 0;
    }
    return 1;
}
static unsigned char *aligned_anon(size_t len, int flags) {
    unsigned char *r = mmap(NULL, len + MB2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (r == MAP_FAILED)
        return NULL;
    unsigned char *p = (unsigned char *)(((uintptr_t)r + MB2 - 1) & ~(MB2 - 1));
    if (p > r)
        munmap(r, p - r);
    munmap(p + len, r + len + MB2 - (p + len));
    return p;
}

static int huge_regions(void) {
    const size_t len = 16 * MB2;
    unsigned char *p = aligned_anon(len, 0), vec[16 * 512];
    CHECK(p != NULL, "mmap: %s", strerror(errno));
    stamp(p, len);
    /* A whole 2 MiB read-only, and one page inside the next. */
    CHECK(mprotect(p, MB2, PROT_READ) == 0 && mprotect(p + MB2 + 5 * PG, PG, PROT_READ) == 0, "mprotect");
    CHECK(stamped(p, 2 * MB2, 0), "data after mprotect");
    /* A page unmapped in the middle of one; mincore sees the hole. */
    CHECK(munmap(p + 2 * MB2 + 7 * PG, PG) == 0, "munmap: %s", strerror(errno));
    errno = 0;
    CHECK(mincore(p + 2 * MB2, MB2, vec) == -1 && errno == ENOMEM, "mincore over the hole: %d", errno);
    CHECK(mincore(p + 2 * MB2 + 8 * PG, MB2 - 8 * PG, vec) == 0 && (vec[0] & 1), "mincore after the hole");
    CHECK(stamped(p + 2 * MB2, 7 * PG, 2 * MB2) && stamped(p + 2 * MB2 + 8 * PG, MB2 - 8 * PG, 2 * MB2 + 8 * PG),
          "data around the hole");
    /* MADV_DONTNEED of one page, and of a whole 2 MiB. */
    CHECK(madvise(p + 3 * MB2 + PG, PG, MADV_DONTNEED) == 0 && madvise(p + 4 * MB2, MB2, MADV_DONTNEED) == 0,
          "madvise: %s", strerror(errno));
    CHECK(all_bytes(p + 3 * MB2 + PG, PG, 0) && all_bytes(p + 4 * MB2, MB2, 0), "discarded pages not zero");
    CHECK(stamped(p + 3 * MB2, PG, 3 * MB2) && stamped(p + 3 * MB2 + 2 * PG, MB2 - 2 * PG, 3 * MB2 + 2 * PG),
          "neighbours of the discarded page");
    /* PROT_NONE and back keeps the data. */
    CHECK(mprotect(p + 5 * MB2, MB2, PROT_NONE) == 0 && mprotect(p + 5 * MB2, MB2, PROT_READ | PROT_WRITE) == 0,
          "PROT_NONE round trip");
    CHECK(stamped(p + 5 * MB2, MB2, 5 * MB2), "data after PROT_NONE");
    /* fork: the child sees the data and its writes stay its own. */
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int good = stamped(p + 6 * MB2, 4 * MB2, 6 * MB2);
        memset(p + 6 * MB2, 0x77, 4 * MB2);
        _exit(good ? 0 : 3);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child saw other data: %d", st);
    CHECK(stamped(p + 6 * MB2, 4 * MB2, 6 * MB2), "a child's write reached the parent");
    /* mremap moves 4 MiB elsewhere. */
    unsigned char *q = mremap(p + 10 * MB2, 4 * MB2, 8 * MB2, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED, "mremap: %s", strerror(errno));
    CHECK(stamped(q, 4 * MB2, 10 * MB2) && all_bytes(q + 4 * MB2 + 3 * PG, PG, 0), "data after mremap");
    /* The kernel writing into fresh memory (read from a pipe). */
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    unsigned char msg[4096];
    memset(msg, 0x42, sizeof msg);
    CHECK(write(fds[1], msg, sizeof msg) == (ssize_t)sizeof msg, "write");
    unsigned char *f = aligned_anon(MB2, 0);
    CHECK(f != NULL, "mmap: %s", strerror(errno));
    CHECK(read(fds[0], f + 9 * PG, sizeof msg) == (ssize_t)sizeof msg, "read: %s", strerror(errno));
    CHECK(all_bytes(f + 9 * PG, PG, 0x42) && all_bytes(f, 9 * PG, 0) && all_bytes(f + 10 * PG, MB2 - 10 * PG, 0),
          "read into fresh memory");
    munmap(f, MB2);
    close(fds[0]);
    close(fds[1]);
    /* MAP_POPULATE of 8 MiB, and MADV_NOHUGEPAGE memory. */
    unsigned char *r = aligned_anon(4 * MB2, MAP_POPULATE);
    CHECK(r != NULL && all_bytes(r, 4 * MB2, 0), "MAP_POPULATE");
    CHECK(madvise(r, 4 * MB2, MADV_NOHUGEPAGE) == 0, "MADV_NOHUGEPAGE: %s", strerror(errno));
    stamp(r, 4 * MB2);
    CHECK(stamped(r, 4 * MB2, 0), "data in populated memory");
    munmap(r, 4 * MB2);
    munmap(q, 8 * MB2);
    munmap(p, 10 * MB2);
    munmap(p + 14 * MB2, 2 * MB2);
    return 1;
}

struct check {
    const char *name;
    int (*fn)(void);
};
static const struct check checks[] = {
    {"mmap_zero_aligned", mmap_zero_aligned},
    {"mmap_bad_args", mmap_bad_args},
    {"munmap_middle", munmap_middle},
    {"mmap_fixed_replaces", mmap_fixed_replaces},
    {"mmap_fixed_noreplace", mmap_fixed_noreplace},
    {"hint_is_honoured_when_free", hint_is_honoured_when_free},
    {"mprotect_semantics", mprotect_semantics},
    {"mremap_grow_and_move", mremap_grow_and_move},
    {"mremap_without_maymove", mremap_without_maymove},
    {"madvise_dontneed_zeroes", madvise_dontneed_zeroes},
    {"mincore_reports_mapping", mincore_reports_mapping},
    {"brk_grows_and_shrinks", brk_grows_and_shrinks},
    {"stack_rlimit", stack_rlimit},
    {"stack_raised_limit", stack_raised_limit},
    {"many_mappings", many_mappings},
    {"dev_zero_private", dev_zero_private},
    {"shared_anonymous", shared_anonymous},
    {"populate_and_stack_flags", populate_and_stack_flags},
    {"file_mapping_private", file_mapping_private},
    {"file_mapping_shared", file_mapping_shared},
    {"file_rewritten_after_mapping", file_rewritten_after_mapping},
    {"private_writes_stay_private", private_writes_stay_private},
    {"huge_regions", huge_regions},
};

static int run(const struct check *c) {
    why[0] = 0;
    if (c->fn()) {
        printf("%s: ok\n", c->name);
        return 1;
    }
    printf("%s: BAD %s (errno %d)\n", c->name, why, errno);
    failed = 1;
    return 0;
}

/* ---- faults: each should never return ------------------------------------ */

static volatile int keep_going = 1;
static int recurse(int depth) {
    volatile char pad[4096];
    pad[0] = (char)depth;
    return keep_going ? recurse(depth + 1) + pad[0] : 0;
}

static int fault(const char *what) {
    fflush(stdout);
    if (strcmp(what, "fault-write-ro") == 0) {
        volatile unsigned char *p = anon(PG, PROT_READ);
        p[0] = 1;
    } else if (strcmp(what, "fault-prot-none") == 0) {
        volatile unsigned char *p = anon(PG, PROT_NONE);
        (void)p[0];
    } else if (strcmp(what, "fault-after-munmap") == 0) {
        volatile unsigned char *p = anon(4 * PG, PROT_READ | PROT_WRITE);
        p[PG] = 1;
        munmap((void *)p, 4 * PG);
        (void)p[PG];
    } else if (strcmp(what, "fault-exec-nx") == 0) {
        unsigned char *p = anon(PG, PROT_READ | PROT_WRITE);
        p[0] = 0xc3;  /* ret */
        ((void (*)(void))p)();
    } else if (strcmp(what, "fault-stack-overflow") == 0) {
        return recurse(0);
    } else {
        printf("unknown fault %s\n", what);
        return 2;
    }
    printf("%s: survived (no fault)\n", what);
    return 0;
}

/* ---- reservations and the memory limit ----------------------------------- */

static int reserve(unsigned long gib, unsigned long commit_mib) {
    size_t len = (size_t)gib << 30, commit = (size_t)commit_mib << 20;
    unsigned char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        printf("reserve %lu GiB: %s\n", gib, strerror(errno));
        return 1;
    }
    /* Commit a slice in the middle, use every page, check, give it back. */
    unsigned char *c = p + len / 2;
    if (mprotect(c, commit, PROT_READ | PROT_WRITE) != 0) {
        printf("commit %lu MiB: %s\n", commit_mib, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < commit; i += PG)
        c[i] = (unsigned char)(i >> 12);
    uint64_t sum = 0;
    for (size_t i = 0; i < commit; i += PG)
        sum += c[i];
    if (madvise(c, commit, MADV_DONTNEED) != 0 || c[PG] != 0) {
        printf("MADV_DONTNEED after use failed\n");
        return 1;
    }
    if (munmap(p, len) != 0) {
        printf("munmap reservation: %s\n", strerror(errno));
        return 1;
    }
    printf("reserve %lu GiB, used %lu MiB: ok (sum %llu)\n", gib, commit_mib, (unsigned long long)sum);
    return 0;
}

static int exhaust(unsigned long mib) {
    unsigned long done = 0;
    for (; done < mib; done++) {
        unsigned char *p = anon(1 << 20, PROT_READ | PROT_WRITE);
        if (p == MAP_FAILED) {
            printf("exhaust: mmap ENOMEM=%d after %lu MiB\n", errno == ENOMEM, done);
            return 0;
        }
        for (size_t i = 0; i < (1 << 20); i += PG)
            p[i] = 1;
    }
    printf("exhaust: touched %lu MiB\n", done);
    return 0;
}

/* Touch and unmap a large mapping, several times: the guest kernel gives
 * what it does not keep for reuse back to the host (lightvm's --stats shows
 * the memory touched at the end). */
static int give_back(unsigned long mib, unsigned long rounds) {
    for (unsigned long r = 0; r < rounds; r++) {
        unsigned char *p = anon(mib << 20, PROT_READ | PROT_WRITE);
        if (p == MAP_FAILED) {
            printf("give-back: mmap failed in round %lu\n", r);
            return 1;
        }
        for (size_t i = 0; i < (mib << 20); i += PG) {
            if (p[i] != 0) {
                printf("give-back: old data at offset %zu in round %lu\n", i, r);
                return 1;
            }
            p[i] = 0x5a;
        }
        munmap(p, mib << 20);
    }
    printf("give-back: %lu x %lu MiB\n", rounds, mib);
    return 0;
}

/* Map and read a FILE_MIB file (cached by lightvm's page cache), let it go,
 * then touch ANON_MIB of anonymous memory: the cache must give its frames
 * back under --mem rather than run the program out of memory. */
static int cache_then_anon(unsigned long file_mib, unsigned long anon_mib) {
    char path[] = "/tmp/vmsemXXXXXX";
    if (make_file(path, file_mib << 20, 3) != 0) {
        printf("make file: %s\n", strerror(errno));
        return 1;
    }
    unsigned char *p = map_ro(path, file_mib << 20, MAP_PRIVATE);
    if (p == MAP_FAILED || !has_pattern(p, file_mib << 20, 3)) {
        printf("file mapping wrong\n");
        return 1;
    }
    munmap(p, file_mib << 20);
    unlink(path);
    exhaust(anon_mib);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: vmsem list|all|NAME|fault-*|reserve GIB MIB|exhaust MIB\n");
        return 2;
    }
    const char *cmd = argv[1];
    size_t n = sizeof checks / sizeof *checks;
    if (strcmp(cmd, "list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", checks[i].name);
        return 0;
    }
    if (strcmp(cmd, "all") == 0) {
        for (size_t i = 0; i < n; i++)
            run(&checks[i]);
        return failed;
    }
    if (strncmp(cmd, "fault-", 6) == 0)
        return fault(cmd);
    if (strcmp(cmd, "reserve") == 0 && argc == 4)
        return reserve(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
    if (strcmp(cmd, "stack-use") == 0 && argc == 3)
        return stack_use(strtoul(argv[2], NULL, 10));
    if (strcmp(cmd, "cache-then-anon") == 0 && argc == 4)
        return cache_then_anon(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
    if (strcmp(cmd, "give-back") == 0 && argc == 4)
        return give_back(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
    if (strcmp(cmd, "exhaust") == 0 && argc == 3)
        return exhaust(strtoul(argv[2], NULL, 10));
    for (size_t i = 0; i < n; i++)
        if (strcmp(cmd, checks[i].name) == 0)
            return run(&checks[i]) ? 0 : 1;
    fprintf(stderr, "vmsem: unknown check %s\n", cmd);
    return 2;
}

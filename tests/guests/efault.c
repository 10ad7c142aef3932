/* Bad user pointers get EFAULT, as on Linux: kernel memory, an unmapped
   page (after munmap), a range running off the end of a mapping, NULL.
   Prints one line per call; the guest test compares with a native run. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void show(const char* what, long r) {
    printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "ok");
}

int main(void) {
    char* map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return 1;
    munmap(map + 4096, 4096); /* a hole in the middle */
    strcpy(map + 4096 - 6, "/tmp");
    int fds[2];
    void* volatile null_ptr = NULL; /* hidden from the compiler's null checks */
    show("write from NULL", write(1, null_ptr, 10));
    show("write from a hole", write(1, map + 4096, 10));
    /* (A range running into a hole is a short write on Linux, EFAULT here:
       documented in docs/design.md.) */
    show("write from the kernel image", write(1, (void*)0x100000, 10));
    show("read into a hole", read(0, map + 4096 + 100, 10));
    show("open a path in a hole", open(map + 4096, O_RDONLY));
    /* syscall(): musl's stat() converts through a local buffer in user space. */
    show("stat into a hole", syscall(SYS_stat, "/", map + 4096));
    /* syscall(): glibc's vDSO would fault in user space instead. */
    show("clock_gettime into a hole", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, map + 4096));
    show("gettimeofday into NULL+8", syscall(SYS_gettimeofday, 8, 0));
    show("pipe into a hole", pipe((int*)(map + 4096)));
    show("pipe into valid memory", pipe(fds));
    show("write from valid memory", write(fds[1], map + 2 * 4096, 10));
    return 0;
}

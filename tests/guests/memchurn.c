/* bench/vm_bench.sh's workloads (guest memory, issue 8):
 *   memchurn churn N MIB   N times: mmap MIB MiB, write every page, munmap
 *   memchurn touch MIB     mmap MIB MiB once and write every page in order
 *   memchurn touch-small MIB   the same after madvise(MADV_NOHUGEPAGE): 4 KiB
 *                          pages in lightvm's guest (and natively, without THP)
 * Prints the operation's own time ("ms X"), so VM start-up is not in it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int touch(size_t len, unsigned char tag, int small) {
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return -1;
    }
    if (small && madvise(p, len, MADV_NOHUGEPAGE) != 0) {
        perror("madvise");
        return -1;
    }
    for (size_t i = 0; i < len; i += 4096)
        p[i] = tag;
    return munmap(p, len);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "churn") == 0) {
        long n = atol(argv[2]);
        size_t len = (size_t)atol(argv[3]) << 20;
        double t0 = now_ms();
        for (long i = 0; i < n; i++)
            if (touch(len, (unsigned char)i, 0) != 0)
                return 1;
        printf("ms %.3f\n", now_ms() - t0);
        return 0;
    }
    if (argc == 3 && (strcmp(argv[1], "touch") == 0 || strcmp(argv[1], "touch-small") == 0)) {
        double t0 = now_ms();
        if (touch((size_t)atol(argv[2]) << 20, 1, strcmp(argv[1], "touch-small") == 0) != 0)
            return 1;
        printf("ms %.3f\n", now_ms() - t0);
        return 0;
    }
    fprintf(stderr, "usage: memchurn churn N MIB | touch MIB | touch-small MIB\n");
    return 2;
}

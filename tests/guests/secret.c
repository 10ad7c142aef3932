/* "secret write": fill fresh heap (brk) and mmap memory with 0xA5 and exit.
 * "secret scan": take the same kinds of fresh memory and print how many
 * bytes are not zero. A VM must start from fresh RAM: a guest started after
 * a "write" guest (e.g. in a pooled shell) must print "nonzero 0". */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BRK_BYTES (4u << 20)
#define MAP_BYTES (16u << 20)

int main(int argc, char **argv) {
    int write_mode = argc > 1 && strcmp(argv[1], "write") == 0;
    unsigned char *heap = sbrk(BRK_BYTES);
    unsigned char *map = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (heap == (void *)-1 || map == MAP_FAILED) {
        printf("allocation failed\n");
        return 1;
    }
    if (write_mode) {
        memset(heap, 0xA5, BRK_BYTES);
        memset(map, 0xA5, MAP_BYTES);
        printf("written\n");
        return 0;
    }
    unsigned long nonzero = 0;
    for (unsigned i = 0; i < BRK_BYTES; ++i)
        nonzero += heap[i] != 0;
    for (unsigned i = 0; i < MAP_BYTES; ++i)
        nonzero += map[i] != 0;
    printf("nonzero %lu\n", nonzero);
    return 0;
}

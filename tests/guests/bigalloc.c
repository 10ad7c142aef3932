/* Large allocations: 64 MiB touched page by page and verified, freed and
 * allocated again, then a realloc growth loop that must preserve contents. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG (64u << 20)
#define PAGE 4096u

static uint64_t pattern(uint64_t i) { return (i * 0x9e3779b97f4a7c15ull) >> 17; }

static int fill_and_check(unsigned char *p, size_t size, uint64_t *sum_out) {
    /* One 64-bit word per page, plus the last byte of every page. */
    for (size_t off = 0; off < size; off += PAGE) {
        uint64_t v = pattern(off / PAGE);
        memcpy(p + off, &v, sizeof v);
        p[off + PAGE - 1] = (unsigned char)(off / PAGE);
    }
    uint64_t sum = 0;
    for (size_t off = 0; off < size; off += PAGE) {
        uint64_t v;
        memcpy(&v, p + off, sizeof v);
        if (v != pattern(off / PAGE) || p[off + PAGE - 1] != (unsigned char)(off / PAGE)) {
            printf("mismatch at offset %zu\n", off);
            return 0;
        }
        sum += v;
    }
    *sum_out = sum;
    return 1;
}

int main(void) {
    uint64_t sum1 = 0, sum2 = 0;
    unsigned char *p = malloc(BIG);
    if (!p) {
        printf("malloc failed\n");
        return 1;
    }
    if (!fill_and_check(p, BIG, &sum1))
        return 1;
    free(p);

    p = malloc(BIG);
    if (!p) {
        printf("second malloc failed\n");
        return 1;
    }
    if (!fill_and_check(p, BIG, &sum2))
        return 1;
    free(p);
    if (sum1 != sum2) {
        printf("sums differ\n");
        return 1;
    }

    /* realloc growth: 1 KiB doubling to 32 MiB; the prefix must survive. */
    size_t size = 1024;
    unsigned char *r = malloc(size);
    if (!r)
        return 1;
    for (size_t i = 0; i < size; i++)
        r[i] = (unsigned char)(i * 31 + 7);
    while (size < (32u << 20)) {
        size_t nsize = size * 2;
        unsigned char *n = realloc(r, nsize);
        if (!n) {
            printf("realloc to %zu failed\n", nsize);
            return 1;
        }
        r = n;
        for (size_t i = 0; i < size; i++)
            if (r[i] != (unsigned char)(i * 31 + 7)) {
                printf("realloc lost data at %zu (size %zu)\n", i, nsize);
                return 1;
            }
        for (size_t i = size; i < nsize; i++)
            r[i] = (unsigned char)(i * 31 + 7);
        size = nsize;
    }
    free(r);
    printf("ok %llu\n", (unsigned long long)sum1);
    return 0;
}

// Live-migration test program: keeps dirtying guest memory while printing,
// and checks at the end that every page holds what it last wrote.
//   dirtier MIB RATE_MIB_PER_S SECONDS
// It first writes the whole MIB-sized buffer once and prints "filled";
// then every 100 ms it rewrites RATE/10 MiB of it (round robin, each page
// stamped with its number and a pass counter) and prints "tick T pass P". At the end it verifies every page and prints
// "done ok pages=N" or "corrupt page P word W".
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define WORDS 512  // per 4 KiB page

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t stamp(uint64_t page, uint64_t pass, uint64_t word) {
    return (pass << 40) ^ (page << 12) ^ word ^ 0x5bd1e9955bd1e995ull;
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: dirtier MIB RATE_MIB_PER_S SECONDS\n");
        return 2;
    }
    const uint64_t pages = strtoull(argv[1], NULL, 10) * 256;
    const uint64_t per_tick = strtoull(argv[2], NULL, 10) * 256 / 10;
    const uint64_t ticks = strtoull(argv[3], NULL, 10) * 10;
    uint64_t* mem = calloc(pages, 4096);
    uint64_t* pass_of = calloc(pages, sizeof(uint64_t));
    if (!mem || !pass_of || pages == 0) {
        fprintf(stderr, "dirtier: out of memory\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (uint64_t p = 0; p < pages; ++p) {
        for (uint64_t w = 0; w < WORDS; ++w)
            mem[p * WORDS + w] = stamp(p, 1, w);
        pass_of[p] = 1;
    }
    printf("filled\n");
    uint64_t next = 0, pass = 2;
    const uint64_t start = now_ns();
    for (uint64_t t = 1; t <= ticks; ++t) {
        for (uint64_t k = 0; k < per_tick; ++k) {
            for (uint64_t w = 0; w < WORDS; ++w)
                mem[next * WORDS + w] = stamp(next, pass, w);
            pass_of[next] = pass;
            if (++next == pages)
                next = 0, ++pass;
        }
        printf("tick %llu pass %llu\n", (unsigned long long)t, (unsigned long long)pass);
        const uint64_t due = start + t * 100000000ull, now = now_ns();
        if (due > now) {
            struct timespec ts = {(time_t)((due - now) / 1000000000ull), (long)((due - now) % 1000000000ull)};
            nanosleep(&ts, NULL);
        }
    }
    for (uint64_t p = 0; p < pages; ++p)
        for (uint64_t w = 0; w < WORDS; ++w)
            if (mem[p * WORDS + w] != stamp(p, pass_of[p], w)) {
                printf("corrupt page %llu word %llu\n", (unsigned long long)p, (unsigned long long)w);
                return 1;
            }
    printf("done ok pages=%llu\n", (unsigned long long)pages);
    return 0;
}

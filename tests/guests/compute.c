/* CPU-bound and deterministic: the output must be identical inside the VM
 * and natively on the host. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT 5000000u
#define N 1000000u

int main(void) {
    unsigned char *composite = calloc(LIMIT, 1);
    if (!composite)
        return 1;
    unsigned count = 0;
    uint64_t psum = 0;
    for (uint64_t i = 2; i < LIMIT; i++) {
        if (composite[i])
            continue;
        count++;
        psum += i;
        for (uint64_t j = i * i; j < LIMIT; j += i)
            composite[j] = 1;
    }
    free(composite);
    printf("primes below %u: %u (sum %llu)\n", LIMIT, count, (unsigned long long)psum);

    uint32_t *a = malloc(N * sizeof *a);
    if (!a)
        return 1;
    uint64_t x = 88172645463325252ull; /* xorshift64 */
    for (unsigned i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        a[i] = (uint32_t)(x >> 16);
    }
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (unsigned i = 0; i < N; i++)
        for (int b = 0; b < 4; b++) {
            h ^= (a[i] >> (8 * b)) & 0xff;
            h *= 0x100000001b3ull;
        }
    free(a);
    printf("fnv1a64: %016llx\n", (unsigned long long)h);

    double s = 0;
    for (unsigned i = 1; i <= 100000; i++)
        s += 1.0 / ((double)i * (double)i);
    printf("basel: %.12f\n", s);
    return 0;
}

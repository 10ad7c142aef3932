/* Runs while the monitor interrupts the guest and checks that nothing the
 * app can see changed: general registers, vector registers, the red zone.
 *   irqloop spin N       registers + red zone in a tight loop until the guest
 *                        kernel has taken N interrupts
 *   irqloop syscall N    the same around in-guest syscalls (interrupts land
 *                        inside the guest kernel)
 *   irqloop gaps MS      rdtsc loop for MS ms: how long the app was stopped
 *                        by each interrupt (bench/irq_bench)
 *   irqloop exits N      N fsync(1) calls, one VM exit each: ns per call
 * Prints one line, exits 0 when everything was intact, 1 otherwise.
 * The interrupt count is the guest kernel's own (abi.h IrqState.entries),
 * found through its header at 0x100000: guest-kernel memory is readable by
 * the app (docs/design.md), which makes this test program possible. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

__attribute__((used)) const uint64_t want[16] = {
    0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444,
    0x5555555555555555, 0x6666666666666666, 0x7777777777777777, 0x8888888888888888,
    0x9999999999999999, 0xaaaaaaaaaaaaaaaa, 0xbbbbbbbbbbbbbbbb, 0xcccccccccccccccc,
    0xdddddddddddddddd, 0xeeeeeeeeeeeeeeee, 0x0f0f0f0f0f0f0f0f, 0xf0f0f0f0f0f0f0f0};

/* Loads every general register but rsp/rcx with want[], the red zone
 * (128 bytes below rsp) with want[], xmm0-15 with want[], spins `iters`
 * times (syscalls: calls getppid every round, rax/rcx/r11 are the syscall's),
 * then returns the number of words that changed. Leaf function: its red
 * zone is its own to use. */
uint64_t check_regs(uint64_t iters, uint64_t do_syscall);
__attribute__((used)) uint64_t counter;
__asm__(
    ".text\n"
    "check_regs:\n"
    "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
    "  mov %rdi, %rcx\n"
    "  mov %rsi, %r11\n"                      /* kept in a stack slot below */
    "  lea want(%rip), %rax\n"
    "  sub $8, %rsp; mov %r11, (%rsp)\n"      /* syscall flag at (%rsp) */
    "  .irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "  mov \\i*8(%rax), %rdx; mov %rdx, -128+\\i*8(%rsp)\n"
    "  movq %rdx, %xmm\\i\n"
    "  .endr\n"
    "  mov 8(%rax), %rbx; mov 16(%rax), %rdx; mov 24(%rax), %rsi; mov 32(%rax), %rdi\n"
    "  mov 40(%rax), %rbp; mov 48(%rax), %r8; mov 56(%rax), %r9; mov 64(%rax), %r10\n"
    "  mov 72(%rax), %r12; mov 80(%rax), %r13; mov 88(%rax), %r14; mov 96(%rax), %r15\n"
    "  mov 0(%rax), %rax\n"
    "1:\n"
    "  cmpq $0, (%rsp)\n"
    "  je 2f\n"
    "  mov %rcx, counter(%rip)\n"             /* rcx is the syscall's */
    "  mov $110, %eax\n"                      /* getppid */
    "  syscall\n"
    "  mov counter(%rip), %rcx\n"
    "  mov want(%rip), %rax\n"
    "2:\n"
    "  dec %rcx\n"
    "  jnz 1b\n"
    "  xor %ecx, %ecx\n"                      /* rcx: count of bad words */
    "  cmp want+0(%rip), %rax; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+8(%rip), %rbx; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+16(%rip), %rdx; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+24(%rip), %rsi; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+32(%rip), %rdi; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+40(%rip), %rbp; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+48(%rip), %r8; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+56(%rip), %r9; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+64(%rip), %r10; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+72(%rip), %r12; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+80(%rip), %r13; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+88(%rip), %r14; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  cmp want+96(%rip), %r15; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  .irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "  mov -128+\\i*8(%rsp), %rdx; cmp want+\\i*8(%rip), %rdx; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  movq %xmm\\i, %rdx; cmp want+\\i*8(%rip), %rdx; setne %r11b; movzbq %r11b, %r11; add %r11, %rcx\n"
    "  .endr\n"
    "  mov %rcx, %rax\n"
    "  add $8, %rsp\n"
    "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
    "  ret\n");

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* abi.h: KernelHeader at kKernelBase, irq_state at offset 80; entries at
 * offset 16 of IrqState. */
static volatile const uint64_t* irq_entries(void) {
    const volatile uint32_t* magic = (const volatile uint32_t*)0x100000;
    if (*magic != 0x4b4d564c) {
        fprintf(stderr, "irqloop: no lightvm guest kernel header\n");
        exit(2);
    }
    uint64_t state = *(const volatile uint64_t*)(0x100000 + 80);
    return (volatile const uint64_t*)(state + 16);
}

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static int run_checks(uint64_t want_irqs, int syscalls) {
    volatile const uint64_t* entries = irq_entries();
    uint64_t start = *entries, end = now_ns() + 60 * 1000000000ull, rounds = 0, bad = 0;
    while (*entries - start < want_irqs && now_ns() < end) {
        bad += check_regs(syscalls ? 2000 : 200000, syscalls);
        rounds++;
    }
    uint64_t got = *entries - start;
    printf("%s rounds=%llu bad_words=%llu interrupts=%llu\n", bad || got < want_irqs ? "FAIL" : "ok",
           (unsigned long long)rounds, (unsigned long long)bad, (unsigned long long)got);
    return bad || got < want_irqs ? 1 : 0;
}

/* Gaps in a tight rdtsc loop during which the kernel took exactly one
 * interrupt: the time the app was stopped for it (gaps without one are the
 * host preempting the vCPU, not counted). */
static int run_gaps(uint64_t ms) {
    enum { kMax = 200000 };
    static uint64_t gaps[kMax];
    volatile const uint64_t* entries = irq_entries();
    size_t n = 0;
    uint64_t t0 = now_ns(), c0 = __rdtsc();
    uint64_t end = t0 + ms * 1000000ull;
    uint64_t prev = __rdtsc(), loops = 0, seen = *entries, last_d = 0, found = 0;
    for (;;) {
        uint64_t t = __rdtsc(), e = *entries, d = t - prev;
        /* The count moves in the round the interrupt hit, or (when it hit
         * between the two reads) one round before or after: the gap is the
         * longest of those three. */
        if (found) {
            gaps[n++] = found > d ? found : d;
            found = 0;
        }
        if (e != seen) {
            if (e == seen + 1 && n < kMax)
                found = (d > last_d ? d : last_d) | 1;
            seen = e;
        }
        last_d = d;
        prev = t;
        if ((++loops & 0xfff) == 0) {
            if (now_ns() >= end)
                break;
            prev = __rdtsc();  /* the clock syscall is not a gap */
            seen = *entries;
            last_d = 0;
            if (found) {
                gaps[n++] = found;
                found = 0;
            }
        }
    }
    double ns_per_cycle = (double)(now_ns() - t0) / (double)(__rdtsc() - c0);
    qsort(gaps, n, sizeof gaps[0], cmp_u64);
    double med = n ? (double)gaps[n / 2] * ns_per_cycle : 0;
    double total = 0;
    for (size_t i = 0; i < n; ++i)
        total += (double)gaps[i] * ns_per_cycle;
    if (getenv("IRQLOOP_DIST"))
        for (int q = 1; q < 10; ++q)
            fprintf(stderr, "p%d0=%.0f ", q, n ? (double)gaps[n * q / 10] * ns_per_cycle : 0);
    printf("interrupts=%zu median_gap_ns=%.0f stopped_ms=%.2f of %llu\n", n, med, total / 1e6, (unsigned long long)ms);
    return 0;
}

static int run_exits(uint64_t n) {
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; ++i)
        fsync(1);
    printf("exits=%llu ns_per_exit=%.0f\n", (unsigned long long)n, (double)(now_ns() - t0) / (double)n);
    return 0;
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: irqloop spin|syscall|gaps|exits N\n");
        return 2;
    }
    uint64_t n = strtoull(argv[2], 0, 10);
    if (!strcmp(argv[1], "spin"))
        return run_checks(n, 0);
    if (!strcmp(argv[1], "syscall"))
        return run_checks(n, 1);
    if (!strcmp(argv[1], "gaps"))
        return run_gaps(n);
    if (!strcmp(argv[1], "exits"))
        return run_exits(n);
    fprintf(stderr, "irqloop: unknown mode %s\n", argv[1]);
    return 2;
}

/* A hostile guest application. The app runs at CPL3 like the guest kernel
 * and shares its TSS I/O bitmap, so it can issue lightvm hypercalls itself:
 *   out %eax, %dx   with dx = 0x500 + nr, eax = guest address of the argument.
 * Each mode breaks one rule; the monitor must stop the VM (status 137) with a
 * one-line report, or the CPU must fault (#GP, SIGSEGV). If the guest
 * survives, it says so and exits 99.
 *   badport  out to port 0x80 (not in the I/O bitmap)         -> #GP, 139
 *   badport-after-print  prints a line first, then badport     -> 139, line kept
 *   badhc    out to 0x51c: unknown hypercall 28                -> 137
 *   nexthc   out to 0x513: first unused hypercall number (19)  -> 137
 *   exec     kHcExec (18) with a garbage argument, no exec channel -> 137
 *   park     kHcPark (16) from a loaded VM: only a booting shell may park -> 137
 *   edgehc   outl to 0x51f: ports 0x51f-0x522 leave the bitmap -> #GP, 139
 *   badaddr  write hypercall, buffer at 0xfffffffff000         -> 137
 *   hugelen  write hypercall, valid buffer, length 1<<62       -> 137
 *   badarg   write hypercall, argument struct at 0xfffffff0    -> 137
 *   ring     console ring head set to tail+0x7fffffff, write() -> 137
 *   in       inl from hypercall port 0x500                     -> 137
 *   badsleep sleep hypercall, struct straddling the end of RAM -> 137
 *   badexit  exit hypercall with signal 1000                   -> 137
 *   hlt      hlt at CPL3                                       -> #GP, 139
 *   ttybadarg  tty hypercall, argument struct at 0xfffffff0    -> 137
 *   ttygarbage tty hypercalls with garbage fields: prints each result
 *            (-22, EINVAL, for all), exits 0; the terminal unchanged
 *   spin     print a line, then loop forever (for timeouts and signals)
 *   sse-unbacked  16-byte SSE store to RAM never handed out     -> 139 (not 125)
 *   avx-unbacked  32-byte AVX store there (KVM internal error)  -> 139 (not 125)
 *   trace    write a forged "lightvm: ..." line to the trace stream
 *            through the console ring, then exit 0           -> never shown raw */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HC_PORT_BASE 0x500
#define HC_EXIT 0
#define HC_WRITE 2
#define HC_SLEEP 4
#define HC_TTY 15
#define HC_EXEC 18
#define HC_COUNT 19  /* first unused hypercall number (abi.h kHcCount; fault_test.cpp checks) */
#define CONSOLE_GPA 0x40000ul

struct HcExit {
    int32_t status;
    uint32_t signal;
};

struct TtyState {
    uint32_t iflag, oflag, cflag, lflag;
    uint8_t line;
    uint8_t cc[19];
    uint16_t rows, cols, xpixel, ypixel;
    uint32_t reserved;
};

struct HcTty {
    uint32_t op;
    uint32_t when;
    struct TtyState state;
    int64_t result;
};

struct HcIo {
    uint32_t fd;
    uint32_t flags;
    uint64_t buf;
    uint64_t len;
    int64_t result;
};

/* Hypercall arguments carry guest-physical addresses, and this program's
 * own variables are virtual. The guest kernel's low region is identity-
 * mapped and writable from CPL3 (docs/design.md): the unused page below the
 * console ring is a place whose physical address a hostile program knows. */
#define SCRATCH_GPA 0x3f000ul
/* All of guest RAM, as the guest kernel sees it (abi.h kPhysMapBase). */
#define PHYSMAP 0x7f8000000000ul
#define io (*(struct HcIo *)SCRATCH_GPA)
#define message ((char *)(SCRATCH_GPA + 0x100))
static const char message_text[] = "hostile guest writing\n";

static void out32(uint16_t port, uint32_t value) {
    __asm__ volatile("outl %0, %1" : : "a"(value), "d"(port) : "memory");
}

static uint32_t in32(uint16_t port) {
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "d"(port) : "memory");
    return v;
}

static uint32_t addr32(const void *p) { return (uint32_t)(uintptr_t)p; }

/* Each case breaks one rule of kHcTty (abi.h); a sane base otherwise (the
 * flags of a cooked terminal), so that only the broken field is wrong. */
static int tty_garbage(void) {
    struct HcTty *hc = (struct HcTty *)(SCRATCH_GPA + 0x300);
    for (int i = 0; i < 12; i++) {
        memset(hc, 0, sizeof *hc);
        hc->op = 1;
        hc->state.iflag = 0x500;  /* ICRNL | IXON */
        hc->state.oflag = 0x5;    /* OPOST | ONLCR */
        hc->state.cflag = 0xbf;   /* B38400 | CS8 | CREAD */
        hc->state.lflag = 0x8a3b; /* ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN */
        switch (i) {
        case 0: hc->op = 0; break;
        case 1: hc->op = 3; break;
        case 2: hc->op = 0xffffffffu; break;
        case 3: hc->when = 3; break;
        case 4: hc->when = 0x80000000u; break;
        case 5: hc->state.iflag = 0xffffffffu; break;
        case 6: hc->state.cflag |= 0x2000; break;   /* a bit Linux does not define */
        case 7: hc->state.lflag |= 0x80000000u; break;
        case 8: hc->state.line = 7; break;           /* another line discipline */
        case 9: hc->state.rows = 5; break;           /* a size with settings */
        case 10: hc->state.reserved = 1; break;
        case 11: hc->op = 2; hc->state.rows = 5; break;  /* a size with settings */
        }
        hc->result = 12345;
        out32(HC_PORT_BASE + HC_TTY, addr32(hc));
        printf("case %d: %lld\n", i, (long long)hc->result);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    memset(&io, 0, sizeof io);
    memcpy(message, message_text, sizeof message_text);
    if (strcmp(mode, "badport") == 0) {
        out32(0x80, 0);
    } else if (strcmp(mode, "badport-after-print") == 0) {
        printf("about to fault\n");
        fflush(stdout);
        out32(0x80, 0);
    } else if (strcmp(mode, "badhc") == 0) {
        /* Highest port a 4-byte OUT may use inside [0x500, 0x520): 0x51c. */
        out32(HC_PORT_BASE + 0x1c, addr32(&io));
    } else if (strcmp(mode, "nexthc") == 0) {
        out32(HC_PORT_BASE + HC_COUNT, addr32(&io));
    } else if (strcmp(mode, "exec") == 0) {
        /* Only lightvm-oci's monitors have an exec channel; this VM's
         * monitor must stop it however the argument looks. */
        out32(HC_PORT_BASE + HC_EXEC, 0xfffffff0u);
    } else if (strcmp(mode, "park") == 0) {
        out32(HC_PORT_BASE + 16, addr32(&io));
    } else if (strcmp(mode, "edgehc") == 0) {
        /* Ports 0x51f-0x522: partly outside the I/O bitmap, so #GP. */
        out32(HC_PORT_BASE + 0x1f, addr32(&io));
    } else if (strcmp(mode, "badsleep") == 0) {
        /* The argument struct straddles the end of guest RAM. */
        out32(HC_PORT_BASE + HC_SLEEP, 0x0ffffff8u);
    } else if (strcmp(mode, "badexit") == 0) {
        struct HcExit *ex = (struct HcExit *)(SCRATCH_GPA + 0x200);
        ex->status = 0;
        ex->signal = 1000;
        out32(HC_PORT_BASE + HC_EXIT, addr32(ex));
    } else if (strcmp(mode, "spin") == 0) {
        /* Never exits and never makes a syscall: only a timeout or a host
         * signal can stop it. What it printed first must not be lost. */
        printf("spinning\n");
        fflush(stdout);
        for (volatile unsigned long n = 0;; n++) {
        }
    } else if (strcmp(mode, "sse-unbacked") == 0) {
        /* The middle of a 256 MiB guest is never registered until the guest
         * kernel asks; KVM cannot emulate a 16-byte store to it (reached
         * through the kernel's physmap). */
        printf("storing\n");
        fflush(stdout);
        volatile char *p = (volatile char *)(PHYSMAP + (128ul << 20));
        __asm__ volatile("pxor %%xmm0, %%xmm0\n\tmovdqu %%xmm0, (%0)" : : "r"(p) : "memory", "xmm0");
    } else if (strcmp(mode, "avx-unbacked") == 0) {
        /* A 32-byte AVX store there: KVM's emulator gives up (internal
         * error); it must still end as a guest fault. */
        printf("storing\n");
        fflush(stdout);
        volatile char *p = (volatile char *)(PHYSMAP + (128ul << 20));
        __asm__ volatile("vpxor %%ymm0, %%ymm0, %%ymm0\n\tvmovdqu %%ymm0, (%0)" : : "r"(p) : "memory", "xmm0");
    } else if (strcmp(mode, "trace") == 0) {
        /* The ring record header: stream 3 (trace) in the top byte. */
        static const char forged[] = "lightvm: guest exited normally (forged)\n";
        volatile uint32_t *head = (volatile uint32_t *)CONSOLE_GPA;
        volatile uint8_t *data = (volatile uint8_t *)(CONSOLE_GPA + 0x1000);
        uint32_t h = *head, len = sizeof forged - 1, hdr = (3u << 24) | len;
        for (int i = 0; i < 4; i++)
            data[(h + i) & (256 * 1024 - 1)] = (uint8_t)(hdr >> (8 * i));
        for (uint32_t i = 0; i < len; i++)
            data[(h + 4 + i) & (256 * 1024 - 1)] = (uint8_t)forged[i];
        *head = h + 4 + len;
        return 0;
    } else if (strcmp(mode, "ttybadarg") == 0) {
        out32(HC_PORT_BASE + HC_TTY, 0xfffffff0u);
    } else if (strcmp(mode, "ttygarbage") == 0) {
        return tty_garbage();
    } else if (strcmp(mode, "hlt") == 0) {
        __asm__ volatile("hlt");
    } else if (strcmp(mode, "badaddr") == 0) {
        io.fd = 1;
        io.buf = 0xfffffffff000ull;
        io.len = 100;
        out32(HC_PORT_BASE + HC_WRITE, addr32(&io));
    } else if (strcmp(mode, "hugelen") == 0) {
        io.fd = 1;
        io.buf = (uint64_t)(uintptr_t)message;
        io.len = 1ull << 62;
        out32(HC_PORT_BASE + HC_WRITE, addr32(&io));
    } else if (strcmp(mode, "badarg") == 0) {
        out32(HC_PORT_BASE + HC_WRITE, 0xfffffff0u);
    } else if (strcmp(mode, "ring") == 0) {
        volatile uint32_t *head = (volatile uint32_t *)CONSOLE_GPA;
        volatile uint32_t *tail = (volatile uint32_t *)(CONSOLE_GPA + 64);
        *head = *tail + 0x7fffffffu;
        write(1, message, strlen(message));
        /* The corrupt ring is seen at the next exit at the latest. */
        fflush(stdout);
    } else if (strcmp(mode, "in") == 0) {
        uint32_t v = in32(HC_PORT_BASE);
        printf("read %u\n", v);
    } else {
        fprintf(stderr, "usage: hostile sse-unbacked|avx-unbacked|trace|badport|badport-after-print|badhc|nexthc|exec|park|edgehc|ttybadarg|ttygarbage|badaddr|hugelen|badarg|ring|in|badsleep|badexit|hlt|spin\n");
        return 2;
    }
    printf("survived %s\n", mode);
    return 99;
}

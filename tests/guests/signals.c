/* Signal delivery (issue 9): handlers, masks, frames, restarts, timers and
   faults, one case per argv[1] (`signals list` names them). Every case
   prints what it observed; tests/guest/signals_test.cpp runs each in a VM
   and natively and requires the same output and exit status. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t g_count, g_depth, g_max_depth, g_last;

static void on_count(int sig) {
    g_count++;
    g_last = sig;
}

static void set_handler(int sig, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0)
        perror("sigaction");
}

/* ---- handler runs and returns; default-ignored signals; SIG_IGN ---- */
static int case_basic(void) {
    set_handler(SIGUSR1, on_count, 0);
    raise(SIGUSR1);
    printf("after raise: count %d last %s\n", (int)g_count, g_last == SIGUSR1 ? "SIGUSR1" : "?");
    kill(getpid(), SIGUSR1);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
    printf("after kill and tgkill: count %d\n", (int)g_count);
    raise(SIGCHLD);
    raise(SIGWINCH);
    raise(SIGURG);
    printf("default-ignored signals: still here\n");
    signal(SIGTERM, SIG_IGN);
    kill(getpid(), SIGTERM);
    printf("SIGTERM with SIG_IGN: still here\n");
    printf("kill(getpid(), 0): %d\n", kill(getpid(), 0));
    int r = kill(getpid(), 65);
    printf("kill(getpid(), 65): %d %s\n", r, strerror(errno));
    r = sigaction(SIGKILL, &(struct sigaction){.sa_handler = on_count}, NULL);
    printf("sigaction(SIGKILL): %d %s\n", r, strerror(errno));
    struct sigaction old;
    sigaction(SIGUSR1, NULL, &old);
    printf("old handler is ours: %s\n", old.sa_handler == on_count ? "yes" : "no");
    return 0;
}

/* ---- SA_SIGINFO: the fields of kill, sigqueue, tgkill ---- */
static volatile int g_si_signo, g_si_code, g_si_pid, g_si_value, g_uc_ok;

static void on_info(int sig, siginfo_t* si, void* ucv) {
    ucontext_t* uc = ucv;
    g_si_signo = si->si_signo;
    g_si_code = si->si_code;
    g_si_pid = si->si_pid;
    g_si_value = si->si_value.sival_int;
    /* The interrupted context's mask does not contain sig; the handler's does. */
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    g_uc_ok = !sigismember(&uc->uc_sigmask, sig) && sigismember(&now, sig);
}

static const char* code_name(int code) {
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_TIMER: return "SI_TIMER";
    default: return "other";
    }
}

static int case_siginfo(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGRTMIN + 1, &sa, NULL);
    kill(getpid(), SIGUSR2);
    printf("kill: signo ok %d, code %s, pid is ours %d, mask in context ok %d\n", g_si_signo == SIGUSR2,
           code_name(g_si_code), g_si_pid == getpid(), g_uc_ok);
    sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 4242});
    printf("sigqueue: signo ok %d, code %s, value %d, pid is ours %d\n", g_si_signo == SIGRTMIN + 1,
           code_name(g_si_code), g_si_value, g_si_pid == getpid());
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
    printf("tgkill: code %s\n", code_name(g_si_code));
    return 0;
}

/* ---- SA_RESETHAND and SA_NODEFER ---- */
static void on_nested(int sig) {
    g_depth++;
    if (g_depth > g_max_depth)
        g_max_depth = g_depth;
    if (g_count++ == 0)
        raise(sig);  /* delivered inside (SA_NODEFER) or right after this handler */
    g_depth--;
}

static int case_flags(void) {
    set_handler(SIGUSR1, on_count, SA_RESETHAND);
    raise(SIGUSR1);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    printf("SA_RESETHAND: ran %d, handler now SIG_DFL %s\n", (int)g_count, now.sa_handler == SIG_DFL ? "yes" : "no");

    g_count = 0, g_max_depth = 0;
    set_handler(SIGUSR2, on_nested, 0);
    raise(SIGUSR2);
    printf("without SA_NODEFER: ran %d, deepest nesting %d\n", (int)g_count, (int)g_max_depth);
    g_count = 0, g_max_depth = 0;
    set_handler(SIGUSR2, on_nested, SA_NODEFER);
    raise(SIGUSR2);
    printf("with SA_NODEFER: ran %d, deepest nesting %d\n", (int)g_count, (int)g_max_depth);

    /* sa_mask blocks others during the handler. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_nested;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGUSR2, NULL, &sa);
    printf("sa_mask kept: SIGUSR1 %d, SIGUSR2 %d\n", sigismember(&sa.sa_mask, SIGUSR1), sigismember(&sa.sa_mask, SIGUSR2));
    return 0;
}

/* ---- masks: sigprocmask, sigpending, sigsuspend, sigtimedwait; RT queueing ---- */
static int g_rt_order[8], g_rt_n;
static void on_rt(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)uc;
    if (g_rt_n < 8)
        g_rt_order[g_rt_n++] = si->si_value.sival_int;
}

static int case_masks(void) {
    set_handler(SIGUSR1, on_count, 0);
    sigset_t block, old, pend;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR1);
    raise(SIGUSR1);
    sigpending(&pend);
    printf("blocked: ran %d, pending %d\n", (int)g_count, sigismember(&pend, SIGUSR1));
    sigset_t none;
    sigemptyset(&none);
    int r = sigsuspend(&none);
    printf("sigsuspend: %d %s, ran %d (a standard signal queues once)\n", r, strerror(errno), (int)g_count);
    sigset_t after;
    sigprocmask(SIG_SETMASK, NULL, &after);
    printf("mask restored after sigsuspend: %d\n", sigismember(&after, SIGUSR1));

    /* sigtimedwait takes a blocked signal without its handler. */
    raise(SIGUSR1);
    siginfo_t si;
    struct timespec ts = {0, 20 * 1000 * 1000};
    int s = sigtimedwait(&block, &si, &ts);
    printf("sigtimedwait: %s, code %s, handler ran %d\n", s == SIGUSR1 ? "SIGUSR1" : "?", code_name(si.si_code),
           (int)g_count);
    errno = 0;
    s = sigtimedwait(&block, &si, &ts);
    printf("sigtimedwait with nothing pending: %d %s\n", s, strerror(errno));

    /* SIGKILL and SIGSTOP cannot be blocked. */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    sigprocmask(SIG_SETMASK, NULL, &after);
    printf("SIGKILL blockable: %d, SIGSTOP blockable: %d\n", sigismember(&after, SIGKILL), sigismember(&after, SIGSTOP));

    /* Real-time signals queue every instance, in order. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN + 2, &sa, NULL);
    for (int i = 1; i <= 3; ++i)
        sigqueue(getpid(), SIGRTMIN + 2, (union sigval){.sival_int = i});
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("RT signals: %d delivered:", g_rt_n);
    for (int i = 0; i < g_rt_n; ++i)
        printf(" %d", g_rt_order[i]);
    printf("\n");
    return 0;
}

/* ---- sigaltstack and SA_ONSTACK ---- */
static char* g_alt;
static volatile int g_on_alt, g_ss_onstack;
static void on_alt(int sig) {
    (void)sig;
    char here;
    g_on_alt = &here >= g_alt && &here < g_alt + SIGSTKSZ;
    stack_t cur;
    sigaltstack(NULL, &cur);
    g_ss_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
}

static int case_altstack(void) {
    g_alt = malloc(SIGSTKSZ);
    stack_t ss = {.ss_sp = g_alt, .ss_size = SIGSTKSZ, .ss_flags = 0};
    printf("sigaltstack: %d\n", sigaltstack(&ss, NULL));
    stack_t small = {.ss_sp = g_alt, .ss_size = 512, .ss_flags = 0};
    int r = sigaltstack(&small, NULL);
    printf("too small: %d %s\n", r, strerror(errno));
    set_handler(SIGUSR1, on_alt, SA_ONSTACK);
    raise(SIGUSR1);
    printf("SA_ONSTACK: on the alternate stack %d, SS_ONSTACK %d\n", g_on_alt, g_ss_onstack);
    set_handler(SIGUSR1, on_alt, 0);
    raise(SIGUSR1);
    printf("without SA_ONSTACK: on the alternate stack %d\n", g_on_alt);
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("outside a handler: flags %d, size ok %d\n", cur.ss_flags, cur.ss_size == SIGSTKSZ);
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    sigaltstack(NULL, &cur);
    printf("disabled: flags %s\n", cur.ss_flags == SS_DISABLE ? "SS_DISABLE" : "?");
    return 0;
}

/* ---- FPU/SSE state survives a handler that changes it ---- */
/* MXCSR's rounding control (bits 13-14), without libm. */
static void set_rounding(unsigned rc) {
    unsigned m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    m = (m & ~0x6000u) | (rc << 13);
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
}
static unsigned get_rounding(void) {
    unsigned m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    return (m >> 13) & 3;
}
static void on_clobber(int sig) {
    (void)sig;
    set_rounding(3);
    volatile double x = 1.0;
    for (int i = 0; i < 10; ++i)
        x = x * 3.7 + 1.1;
    __asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm7, %%xmm7\n\tpcmpeqd %%xmm15, %%xmm15\n\t"
                     "fldpi\n\tfldpi\n\tfstp %%st(0)\n\tfstp %%st(0)" ::: "xmm0", "xmm7", "xmm15", "memory");
    g_count++;
}

static int case_fpu(void) {
    set_handler(SIGUSR1, on_clobber, 0);
    set_rounding(2);
    uint64_t in[16][2], out[16][2];
    for (int i = 0; i < 16; ++i)
        in[i][0] = 0x1111111111111111ull * (i + 1), in[i][1] = ~in[i][0];
    long pid = getpid();
    /* All 16 XMM registers hold a pattern across a kill() whose handler runs
       before the syscall instruction "returns". */
    __asm__ volatile(
        "movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\tmovdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
        "movdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\tmovdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7\n\t"
        "movdqu 128(%0), %%xmm8\n\tmovdqu 144(%0), %%xmm9\n\tmovdqu 160(%0), %%xmm10\n\tmovdqu 176(%0), %%xmm11\n\t"
        "movdqu 192(%0), %%xmm12\n\tmovdqu 208(%0), %%xmm13\n\tmovdqu 224(%0), %%xmm14\n\tmovdqu 240(%0), %%xmm15\n\t"
        "movl $62, %%eax\n\tmovq %2, %%rdi\n\tmovl $10, %%esi\n\tsyscall\n\t"
        "movdqu %%xmm0, 0(%1)\n\tmovdqu %%xmm1, 16(%1)\n\tmovdqu %%xmm2, 32(%1)\n\tmovdqu %%xmm3, 48(%1)\n\t"
        "movdqu %%xmm4, 64(%1)\n\tmovdqu %%xmm5, 80(%1)\n\tmovdqu %%xmm6, 96(%1)\n\tmovdqu %%xmm7, 112(%1)\n\t"
        "movdqu %%xmm8, 128(%1)\n\tmovdqu %%xmm9, 144(%1)\n\tmovdqu %%xmm10, 160(%1)\n\tmovdqu %%xmm11, 176(%1)\n\t"
        "movdqu %%xmm12, 192(%1)\n\tmovdqu %%xmm13, 208(%1)\n\tmovdqu %%xmm14, 224(%1)\n\tmovdqu %%xmm15, 240(%1)\n\t"
        :
        : "r"(in), "r"(out), "r"(pid)
        : "rax", "rdi", "rsi", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
          "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    printf("handler ran %d, XMM0-15 preserved: %s\n", (int)g_count, memcmp(in, out, sizeof in) == 0 ? "yes" : "no");
    printf("rounding mode preserved: %s\n", get_rounding() == 2 ? "yes" : "no");
    set_rounding(0);
    return 0;
}

/* The FPU state is per process: a child changing MXCSR and the x87 control
   word leaves the parent's alone; the child starts with the parent's. */
static int case_fpu_fork(void) {
    set_rounding(2);
    unsigned short cw = 0x27f, child_cw = 0x37f, now_cw;  /* 53-bit precision vs the default */
    __asm__ volatile("fldcw %0" : : "m"(cw));
    pid_t p = fork();
    if (p == 0) {
        unsigned short got;
        __asm__ volatile("fnstcw %0" : "=m"(got));
        int inherited = get_rounding() == 2 && got == cw;
        set_rounding(3);
        __asm__ volatile("fldcw %0" : : "m"(child_cw));
        for (volatile int i = 0; i < 100000; ++i)
            ;
        _exit(inherited ? 0 : 1);
    }
    int st = 0;
    waitpid(p, &st, 0);
    __asm__ volatile("fnstcw %0" : "=m"(now_cw));
    printf("child inherited the FPU settings: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
    printf("parent's MXCSR rounding kept: %s, x87 control word kept: %s\n", get_rounding() == 2 ? "yes" : "no",
           now_cw == cw ? "yes" : "no");
    set_rounding(0);
    return 0;
}

/* ---- SIGSEGV handlers: siglongjmp out, or fix the page and return ---- */
static sigjmp_buf g_jmp;
static volatile uintptr_t g_fault_addr;
static volatile int g_fault_code;
static char* g_page;

static void on_segv_jump(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)uc;
    g_fault_addr = (uintptr_t)si->si_addr;
    g_fault_code = si->si_code;
    siglongjmp(g_jmp, 1);
}

static void on_segv_fix(int sig, siginfo_t* si, void* uc) {
    (void)sig, (void)uc;
    g_fault_code = si->si_code;
    g_count++;
    mprotect(g_page, 4096, PROT_READ | PROT_WRITE);
}

static int case_segv(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv_jump;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(g_jmp, 1) == 0) {
        volatile int* volatile bad = (int*)16;
        *bad = 1;
        printf("not reached\n");
    }
    printf("siglongjmp out: si_addr 0x%lx, code %s\n", (unsigned long)g_fault_addr,
           g_fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : g_fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "?");
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    printf("SIGSEGV unblocked again by siglongjmp: %d\n", !sigismember(&now, SIGSEGV));

    g_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    sa.sa_sigaction = on_segv_fix;
    sigaction(SIGSEGV, &sa, NULL);
    g_page[100] = 7;  /* faults once; the handler makes it writable */
    printf("fixed by mprotect in the handler: ran %d, code %d, value %d\n", (int)g_count, (int)g_fault_code,
           g_page[100]);
    return 0;
}

/* ---- deaths: default actions and hostile rt_sigreturn frames ---- */
static void on_forge(int sig, siginfo_t* si, void* ucv) {
    (void)sig, (void)si;
    ucontext_t* uc = ucv;
    const char* how = getenv("FORGE");
    if (strcmp(how, "kernel-rip") == 0)
        uc->uc_mcontext.gregs[REG_RIP] = 0xffffffff81000000ull;
    else if (strcmp(how, "selector") == 0)
        uc->uc_mcontext.gregs[REG_CSGSFS] = (uc->uc_mcontext.gregs[REG_CSGSFS] & ~0xffffull) | 0x8;
    else if (strcmp(how, "mxcsr") == 0)
        uc->uc_mcontext.fpregs->mxcsr = 0xffffffff;
}

static int case_hostile(const char* how) {
    setenv("FORGE", how, 1);
    printf("forging a %s frame\n", how);
    fflush(stdout);
    if (strcmp(how, "garbage") == 0) {
        static long junk[256];
        memset(junk, 0x41, sizeof junk);
        __asm__ volatile("movq %0, %%rsp\n\tmovl $15, %%eax\n\tsyscall" : : "r"(&junk[128]) : "memory");
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_forge;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("survived the forged frame\n");
    return 0;
}

static int case_no_restorer(void) {
    /* A raw rt_sigaction without SA_RESTORER: the frame cannot be built. */
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        uint64_t mask;
    } ka = {on_count, 0, NULL, 0};
    syscall(SYS_rt_sigaction, SIGUSR1, &ka, NULL, 8);
    printf("raising SIGUSR1 without SA_RESTORER\n");
    fflush(stdout);
    raise(SIGUSR1);
    printf("survived: ran %d\n", (int)g_count);
    return 0;
}


/* ---- EINTR and SA_RESTART: a blocking pipe read interrupted by alarm ---- */
static int g_pipe[2];
static void on_alarm_write(int sig) {
    (void)sig;
    g_count++;
    if (write(g_pipe[1], "x", 1) != 1)
        _exit(3);
}

static int case_restart(void) {
    if (pipe(g_pipe) != 0)
        return 1;
    char c;
    set_handler(SIGALRM, on_count, 0);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    errno = 0;
    ssize_t n = read(g_pipe[0], &c, 1);
    printf("without SA_RESTART: read %zd %s, handler ran %d\n", n, strerror(errno), (int)g_count);

    g_count = 0;
    set_handler(SIGALRM, on_alarm_write, SA_RESTART);
    setitimer(ITIMER_REAL, &it, NULL);
    n = read(g_pipe[0], &c, 1);
    printf("with SA_RESTART: read %zd '%c', handler ran %d\n", n, n == 1 ? c : '?', (int)g_count);

    /* pause() and nanosleep() are never restarted. */
    set_handler(SIGALRM, on_count, SA_RESTART);
    setitimer(ITIMER_REAL, &it, NULL);
    int pr = pause();
    printf("pause: %d %s\n", pr, strerror(errno));
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec req = {2, 0}, rem = {0, 0};
    errno = 0;
    int r = nanosleep(&req, &rem);
    printf("nanosleep: %d %s, time left between 1.5 and 2 s: %s\n", r, strerror(errno),
           rem.tv_sec == 1 && rem.tv_nsec > 500000000 ? "yes" : "no");
    /* poll on a pipe with nothing to read: EINTR too. */
    setitimer(ITIMER_REAL, &it, NULL);
    struct pollfd pf = {g_pipe[0], POLLIN, 0};
    r = poll(&pf, 1, 2000);
    printf("poll: %d %s\n", r, strerror(errno));
    return 0;
}

/* ---- SIGPIPE: EPIPE when ignored or handled, death by default ---- */
static int case_sigpipe(void) {
    int p[2];
    if (pipe(p) != 0)
        return 1;
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    ssize_t w = write(p[1], "x", 1);
    printf("ignored: write %zd %s\n", w, strerror(errno));
    set_handler(SIGPIPE, on_count, 0);
    errno = 0;
    ssize_t n = write(p[1], "x", 1);
    printf("handled: write %zd %s, handler ran %d\n", n, strerror(errno), (int)g_count);
    signal(SIGPIPE, SIG_DFL);
    printf("default: writing\n");
    n = write(p[1], "x", 1);
    printf("not reached: %zd\n", n);
    return 0;
}

/* ---- timers: setitimer periodic, delivery into a busy loop, alarm, POSIX timers ---- */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int case_timers(void) {
    set_handler(SIGALRM, on_count, 0);
    struct itimerval it = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &it, NULL);
    while (g_count < 5)
        pause();
    struct itimerval off = {{0, 0}, {0, 0}}, old;
    setitimer(ITIMER_REAL, &off, &old);
    printf("periodic ITIMER_REAL: %d signals, interval kept %ld us\n", (int)g_count, (long)old.it_interval.tv_usec);
    getitimer(ITIMER_REAL, &old);
    printf("disarmed: %ld %ld\n", (long)old.it_value.tv_sec, (long)old.it_value.tv_usec);

    /* A program that computes without system calls still gets its signal. */
    g_count = 0;
    struct itimerval once = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &once, NULL);
    double t0 = now_s();
    while (!g_count && now_s() - t0 < 5)
        ;
    printf("busy loop interrupted: %s\n", g_count ? "yes" : "no (timed out)");
    /* ... also when the loop never enters the vDSO or the kernel. */
    g_count = 0;
    setitimer(ITIMER_REAL, &once, NULL);
    for (volatile unsigned long i = 0; !g_count && i < 20000000000ul; ++i)
        ;
    printf("pure compute loop interrupted: %s\n", g_count ? "yes" : "no (gave up)");

    unsigned first = alarm(5);
    unsigned second = alarm(0);
    printf("alarm(5): %u, then alarm(0): %u\n", first, second);
    int r = setitimer(99, &once, NULL);
    printf("setitimer(99): %d %s\n", r, strerror(errno));
    return 0;
}

/* A timer's default action ends a child that computes without system calls
   (the signal meets it at an interrupt's return to user code); afterwards
   the parent's own timer still interrupts its compute loop, so the CPU
   still takes interrupts. */
static int case_timer_kill(void) {
    for (int round = 0; round < 3; ++round) {
        pid_t p = fork();
        if (p == 0) {
            signal(SIGALRM, SIG_DFL);
            struct itimerval once = {{0, 0}, {0, 20000}};
            setitimer(ITIMER_REAL, &once, NULL);
            double t0 = now_s();
            while (now_s() - t0 < 5)
                ;
            _exit(0);
        }
        int st = 0;
        waitpid(p, &st, 0);
        printf("child %d: killed by signal %d\n", round, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
    set_handler(SIGALRM, on_count, 0);
    g_count = 0;
    struct itimerval once = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &once, NULL);
    double t0 = now_s();
    while (!g_count && now_s() - t0 < 5)
        ;
    printf("the parent's loop interrupted after: %s\n", g_count ? "yes" : "no (timed out)");
    return 0;
}

static int case_posix_timers(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    ev.sigev_value.sival_int = 77;
    timer_t t;
    printf("timer_create: %d\n", timer_create(CLOCK_MONOTONIC, &ev, &t));
    struct itimerspec its = {{0, 5000000}, {0, 5000000}};
    printf("timer_settime: %d\n", timer_settime(t, 0, &its, NULL));
    for (int i = 0; i < 3; ++i) {
        siginfo_t si;
        int s = sigwaitinfo(&set, &si);
        printf("expiry %d: %s, code %s, value %d\n", i + 1, s == SIGRTMIN ? "SIGRTMIN" : "?", code_name(si.si_code),
               si.si_value.sival_int);
    }
    struct itimerspec cur;
    timer_gettime(t, &cur);
    printf("timer_gettime: interval %ld ns, value within it: %s\n", cur.it_interval.tv_nsec,
           cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 5000000 ? "yes" : "no");
    printf("timer_delete: %d\n", timer_delete(t));
    int r = timer_gettime(t, &cur);
    printf("timer_gettime after delete: %d %s\n", r, strerror(errno));

    /* SIGEV_NONE: counts down, never signals; CLOCK_REALTIME absolute. */
    ev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_REALTIME, &ev, &t);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec abs = {{0, 0}, {now.tv_sec + 10, now.tv_nsec}};
    timer_settime(t, TIMER_ABSTIME, &abs, NULL);
    timer_gettime(t, &cur);
    printf("SIGEV_NONE absolute: about 10 s left: %s\n", cur.it_value.tv_sec == 9 || cur.it_value.tv_sec == 10 ? "yes" : "no");
    timer_delete(t);
    return 0;
}

/* ---- CPU exceptions to handlers: #DE, #UD, #GP, #XM ---- */
static volatile int g_trap_sig, g_trap_code;
static volatile uintptr_t g_trap_addr;
static void on_trap(int sig, siginfo_t* si, void* uc) {
    (void)uc;
    g_trap_sig = sig;
    g_trap_code = si->si_code;
    g_trap_addr = (uintptr_t)si->si_addr;
    siglongjmp(g_jmp, 1);
}

static const char* sig_name(int sig) {
    return sig == SIGFPE ? "SIGFPE" : sig == SIGILL ? "SIGILL" : sig == SIGSEGV ? "SIGSEGV" : "?";
}

static int case_traps(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(g_jmp, 1) == 0) {
        volatile int zero = 0, one = 1;
        printf("not reached %d\n", one / zero);
    }
    printf("integer divide by zero: %s code %d (FPE_INTDIV %d)\n", sig_name(g_trap_sig), g_trap_code, FPE_INTDIV);
    if (sigsetjmp(g_jmp, 1) == 0)
        __asm__ volatile("ud2");
    printf("ud2: %s code %d (ILL_ILLOPN %d)\n", sig_name(g_trap_sig), g_trap_code, ILL_ILLOPN);
    if (sigsetjmp(g_jmp, 1) == 0) {
        volatile long* noncanonical = (long*)0x8000000000000000ul;
        printf("not reached %ld\n", *noncanonical);
    }
    printf("non-canonical load (#GP): %s code 0x%x, si_addr 0x%lx\n", sig_name(g_trap_sig), g_trap_code,
           (unsigned long)g_trap_addr);
    if (sigsetjmp(g_jmp, 1) == 0) {
        unsigned m;
        __asm__ volatile("stmxcsr %0" : "=m"(m));
        m &= ~(1u << 9);  /* unmask divide-by-zero */
        __asm__ volatile("ldmxcsr %0" : : "m"(m));
        volatile float a = 1.0f, b = 0.0f;
        printf("not reached %f\n", a / b);
    }
    printf("SSE divide by zero (#XM): %s code %d (FPE_FLTDIV %d)\n", sig_name(g_trap_sig), g_trap_code, FPE_FLTDIV);
    /* Blocked: the default action (the VM's report) applies. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGILL);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("ud2 with SIGILL blocked\n");
    __asm__ volatile("ud2");
    printf("not reached\n");
    return 0;
}

/* ---- signals sent to lightvm itself reach the guest's first process ---- */
static volatile sig_atomic_t g_host_sig;
static void on_host(int sig) { g_host_sig = sig; }

static int case_host(void) {
    const int sigs[] = {SIGHUP, SIGINT, SIGUSR1, SIGWINCH, SIGTERM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; ++i)
        set_handler(sigs[i], on_host, 0);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        pause();
        int sig = g_host_sig;
        printf("got %s\n", sig == SIGHUP ? "SIGHUP" : sig == SIGINT ? "SIGINT" : sig == SIGUSR1 ? "SIGUSR1"
                                : sig == SIGWINCH ? "SIGWINCH" : sig == SIGTERM ? "SIGTERM" : "?");
        fflush(stdout);
        if (sig == SIGTERM)
            return 7;
    }
}

struct Case {
    const char* name;
    int (*fn)(void);
};
static const struct Case kCases[] = {
    {"basic", case_basic}, {"siginfo", case_siginfo}, {"flags", case_flags}, {"masks", case_masks},
    {"altstack", case_altstack}, {"fpu", case_fpu}, {"no-restorer", case_no_restorer},
    {"restart", case_restart}, {"sigpipe", case_sigpipe}, {"timers", case_timers},
    {"posix-timers", case_posix_timers}, {"traps", case_traps},
    {"fpu-fork", case_fpu_fork}, {"timer-kill", case_timer_kill},
};

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char* which = argc > 1 ? argv[1] : "list";
    if (strcmp(which, "list") == 0) {
        for (size_t i = 0; i < sizeof kCases / sizeof kCases[0]; ++i)
            printf("%s\n", kCases[i].name);
        return 0;
    }
    if (strcmp(which, "host") == 0)
        return case_host();
    if (strcmp(which, "segv") == 0)
        return case_segv();
    if (strncmp(which, "hostile-", 8) == 0)
        return case_hostile(which + 8);
    if (strcmp(which, "abort") == 0) {
        set_handler(SIGABRT, SIG_DFL, 0);
        raise(SIGABRT);
        return 0;
    }
    if (strcmp(which, "count") == 0 && argc > 2) {
        /* N self-signals, for the exit count (and bench/): kill + handler + rt_sigreturn. */
        set_handler(SIGUSR1, on_count, 0);
        int n = atoi(argv[2]);
        for (int i = 0; i < n; ++i)
            kill(getpid(), SIGUSR1);
        printf("%d handlers ran\n", (int)g_count);
        return 0;
    }
    if (strcmp(which, "bench") == 0 && argc > 2) {
        /* bench/signal_bench.sh: ns per self-signal (kill, handler, rt_sigreturn)
           and per sigprocmask pair (block, unblock), over N each. */
        set_handler(SIGUSR1, on_count, 0);
        int n = atoi(argv[2]);
        pid_t me = getpid();
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        double t0 = now_s();
        for (int i = 0; i < n; ++i)
            kill(me, SIGUSR1);
        double t1 = now_s();
        for (int i = 0; i < n; ++i) {
            sigprocmask(SIG_BLOCK, &set, NULL);
            sigprocmask(SIG_UNBLOCK, &set, NULL);
        }
        double t2 = now_s();
        printf("signal %.0f sigprocmask-pair %.0f handlers %d\n", (t1 - t0) / n * 1e9, (t2 - t1) / n * 1e9, (int)g_count);
        return 0;
    }
    if (strcmp(which, "term") == 0) {
        kill(getpid(), SIGTERM);
        printf("not reached\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof kCases / sizeof kCases[0]; ++i)
        if (strcmp(which, kCases[i].name) == 0)
            return kCases[i].fn();
    fprintf(stderr, "signals: unknown case %s\n", which);
    return 2;
}

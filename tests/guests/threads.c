// Threads in one process (one vCPU for now), each check a name: `threads
// CHECK` prints what it saw; the guest tests compare with a native run
// (tests/guest/threads_test.cpp). `threads list` names them.
#define _GNU_SOURCE
#include <errno.h>
#define FUTEX_WAIT_PRIVATE 128  /* linux/futex.h (not on musl-gcc's include path) */
#define FUTEX_WAKE_PRIVATE 129
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char* fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    write(1, buf, (size_t)n);
}

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static long g_counter;
static __thread long t_local = 5;

static void* count(void* arg) {
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&g_mutex);
        g_counter++;
        pthread_mutex_unlock(&g_mutex);
    }
    t_local += n;
    return (void*)t_local;
}

static void create_join(void) {
    pthread_t t[16];
    for (int i = 0; i < 16; i++)
        pthread_create(&t[i], NULL, count, (void*)20000L);
    long sum = 0;
    for (int i = 0; i < 16; i++) {
        void* r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    say("counter %ld, thread-local results %ld, main's own %ld\n", g_counter, sum, t_local);
}

static void many_threads(void) {
    int ok = 0;
    for (int round = 0; round < 200; round++) {
        pthread_t t[10];
        for (int i = 0; i < 10; i++)
            ok += pthread_create(&t[i], NULL, count, (void*)10L) == 0;
        for (int i = 0; i < 10; i++)
            pthread_join(t[i], NULL);
    }
    say("%d threads created and joined, counter %ld\n", ok, g_counter);
}

static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static int g_turn;

static void* ping(void* arg) {
    int me = (int)(long)arg;
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&g_mutex);
        while (g_turn != me)
            pthread_cond_wait(&g_cond, &g_mutex);
        g_turn = 1 - me;
        g_counter++;
        pthread_cond_broadcast(&g_cond);
        pthread_mutex_unlock(&g_mutex);
    }
    return NULL;
}

static void condvar_pingpong(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, ping, (void*)0L);
    pthread_create(&b, NULL, ping, (void*)1L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    say("2000 alternating turns: %ld\n", g_counter);
}

static pthread_barrier_t g_barrier;
static pthread_rwlock_t g_rw = PTHREAD_RWLOCK_INITIALIZER;

static void* barrier_worker(void* arg) {
    (void)arg;
    for (int i = 0; i < 50; i++) {
        pthread_rwlock_wrlock(&g_rw);
        g_counter++;
        pthread_rwlock_unlock(&g_rw);
        pthread_barrier_wait(&g_barrier);
        pthread_rwlock_rdlock(&g_rw);
        long seen = g_counter;
        pthread_rwlock_unlock(&g_rw);
        if (seen < (i + 1) * 4)
            say("barrier broken: %ld\n", seen);
        pthread_barrier_wait(&g_barrier);
    }
    return NULL;
}

static void barrier_rwlock(void) {
    pthread_barrier_init(&g_barrier, NULL, 4);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, barrier_worker, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    say("barrier rounds done, counter %ld\n", g_counter);
}

static void* sleeper(void* arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void* exiter(void* arg) {
    usleep(20000);
    exit((int)(long)arg);
}

static void exit_from_thread(void) {
    pid_t p = fork();
    if (p == 0) {
        pthread_t a, b, c;
        pthread_create(&a, NULL, sleeper, NULL);
        pthread_create(&b, NULL, sleeper, NULL);
        pthread_create(&c, NULL, exiter, (void*)42L);
        pthread_join(a, NULL);  // never: exit() in c ends everyone
        _exit(1);
    }
    int st;
    waitpid(p, &st, 0);
    say("exit(42) from a thread while others sleep: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

static void* last_one(void* arg) {
    (void)arg;
    usleep(10000);
    say("the last thread still runs after main's pthread_exit\n");
    return NULL;
}

static void main_pthread_exit(void) {
    pid_t p = fork();
    if (p == 0) {
        pthread_t t;
        pthread_create(&t, NULL, last_one, NULL);
        pthread_exit(NULL);
    }
    int st;
    waitpid(p, &st, 0);
    say("process ended with status %d\n", WEXITSTATUS(st));
}

static void* exec_worker(void* arg) {
    (void)arg;
    char* argv[] = {"/proc/self/exe", "exec-target", NULL};
    execv("/proc/self/exe", argv);
    return NULL;
}

static void exec_from_thread(void) {
    pid_t p = fork();
    if (p == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, sleeper, NULL);
        pthread_create(&b, NULL, exec_worker, NULL);
        pthread_join(a, NULL);
        _exit(1);
    }
    int st;
    waitpid(p, &st, 0);
    say("exec from a thread: status %d\n", WEXITSTATUS(st));
}

static void* forker(void* arg) {
    (void)arg;
    pid_t p = fork();
    if (p == 0) {
        // Only the forking thread exists in the child.
        _exit(7);
    }
    int st;
    waitpid(p, &st, 0);
    return (void*)(long)WEXITSTATUS(st);
}

static void fork_from_thread(void) {
    pthread_t a, b;
    void* r;
    pthread_create(&a, NULL, sleeper, NULL);
    pthread_create(&b, NULL, forker, NULL);
    pthread_join(b, &r);
    say("fork in a thread: child status %ld\n", (long)r);
}

static void futex_timeout(void) {
    uint32_t word = 1;
    struct timespec ts = {0, 20 * 1000 * 1000};
    long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
    say("wait with timeout: %ld %s\n", r, strerror(errno));
    r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 2, &ts, NULL, 0);
    say("wait on a changed word: %ld %s\n", r, strerror(errno));
    r = syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 5, NULL, NULL, 0);
    say("wake nobody: %ld\n", r);
}

static volatile int g_got;
static void on_usr1(int sig) { g_got = sig; }
static void* usr1_waiter(void* arg) {
    (void)arg;
    while (!g_got)
        usleep(1000);
    return (void*)(long)syscall(SYS_gettid);
}

static void tgkill_thread(void) {
    signal(SIGUSR1, on_usr1);
    pthread_t t;
    pthread_create(&t, NULL, usr1_waiter, NULL);
    usleep(5000);
    pthread_kill(t, SIGUSR1);
    void* tid;
    pthread_join(t, &tid);
    say("handler ran for signal %d; thread id differs from pid: %d\n", g_got, (long)tid != getpid());
}

static void* detached(void* arg) {
    (void)arg;
    __atomic_add_fetch(&g_counter, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void detached_threads(void) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        pthread_create(&t, &a, detached, NULL);
    }
    while (__atomic_load_n(&g_counter, __ATOMIC_SEQ_CST) < 50)
        usleep(1000);
    say("50 detached threads ran\n");
}

// Preemption: threads that never make a system call still share the CPU.
// A spin-wait on a flag another thread sets (the classic "hangs without a
// timer tick"), and two spinners that each must see the other progress.
static volatile int g_flag;
static volatile long g_spins[2];
static volatile int g_spinners_done;

static void* set_flag(void* arg) {
    (void)arg;
    for (volatile long i = 0; i < 1000000; i++) {
    }
    g_flag = 1;
    return NULL;
}

static void* spinner(void* arg) {
    long me = (long)arg, other = 1 - me;
    // Spins until it has seen the other spinner advance 3 times (possible
    // on one CPU only if the CPU is taken away from it), and goes on
    // advancing until the other has seen it too.
    long seen = g_spins[other], changes = 0;
    while (changes < 3) {
        g_spins[me]++;
        if (g_spins[other] != seen) {
            seen = g_spins[other];
            changes++;
        }
    }
    __atomic_add_fetch(&g_spinners_done, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&g_spinners_done, __ATOMIC_SEQ_CST) < 2)
        g_spins[me]++;
    return NULL;
}

static void spin_wait(void) {
    pthread_t t;
    pthread_create(&t, NULL, set_flag, NULL);
    while (!g_flag) {
    }
    pthread_join(t, NULL);
    pthread_t a, b;
    pthread_create(&a, NULL, spinner, (void*)0);
    pthread_create(&b, NULL, spinner, (void*)1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    // Processes too: the parent spins on shared memory its child writes.
    volatile int* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pid = fork();
    if (pid == 0) {
        *shared = 7;
        _exit(0);
    }
    while (*shared != 7) {
    }
    int status;
    waitpid(pid, &status, 0);
    say("spin-wait saw the flag; two spinners saw each other progress; parent saw its child's write %d\n",
        *shared);
}

// A robust mutex whose owner thread exits holding it: the next lock says
// EOWNERDEAD (the kernel walked the dead thread's robust list), the new
// owner makes it consistent, and it works again. A waiter blocked on it
// when the owner dies is woken with EOWNERDEAD too.
static pthread_mutex_t g_robust;
static int g_robust_held;
static void* lock_and_die(void* arg) {
    pthread_mutex_lock(&g_robust);
    __atomic_store_n(&g_robust_held, 1, __ATOMIC_SEQ_CST);
    if (arg)
        usleep(50000);  // let the main thread block on it
    return NULL;        // exits holding it
}

static void robust_mutex(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&g_robust, &a);
    pthread_t t;
    pthread_create(&t, NULL, lock_and_die, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&g_robust);
    say("lock after the owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
    say("consistent: %d\n", pthread_mutex_consistent(&g_robust));
    pthread_mutex_unlock(&g_robust);
    say("lock again: %d\n", pthread_mutex_lock(&g_robust));
    pthread_mutex_unlock(&g_robust);
    __atomic_store_n(&g_robust_held, 0, __ATOMIC_SEQ_CST);
    pthread_create(&t, NULL, lock_and_die, (void*)1);
    while (!__atomic_load_n(&g_robust_held, __ATOMIC_SEQ_CST))
        usleep(1000);
    r = pthread_mutex_lock(&g_robust);  // blocks until the owner dies
    say("waiter woken by the owner's death: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
    pthread_mutex_consistent(&g_robust);
    pthread_mutex_unlock(&g_robust);
    pthread_join(t, NULL);
}

// A thread keeps reading a page (no system call: nothing reloads its TLB)
// while main replaces the mapping under it (MAP_FIXED, then munmap and a
// new mapping at the same address). With several CPUs the reader runs on
// another one, whose cached translation the kernel must flush before the
// old frame is reused: the reader must see the new contents, never the
// old page's value once main says the change is done.
static volatile int* g_tlb_page;
static volatile int g_tlb_phase, g_tlb_seen_new, g_tlb_stale;
static void* tlb_reader(void* arg) {
    (void)arg;
    while (__atomic_load_n(&g_tlb_phase, __ATOMIC_ACQUIRE) < 3) {
        const int phase = __atomic_load_n(&g_tlb_phase, __ATOMIC_ACQUIRE);
        const int v = __atomic_load_n(&g_tlb_page[0], __ATOMIC_RELAXED);
        if (phase == 0 && v == 1)
            g_tlb_phase = 1;  // running, and the old page is in its TLB
        if (phase == 2) {
            if (v == 2)
                g_tlb_seen_new = 1;
            else
                g_tlb_stale++;
        }
    }
    return NULL;
}

static void tlb_shootdown(void) {
    int stale = 0, rounds = 0;
    for (; rounds < 20; rounds++) {
        g_tlb_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        g_tlb_page[0] = 1;
        g_tlb_phase = 0;
        g_tlb_seen_new = 0;
        g_tlb_stale = 0;
        pthread_t t;
        pthread_create(&t, NULL, tlb_reader, NULL);
        while (g_tlb_phase != 1) {
        }
        // Replace the page: its frame goes back to the kernel, a new one comes.
        volatile int* fresh = mmap((void*)g_tlb_page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        __atomic_store_n(&fresh[0], 2, __ATOMIC_RELAXED);
        __atomic_store_n(&g_tlb_phase, 2, __ATOMIC_RELEASE);  // after the new page's value
        while (!g_tlb_seen_new && !g_tlb_stale) {
        }
        g_tlb_phase = 3;
        pthread_join(t, NULL);
        stale += g_tlb_stale;
        munmap((void*)fresh, 4096);
    }
    say("a reader on another thread saw the replaced page in %d rounds, stale reads %d\n", rounds, stale);
}

struct check {
    const char* name;
    void (*fn)(void);
};
static const struct check checks[] = {
    {"create_join", create_join},       {"many_threads", many_threads},   {"condvar_pingpong", condvar_pingpong},
    {"barrier_rwlock", barrier_rwlock}, {"exit_from_thread", exit_from_thread}, {"main_pthread_exit", main_pthread_exit},
    {"exec_from_thread", exec_from_thread}, {"fork_from_thread", fork_from_thread}, {"futex_timeout", futex_timeout},
    {"tgkill_thread", tgkill_thread},   {"detached_threads", detached_threads}, {"spin_wait", spin_wait},
    {"robust_mutex", robust_mutex},     {"tlb_shootdown", tlb_shootdown},
};

int main(int argc, char** argv) {
    if (argc >= 2 && !strcmp(argv[1], "exec-target"))
        return 9;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; ++i) {
        if (argc < 2 || !strcmp(argv[1], "list"))
            say("%s\n", checks[i].name);
        else if (!strcmp(argv[1], checks[i].name)) {
            checks[i].fn();
            return 0;
        }
    }
    return argc < 2 || !strcmp(argv[1], "list") ? 0 : 2;
}

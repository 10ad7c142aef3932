#include "kernel/proc/sched.hpp"

#include "kernel/proc/host_exec.hpp"
#include "kernel/irq/irq.hpp"
#include "kernel/irq/timer.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/proc/cputime.hpp"
#include "kernel/proc/fpu.hpp"
#include "kernel/proc/ktimer.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/rusage.hpp"
#include "kernel/proc/task_list.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/smp/cpus.hpp"
#include "kernel/time/clock.hpp"

extern "C" void lvm_switch(uint64_t* save_rsp, uint64_t next_rsp);
extern "C" void lvm_kthread_start();

namespace lightvm::guest {

namespace {

uint64_t g_idle_count;
void (*g_idle_hook)();
bool (*g_idle_poller)(uint64_t, bool);

// Kernel threads: tasks from a small pool, stacks from mm/kstack (each
// with its guard page).
constexpr int kMaxKthreads = 3 + 16;  // + one per host exec with a terminal (exec/exec_tty.cpp; the monitor's kMaxExecClients)
Task g_kthreads[kMaxKthreads];
uint32_t g_next_tid = 1u << 22;  // kernel threads' tids, far above the program's

// The time slice: a task that runs this long while another can run is
// preempted at its next return to user mode. Each slice that ends costs
// two exits (the timer interrupt, re-arming), ~60 us on PVM: 0.6 % of a
// 10 ms slice (docs/design.md, "Preemption").
constexpr uint64_t kSliceNs = 10'000'000;

// Idle "forever": the longest sleep the monitor accepts; repeated.
constexpr uint64_t kForeverNs = ~0ull >> 2;
// With several CPUs online, an idle CPU polls host sockets at least this
// often (it cannot wait in the monitor holding the kernel lock).
constexpr uint64_t kSmpPollNs = 1'000'000;
// How long an idle CPU waits for a timer interrupt that is late (idle()).
constexpr uint64_t kLateTimerNs = 50'000;

void set_fs_base(uint64_t base) {
    if (boot().flags & abi::kBootHasFsgsbase) {
        asm volatile("wrfsbase %0" : : "r"(base) : "memory");
        return;
    }
    volatile abi::HcSetFsBase hc{base, 0};
    hypercall(abi::kHcSetFsBase, &hc);
}

// A task that exited: its stack is in use until the switch away from it,
// so whatever this CPU runs next frees it (sched_finish_switch). Per CPU:
// another CPU may switch while this one idles on the dead task's stack.
Task* g_dead[abi::kMaxCpus];
Process* g_dead_reaped[abi::kMaxCpus];  // its process, to free with it (sched_exit_task)
// The task this CPU switched away from: it is free to run elsewhere once
// the switch saved its registers (sched_finish_switch).
Task* g_switched_from[abi::kMaxCpus];

// A user task's tables, loaded unless they are: an idle CPU may have left
// them for the kernel's (sleep_cpu) while the task it idled for slept.
void load_tables_of(const Task* t) {
    if (t->user && t->process->mm->root != mm_loaded_root())
        mm_load_root(t->process->mm->root);
}

void switch_to(Task* prev, Task* next) {
    if (prev == next) {
        load_tables_of(next);
        return;
    }
    Cpu& cpu = this_cpu();
    cpu.current = next;
    lvm_percpu[cpu.id].kstack_top = next->kstack.top;
    next->on_cpu = static_cast<uint8_t>(cpu.id + 1);
    g_switched_from[cpu.id] = prev;
    if (next->fs_base != prev->fs_base)
        set_fs_base(next->fs_base);
    load_tables_of(next);  // kernel threads run in whatever address space is loaded
    fpu_switch(prev, next);  // the user's x87/SSE registers are per task
    lvm_switch(&prev->ksp, next->ksp);
    sched_finish_switch();
}

// Runs expired kernel timers (their wake-ups make tasks runnable) and
// wakes tasks whose deadline passed.
void expire_deadlines() {
    ktimer_poll();
    uint64_t now = 0;
    for (int i = 0, n = tasks_count(); i < n; ++i) {
        Task* t = tasks_at(i);
        if (t->state != TaskState::Blocked || !t->deadline_ns)
            continue;
        if (!now)
            now = monotonic_ns();
        if (t->deadline_ns <= now)
            t->state = TaskState::Running;
    }
}

// The earlier of two deadlines, 0 meaning none.
uint64_t earlier(uint64_t a, uint64_t b) { return !a ? b : !b ? a : a < b ? a : b; }

// May this CPU switch to t? Runnable, and nobody else's context.
bool available(const Task* t, uint32_t cpu) {
    return t->state == TaskState::Running && (!t->on_cpu || t->on_cpu == cpu + 1);
}

// Round robin: the next runnable task after `from`, possibly `from` itself.
Task* pick_next(Task* from) {
    const uint32_t cpu = this_cpu().id;
    const int n = tasks_count();
    int start = 0;
    for (int i = 0; i < n; ++i)
        if (tasks_at(i) == from)
            start = i + 1;
    for (int k = 0; k < n; ++k) {
        Task* t = tasks_at((start + k) % n);
        if (available(t, cpu))
            return t;
    }
    return nullptr;
}

// Nothing can run: sleep in the monitor until the earliest deadline (one
// exit), or for as long as it takes. Masked: an interrupt that comes
// after the check runs its handler after the sleep, never between the
// check and the sleep, where the wake-up it brings would be lost; the
// monitor does not let a sleep wait when it injected one while this CPU
// was masked (Interrupts::take_sleep_wake).
uint64_t earliest_deadline() {
    uint64_t earliest = earlier(irq::timer_earliest(), ktimer_earliest());
    for (int i = 0, n = tasks_count(); i < n; ++i) {
        Task* t = tasks_at(i);
        if (t->state == TaskState::Blocked && t->deadline_ns && (!earliest || t->deadline_ns < earliest))
            earliest = t->deadline_ns;
    }
    return earliest;
}

// Sleeps this CPU in the monitor for ns (one exit), the kernel lock
// released meanwhile when other CPUs are online (they may need it, and
// wake this one with kHcCpu kCpuKick). Masked: deferred sources run when
// the caller unmasks, under the lock again.
void sleep_cpu(uint64_t ns) {
    Cpu& me = this_cpu();
    const uint32_t id = me.id;
    const bool smp = cpus_online() > 1;
    if (smp) {
        // Off the program's tables: an address space may be freed while this
        // CPU sleeps, and nobody would tell a sleeping CPU (smp/tlb_shootdown).
        if (me.loaded_root != mm_kernel_root())
            mm_load_root(mm_kernel_root());
        me.idle = 1;
        bkl_unlock();
    }
    if (!smp || !cpu_idle_poll(id, ns)) {
        volatile abi::HcSleep& hc = g_cpus[id].hc_sleep;  // not this_cpu(): the lock may be released
        hc.nanoseconds = ns;
        hc.result = 0;
        hypercall(abi::kHcSleep, &hc);
    }
    if (smp) {
        bkl_lock(id);
        Cpu& c = g_cpus[id];
        if (c.tlb_stale) {  // a shootdown passed it by while it slept (smp/tlb_shootdown.cpp)
            c.tlb_stale = 0;
            mm_load_root(c.loaded_root);  // a CR3 load flushes
        }
        c.idle = 0;
        c.kicked = 0;
    }
}

void idle() {
    irq::MaskGuard masked;
    const uint32_t cpu = this_cpu().id;
    for (int i = 0, n = tasks_count(); i < n; ++i)
        if (available(tasks_at(i), cpu))
            return;  // an interrupt handler (or another CPU) woke it since pick_next
    // Nothing runs, so nothing is to be preempted: a tick still armed would
    // cut the sleep short and cost a second sleep. Cancelling is one exit
    // (only when armed); the sleep below covers every deadline itself.
    // With several CPUs the idle one spins first and is usually handed work
    // within microseconds (a pipe's partner): there the cancel and the
    // re-arm at the next switch were two exits per hand-off, the stale tick
    // is at most one (a 256 MiB pipeline on 2 vCPUs: 8,700 timer exits ->
    // ~1,000, docs/benchmarks.md §21b).
    if (irq::timer_deadline(irq::TimerSlot::Preempt) && cpus_online() == 1)
        irq::timer_arm(irq::TimerSlot::Preempt, 0, nullptr);
    uint64_t earliest = earliest_deadline();
    if (g_idle_hook)
        g_idle_hook();
    uint64_t now = monotonic_ns();
    uint64_t ns = !earliest ? kForeverNs : earliest > now ? earliest - now : 0;
    // A timer deadline that passed with nothing runnable: its interrupt is
    // still on its way (the host's clock a little behind ours), or it is
    // another CPU's timer, whose handler needs the kernel lock this loop
    // would hold for ever (a livelock seen with zsh's `timeout`: CPU 0
    // spun here while CPU 1 waited for the lock). A short sleep in the
    // monitor lets the lock go and the interrupt come.
    if (!ns)
        ns = kLateTimerNs;
    // The network's idle poll waits in the monitor holding the lock: only
    // while this is the only CPU. With several, it polls without waiting
    // and again within kSmpPollNs (docs/design.md, "Several vCPUs").
    if (ns && g_idle_poller && cpus_online() == 1 && g_idle_poller(ns, !earliest)) {
        g_idle_count++;
        return;
    }
    if (ns && g_idle_poller && cpus_online() > 1 && g_idle_poller(0, false)) {
        for (int i = 0, n = tasks_count(); i < n; ++i)
            if (available(tasks_at(i), cpu))
                return;  // a socket was ready
        if (ns > kSmpPollNs)
            ns = kSmpPollNs;
    }
    if (ns) {
        sleep_cpu(ns);
        g_idle_count++;
    }
}

void on_tick(const irq::Frame*) { this_cpu().need_resched = 1; }

// While `cur` runs, something else may want the CPU: another runnable task
// (at the end of cur's slice), a blocked task's deadline or a kernel
// timer's. Arms the preemption tick for the earliest (an exit only when it
// is earlier than what is armed: a later wish waits for the armed tick,
// whose schedule() re-arms).
void arm_tick(Task* cur) {
    uint64_t want = ktimer_earliest();
    for (int i = 0, n = tasks_count(); i < n; ++i) {
        Task* t = tasks_at(i);
        if (t == cur)
            continue;
        if (t->state == TaskState::Running && !t->on_cpu)  // waiting for a CPU
            want = earlier(want, cur->slice_start_ns + kSliceNs);
        else if (t->state == TaskState::Blocked && t->deadline_ns)
            want = earlier(want, t->deadline_ns);
    }
    const uint64_t armed = irq::timer_deadline(irq::TimerSlot::Preempt);
    if (want && (!armed || want < armed))
        irq::timer_arm(irq::TimerSlot::Preempt, want, on_tick);
}

// t became runnable while the current task runs: make sure the current
// task's slice ends (no task scan: this runs in interrupt handlers too,
// when a timer's signal wakes a task).
void note_runnable(Task* t) {
    Task* cur = current();
    if (!cur || t == cur)
        return;
    if (t->on_cpu) {  // another CPU's context (it idles on its stack): only that CPU may run it
        cpu_kick_if_idle(t->on_cpu - 1u);
        return;
    }
    // A task that ran alone longer than a slice gets a whole one from now:
    // contention starts here (a forked child does not take the CPU from its
    // parent at once, as on Linux without sched_child_runs_first).
    const uint64_t now = monotonic_ns();
    if (now - cur->slice_start_ns > kSliceNs)
        cur->slice_start_ns = now;
    uint64_t want = cur->slice_start_ns + kSliceNs;
    // Another CPU could take it: if the current task does not block within
    // kSpreadNs, schedule() sends the waiting one there (smp/cpus.hpp).
    if (cpus_spare() && now + kSpreadNs < want)
        want = now + kSpreadNs;
    const uint64_t armed = irq::timer_deadline(irq::TimerSlot::Preempt);
    if (!armed || want < armed)
        irq::timer_arm(irq::TimerSlot::Preempt, want, on_tick);
}

// Runnable tasks no CPU runs, besides the one this CPU continues with.
uint32_t waiting_tasks(const Task* prev) {
    uint32_t n = 0;
    for (int i = 0, k = tasks_count(); i < k; ++i) {
        const Task* t = tasks_at(i);
        if (t->state == TaskState::Running && !t->on_cpu)
            n++;
    }
    // prev continues here if it can; if not, this CPU takes one of them.
    const bool prev_runs = prev->state == TaskState::Running && prev != this_cpu().idle_task;
    return prev_runs || !n ? n : n - 1;
}

void schedule() {
    Task* prev = current();
    cputime_stop(prev);  // blocked or yielding: its CPU time stops here
    this_cpu().need_resched = 0;
    const bool counted = prev != this_cpu().idle_task && prev->state != TaskState::Dead;
    const bool waits = prev->state == TaskState::Blocked;
    if (counted && waits)
        rusage_switch(prev, false);  // it waits: voluntary, whoever runs meanwhile
    for (;;) {
        exec_serve();  // the host's exec requests become runnable tasks here
        expire_deadlines();
        if (cpus_online() > 1 || cpus_possible() > 1)
            if (const uint32_t w = waiting_tasks(prev))
                cpus_take_runnable(w);  // idle CPUs, or new ones, take the rest
        if (Task* next = pick_next(prev)) {
            if (next != prev) {
                next->slice_start_ns = monotonic_ns();
                if (counted && !waits && prev->state == TaskState::Running)
                    rusage_switch(prev, true);  // preempted, or yielded to another
            }
            switch_to(prev, next);  // a switch ends in sched_finish_switch, which arms the tick
            if (next == prev)
                arm_tick(prev);
            cputime_start(current());  // running again (after others, or at once)
            return;
        }
        idle();
    }
}

}  // namespace

void sched_add_task(Task* t) {
    tasks_add(t);
    if (t->state == TaskState::Running)
        note_runnable(t);
}

void sched_release_vfork(Task* t) {
    if (Task* parent = t->vfork_parent) {
        t->vfork_parent = nullptr;
        parent->vfork_done = true;
        sched_wake(parent);
    }
}

void sched_set_user_fs_base(uint64_t base) {
    current()->fs_base = base;
    set_fs_base(base);
}

void sched_finish_switch() {
    const uint32_t cpu = this_cpu().id;
    if (Task* prev = g_switched_from[cpu]) {  // its registers are saved: others may run it
        g_switched_from[cpu] = nullptr;
        if (prev != current())
            prev->on_cpu = 0;
    }
    arm_tick(current());  // here, not in schedule(): a new task starts its life here
    if (Task* t = g_dead[cpu]) {
        g_dead[cpu] = nullptr;
        kstack_free(t->kstack);
        task_free(t);
        Process* p = g_dead_reaped[cpu];
        g_dead_reaped[cpu] = nullptr;
        if (p)
            process_free(p);  // reaped at exit (its parent ignores SIGCHLD)
    }
}

void sched_exit_task(Process* reaped) {
    Task* t = current();
    t->state = TaskState::Dead;
    tasks_remove(t);
    g_dead[this_cpu().id] = t;
    g_dead_reaped[this_cpu().id] = reaped;
    schedule();
    __builtin_unreachable();
}
void sched_set_idle_hook(void (*hook)()) { g_idle_hook = hook; }

void sched_run_cpu() {
    for (;;)
        schedule();  // from the idle task: never returns once a task ran
}

// A started CPU enters the kernel here (arch/x86_64/percpu.S, lvm_ap_entry)
// on its idle task's stack (smp/cpus.cpp).
extern "C" [[noreturn]] void lvm_ap_main(uint32_t cpu) {
    bkl_lock(cpu);
    sched_run_cpu();
}
void sched_set_idle_poller(bool (*poller)(uint64_t, bool)) { g_idle_poller = poller; }

bool sched_monitor_may_wait(int64_t* wait_ns) {
    if (cpus_online() > 1)
        return false;  // it would hold the kernel lock while others need it
    uint64_t earliest = earlier(irq::timer_earliest(), ktimer_earliest());
    for (int i = 0, n = tasks_count(); i < n; ++i) {
        Task* t = tasks_at(i);
        if (t == current())
            continue;
        if (t->state == TaskState::Running)
            return false;
        if (t->state == TaskState::Blocked && t->deadline_ns && (!earliest || t->deadline_ns < earliest))
            earliest = t->deadline_ns;
    }
    uint64_t now = monotonic_ns();
    if (earliest && earliest <= now)
        return false;
    if (g_idle_hook)
        g_idle_hook();
    *wait_ns = earliest ? static_cast<int64_t>(earliest - now) : -1;
    return true;
}

bool deadline_passed(uint64_t deadline_ns) { return deadline_ns && monotonic_ns() >= deadline_ns; }

void sched_block(uint64_t deadline_ns) {
    Task* t = current();
    t->state = TaskState::Blocked;  // first: an interrupt from here on wakes us properly
    if (t->sig.kick) {              // a signal arrived after the caller's last check
        t->sig.kick = false;
        t->state = TaskState::Running;
        return;
    }
    t->deadline_ns = deadline_ns;
    schedule();
    t->deadline_ns = 0;
}

void sched_wake(Task* t) {
    if (t->state == TaskState::Blocked) {
        t->state = TaskState::Running;
        note_runnable(t);
    }
}

void sched_yield() { schedule(); }

void sched_sleep_until(uint64_t deadline_ns) {
    while (!deadline_passed(deadline_ns))
        sched_block(deadline_ns);
}

uint64_t sched_idle_count() { return g_idle_count; }

Task* kthread_create(void (*fn)(void*), void* arg, const char* name) {
    int slot = -1;
    for (int i = 0; i < kMaxKthreads && slot < 0; ++i)
        if ((g_kthreads[i].state == TaskState::Dead || !g_kthreads[i].process) && !g_kthreads[i].on_cpu)
            slot = i;  // not a CPU's context any more (one may idle on a dead thread's stack)
    if (slot < 0 || &g_kthreads[slot] == current())
        return nullptr;
    Task& t = g_kthreads[slot];
    KernelStack stack = t.kstack.top ? t.kstack : kstack_alloc();  // a dead thread's stack is reused
    if (!stack.top)
        return nullptr;
    t = Task{};
    t.tid = g_next_tid++;
    t.process = current_process();
    t.fs_base = current()->fs_base;
    t.kstack = stack;
    t.sig.kernel_only = true;
    size_t n = strlen(name) < sizeof t.comm - 1 ? strlen(name) : sizeof t.comm - 1;
    memcpy(t.comm, name, n);
    // Initial frame for lvm_switch: r15 r14 r13 r12 rbx rbp, return address.
    // ksp + 56 (after the ret) must be 16-byte aligned for the call in
    // lvm_kthread_start.
    auto* frame = reinterpret_cast<uint64_t*>(t.kstack.top - 72);
    const uint64_t init[7] = {0, 0, reinterpret_cast<uint64_t>(arg), reinterpret_cast<uint64_t>(fn), 0, 0,
                              reinterpret_cast<uint64_t>(lvm_kthread_start)};
    memcpy(frame, init, sizeof init);
    t.ksp = reinterpret_cast<uint64_t>(frame);
    t.state = TaskState::Running;
    tasks_add(&t);
    return &t;
}

// A kernel thread's function returned (arch/x86_64/switch.S): it is dead
// and never runs again. Its stack stays in use until the switch away; the
// slot is only reused by a later kthread_create, after that switch.
extern "C" [[noreturn]] void lvm_kthread_exit() {
    Task* t = current();
    t->state = TaskState::Dead;
    tasks_remove(t);
    schedule();
    __builtin_unreachable();
}

}  // namespace lightvm::guest

#include "kernel/smp/cpus.hpp"

#include "arch/x86_64/cpu.hpp"
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kstack.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/time/clock.hpp"

namespace lightvm::guest {

namespace {

uint32_t g_possible = 1;
uint32_t g_online = 1;
// Each started CPU's first context: it schedules from here and idles on
// this stack until it first runs a task (never in the task list).
Task g_idle_tasks[abi::kMaxCpus];

void cpu_call(uint32_t op, uint32_t cpu, uint64_t sources) {
    volatile abi::HcCpu& hc = this_cpu().hc_cpu;
    hc.op = op;
    hc.cpu = cpu;
    hc.sources = sources;
    hc.result = 0;
    hypercall(abi::kHcCpu, &hc);
}

// Brings up CPU k (~0.2-0.3 ms once: the monitor creates the vCPU and its
// thread). It waits for the kernel lock, then schedules.
bool cpu_start(uint32_t k) {
    Task& idle = g_idle_tasks[k];
    KernelStack stack = kstack_alloc();
    if (!stack.top)
        return false;
    idle = Task{};
    idle.kstack = stack;
    idle.on_cpu = static_cast<uint8_t>(k + 1);
    memcpy(idle.comm, "idle", 5);
    Cpu& c = g_cpus[k];
    c.id = k;
    c.idle_task = &idle;
    c.current = &idle;
    c.loaded_root = abi::kPageTablesGpa;  // the monitor starts it on the kernel's tables
    lvm_percpu[k].kstack_top = stack.top;
    lvm_cpu_table[k].boot_stack_top = stack.top;
    c.online = 1;
    cpu_call(abi::kCpuStart, k, 0);
    if (const int64_t r = this_cpu().hc_cpu.result; r != 0) {
        c.online = 0;
        kstack_free(stack);
        if (r == -err::kNoDev)  // the VM runs on fewer vCPUs than booted with (restored): for good
            g_possible = g_online;
        return false;
    }
    g_online++;
    return true;
}

}  // namespace

void smp_init() {
    g_possible = 1;
    Cpu& c = g_cpus[0];
    c.id = 0;
    c.online = 1;
    c.loaded_root = abi::kPageTablesGpa;
}

void smp_init_workload() {
    const uint32_t n = boot().cpus;
    g_possible = n >= 1 && n <= abi::kMaxCpus ? n : 1;
}

uint32_t cpus_possible() { return g_possible; }
uint32_t cpus_online() { return g_online; }

bool cpus_spare() {
    if (g_online < g_possible)
        return true;
    for (uint32_t k = 0; k < g_possible; ++k)
        if (g_cpus[k].online && g_cpus[k].idle && !g_cpus[k].kicked)
            return true;
    return false;
}

namespace {

// A spinning idle CPU takes the work from a store: no kick needed.
bool wake_spinning(Cpu& c) {
    uint8_t expected = kPollSpinning;
    return __atomic_compare_exchange_n(&c.poll, &expected, kPollWoken, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

// Wakes CPU c, idle and not yet kicked: a store if it spins, else a kick.
void wake(Cpu& c, uint32_t k) {
    c.kicked = 1;
    if (!wake_spinning(c))
        cpu_call(abi::kCpuKick, k, 0);
}

}  // namespace

bool cpu_idle_poll(uint32_t id, uint64_t ns) {
    Cpu& c = g_cpus[id];
    const uint64_t until = monotonic_ns() + (ns < kIdlePollNs ? ns : kIdlePollNs);
    __atomic_store_n(&c.poll, kPollSpinning, __ATOMIC_SEQ_CST);
    bool woken = false;
    for (;;) {
        if (__atomic_load_n(&c.poll, __ATOMIC_SEQ_CST) == kPollWoken || lvm_percpu[id].irq.pending) {
            woken = true;
            break;
        }
        if (monotonic_ns() >= until)
            break;
        __builtin_ia32_pause();
    }
    // Stop spinning: from now on wakers kick. One that came first stored
    // kPollWoken instead of kicking: then this CPU must not sleep.
    uint8_t expected = kPollSpinning;
    if (!woken && !__atomic_compare_exchange_n(&c.poll, &expected, kPollOff, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        woken = true;
    __atomic_store_n(&c.poll, kPollOff, __ATOMIC_SEQ_CST);
    return woken || ns <= kIdlePollNs;  // woken, or the whole wait is over
}

uint32_t cpus_take_runnable(uint32_t waiting) {
    uint32_t coming = 0;
    const uint32_t me = this_cpu().id;
    for (uint32_t k = 0; k < g_possible && coming < waiting; ++k) {
        Cpu& c = g_cpus[k];
        if (k == me || !c.online || !c.idle || c.kicked)
            continue;
        wake(c, k);
        coming++;
    }
    while (coming < waiting && g_online < g_possible && cpu_start(g_online))
        coming++;
    return coming;
}

void cpu_kick_if_idle(uint32_t cpu) {
    Cpu& c = g_cpus[cpu];
    if (cpu == this_cpu().id || !c.idle || c.kicked)
        return;
    wake(c, cpu);
}

void cpu_kick(uint32_t cpu, uint64_t sources) { cpu_call(abi::kCpuKick, cpu, sources); }
void cpu_tlb(uint32_t cpu) { cpu_call(abi::kCpuTlb, cpu, 0); }

// Its own argument block: it runs without the lock, even in an interrupt
// handler that stopped this CPU's unlocked code.
void cpu_spin_yield(uint32_t cpu) {
    volatile abi::HcCpu& hc = g_cpus[cpu].hc_yield;
    hc.op = abi::kCpuYield;
    hc.cpu = cpu;
    hc.result = 0;
    hypercall(abi::kHcCpu, &hc);
}

}  // namespace lightvm::guest

// Several vCPUs (--cpus). CPU 0 boots; the others start when work waits
// for them (a program that never has two runnable tasks never pays for a
// second vCPU). Work spreads lazily: a task woken while this CPU runs
// another waits up to kSpreadNs for it to block (a futex or pipe partner,
// a shell waiting for its child: a local switch costs no exit), then goes
// to an idle or new CPU (a kick costs exits). docs/design.md, "Several vCPUs".
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct Task;

inline constexpr uint64_t kSpreadNs = 1'000'000;

// An idle CPU spins this long for new work before it sleeps in the monitor,
// and a waker that finds it spinning hands it the work with a store instead
// of a kick: a cross-vCPU hand-off (a pipe between two processes, a futex)
// then costs no exit instead of two (the sleep and the kick, ~30 us each
// here). Bounded so an idle VM still gives its host CPU back at once.
inline constexpr uint64_t kIdlePollNs = 50'000;
enum : uint8_t { kPollOff = 0, kPollSpinning = 1, kPollWoken = 2 };

// CPU id (the caller), idle with the kernel lock released (so this_cpu()
// is not to be trusted): spins up to min(ns, kIdlePollNs) for a waker, an
// interrupt or the deadline. True when it need not sleep in the monitor.
bool cpu_idle_poll(uint32_t id, uint64_t ns);

// CPU 0 at boot.
void smp_init();
// How many CPUs the VM may have (BootInfo.cpus: the workload's --cpus).
void smp_init_workload();
uint32_t cpus_possible();
uint32_t cpus_online();
// Is there a CPU that could take a waiting task (idle and not yet kicked,
// or not started)?
bool cpus_spare();
// `waiting` runnable tasks have no CPU: kick idle CPUs or start new ones
// for up to that many. Returns how many CPUs will come.
uint32_t cpus_take_runnable(uint32_t waiting);
// Wakes cpu if it sleeps in the monitor (one exit), for a task only it may run.
void cpu_kick_if_idle(uint32_t cpu);
// Raises `sources` on cpu and interrupts it (one exit).
void cpu_kick(uint32_t cpu, uint64_t sources);
// Has the monitor serve cpu's IrqState.tlb_request (one exit).
void cpu_tlb(uint32_t cpu);

}  // namespace lightvm::guest

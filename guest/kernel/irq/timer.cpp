#include "kernel/irq/timer.hpp"

#include "arch/x86_64/cpu.hpp"
#include "kernel/time/clock.hpp"

namespace lightvm::guest::irq {

namespace {

constexpr int kSlots = static_cast<int>(TimerSlot::Count);
// Each vCPU has its own timer (kHcTimer arms the caller's), so each CPU
// has its own slots: a slot armed on one CPU fires there.
struct CpuTimers {
    uint64_t deadline[kSlots];
    Handler fn[kSlots];
    uint64_t armed;  // what the hardware timer is armed at (0: nothing)
};
CpuTimers g_timers[abi::kMaxCpus];
bool g_installed;

CpuTimers& mine() { return g_timers[this_cpu().id]; }

uint64_t earliest(const CpuTimers& t) {
    uint64_t e = 0;
    for (uint64_t d : t.deadline)
        if (d && (!e || d < e))
            e = d;
    return e;
}

void rearm(CpuTimers& t) {
    const uint64_t e = earliest(t);
    if (e == t.armed)
        return;
    t.armed = e;
    arm_timer(e);
}

void on_timer(const Frame* frame) {
    CpuTimers& t = mine();
    t.armed = 0;  // it fired
    const uint64_t now = monotonic_ns();
    for (int s = 0; s < kSlots; ++s) {
        if (!t.deadline[s] || t.deadline[s] > now)
            continue;
        t.deadline[s] = 0;
        if (t.fn[s])
            t.fn[s](frame);
    }
    rearm(t);
}

}  // namespace

void timer_arm(TimerSlot slot, uint64_t deadline_ns, Handler fn) {
    MaskGuard masked;  // the handler changes the same state
    if (!g_installed) {
        set_handler(abi::kIrqTimer, on_timer);
        g_installed = true;
    }
    const int s = static_cast<int>(slot);
    CpuTimers& t = mine();
    t.deadline[s] = deadline_ns;
    t.fn[s] = fn;
    rearm(t);
}

uint64_t timer_deadline(TimerSlot slot) { return mine().deadline[static_cast<int>(slot)]; }

uint64_t timer_earliest() {
    uint64_t e = earliest(mine());
    const int shared = static_cast<int>(TimerSlot::Timers);  // the others' preemption is theirs
    for (const CpuTimers& t : g_timers) {
        const uint64_t d = t.deadline[shared];
        if (d && (!e || d < e))
            e = d;
    }
    return e;
}

}  // namespace lightvm::guest::irq

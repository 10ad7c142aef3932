#include "kernel/irq/timer.hpp"

#include "kernel/time/clock.hpp"

namespace lightvm::guest::irq {

namespace {

constexpr int kSlots = static_cast<int>(TimerSlot::Count);
uint64_t g_deadline[kSlots];
Handler g_fn[kSlots];
uint64_t g_armed;  // what the hardware timer is armed at (0: nothing)
bool g_installed;

uint64_t earliest() {
    uint64_t e = 0;
    for (uint64_t d : g_deadline)
        if (d && (!e || d < e))
            e = d;
    return e;
}

void rearm() {
    const uint64_t e = earliest();
    if (e == g_armed)
        return;
    g_armed = e;
    arm_timer(e);
}

void on_timer(const Frame* frame) {
    g_armed = 0;  // it fired
    const uint64_t now = monotonic_ns();
    for (int s = 0; s < kSlots; ++s) {
        if (!g_deadline[s] || g_deadline[s] > now)
            continue;
        g_deadline[s] = 0;
        if (g_fn[s])
            g_fn[s](frame);
    }
    rearm();
}

}  // namespace

void timer_arm(TimerSlot slot, uint64_t deadline_ns, Handler fn) {
    MaskGuard masked;  // the handler changes the same state
    if (!g_installed) {
        set_handler(abi::kIrqTimer, on_timer);
        g_installed = true;
    }
    const int s = static_cast<int>(slot);
    g_deadline[s] = deadline_ns;
    g_fn[s] = fn;
    rearm();
}

uint64_t timer_deadline(TimerSlot slot) { return g_deadline[static_cast<int>(slot)]; }

uint64_t timer_earliest() { return earliest(); }

}  // namespace lightvm::guest::irq

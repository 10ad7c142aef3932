// Interrupt test hooks, switched on from the boot page by guest tests and
// bench/ only (BootInfo.irq_test_*); off, they cost one compare at boot.
#include "kernel/irq/selftest.hpp"

#include "arch/x86_64/cpu.hpp"
#include "kernel/irq/irq.hpp"
#include "kernel/kernel.hpp"
#include "kernel/time/clock.hpp"

namespace lightvm::guest::irq {

namespace {

uint64_t g_timer_period_ns;

// Boot runs on CPU 0.
abi::IrqState& lvm_irq_state = lvm_percpu[0].irq;

// A periodic timer from the one-shot kind: re-arm from the handler.
void rearm_timer(const Frame*) {
    arm_timer(monotonic_ns() + g_timer_period_ns);
}

uint64_t handled_total() {
    uint64_t n = 0;
    for (uint64_t h : lvm_irq_state.handled)
        n += h;
    return n;
}

// Masked until kMaskedEntries interrupts came in (or `ns` passed) while the
// monitor keeps interrupting: nothing may run until unmask(), and
// everything that arrived must run then.
constexpr uint64_t kMaskedEntries = 10;

void masked_spin(uint64_t ns) {
    mask();  // first: an interrupt handled just before it is not "while masked"
    uint64_t before = handled_total(), deferred_before = lvm_irq_state.deferred, entries = lvm_irq_state.entries;
    uint64_t end = monotonic_ns() + ns;
    while (monotonic_ns() < end && lvm_irq_state.entries - entries < kMaskedEntries)
        asm volatile("pause");
    lvm_irq_state.test_handled_while_masked = handled_total() - before;
    lvm_irq_state.test_entries_while_masked = lvm_irq_state.entries - entries;
    unmask();
    lvm_irq_state.test_deferred_at_unmask = lvm_irq_state.deferred - deferred_before;
}

}  // namespace

void selftest_init() {
    const abi::BootInfo& b = boot();
    if (b.irq_test_timer_ns) {
        g_timer_period_ns = b.irq_test_timer_ns;
        set_handler(abi::kIrqTimer, rearm_timer);
        arm_timer(monotonic_ns() + g_timer_period_ns);
    }
    if (b.irq_test_mask_ns)
        masked_spin(b.irq_test_mask_ns);
}

}  // namespace lightvm::guest::irq

// Interrupt dispatch and masking. Protocol with the monitor: lightvm/abi.h,
// "Interrupts"; entry and exit: arch/x86_64/vectors.S.
#include "kernel/irq/irq.hpp"

#include "kernel/kernel.hpp"

extern "C" lightvm::abi::IrqState lvm_irq_state;
extern "C" char __kernel_end[];
extern "C" const uint8_t lvm_vdso_start[], lvm_vdso_end[];

namespace lightvm::guest::irq {

// vectors.S hard-codes these offsets.
static_assert(offsetof(abi::IrqState, pending) == 0 && offsetof(abi::IrqState, busy) == 8 && sizeof(abi::IrqState) == 80);

namespace {

Handler g_handlers[abi::kIrqSources];
// The mask is one CPU's state today; it moves into per-CPU data with SMP.
volatile uint32_t g_mask_depth;
uint64_t g_deferred;  // sources that arrived while masked (atomic: the handler ORs in)
void (*g_user_return)(Frame*);

void run(uint64_t sources, const Frame* frame) {
    for (uint32_t s = 0; s < abi::kIrqSources; ++s) {
        if (!(sources & (1ull << s)))
            continue;
        lvm_irq_state.handled[s]++;
        if (g_handlers[s])
            g_handlers[s](frame);
    }
}

}  // namespace

void set_handler(abi::IrqSource source, Handler handler) {
    if (source < abi::kIrqSources)
        g_handlers[source] = handler;
}

void set_user_return_hook(void (*hook)(Frame*)) { g_user_return = hook; }

void mask() {
    g_mask_depth = g_mask_depth + 1;
    lvm_irq_state.masked_depth = g_mask_depth;
    asm volatile("" ::: "memory");  // later code stays inside the masked region
}

void unmask() {
    asm volatile("" ::: "memory");
    if (g_mask_depth > 1) {
        g_mask_depth = g_mask_depth - 1;
        lvm_irq_state.masked_depth = g_mask_depth;
        return;
    }
    // Run what was deferred still masked, so an interrupt meanwhile defers
    // too and this loop picks it up: handlers never run re-entered.
    for (;;) {
        uint64_t sources = __atomic_exchange_n(&g_deferred, 0, __ATOMIC_SEQ_CST);
        if (!sources)
            break;
        lvm_irq_state.deferred += static_cast<uint64_t>(__builtin_popcountll(sources));
        run(sources, nullptr);
    }
    g_mask_depth = 0;
    lvm_irq_state.masked_depth = 0;
    // An interrupt between the last exchange and the store above deferred
    // its sources: run them now rather than at the next unmask.
    if (__atomic_load_n(&g_deferred, __ATOMIC_SEQ_CST)) {
        mask();
        unmask();
    }
}

bool masked() {
    return g_mask_depth != 0;
}

bool from_kernel(const Frame& f) {
    return f.rip >= abi::kKernelBase && f.rip < reinterpret_cast<uint64_t>(__kernel_end);
}

bool to_user_code(const Frame& f) {
    if (f.rip >= reinterpret_cast<uint64_t>(lvm_vdso_start) && f.rip < reinterpret_cast<uint64_t>(lvm_vdso_end))
        return true;
    return !from_kernel(f);
}

long arm_timer(uint64_t deadline_ns) {
    static abi::HcTimer req;  // one CPU; per-CPU argument blocks come with SMP
    MaskGuard guard;          // the timer handler re-arms through the same block
    req.deadline_ns = deadline_ns;
    req.result = 0;
    hypercall(abi::kHcTimer, &req);
    return static_cast<long>(req.result);
}

extern "C" void lvm_irq(Frame* frame) {
    lvm_irq_state.entries++;
    if (from_kernel(*frame))
        lvm_irq_state.from_kernel++;
    for (;;) {
        uint64_t sources = __atomic_exchange_n(&lvm_irq_state.pending, 0, __ATOMIC_SEQ_CST);
        if (!sources)
            break;
        sources &= (1ull << abi::kIrqSources) - 1;  // the monitor is trusted, but bound the loop anyway
        if (g_mask_depth)
            __atomic_fetch_or(&g_deferred, sources, __ATOMIC_SEQ_CST);
        else
            run(sources, frame);
    }
    if (g_user_return && !g_mask_depth)
        g_user_return(frame);
}

}  // namespace lightvm::guest::irq

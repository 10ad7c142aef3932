// Interrupt dispatch and masking. Protocol with the monitor: lightvm/abi.h,
// "Interrupts"; entry and exit: arch/x86_64/vectors.S.
#include "kernel/irq/irq.hpp"

#include "kernel/kernel.hpp"
#include "kernel/smp/bkl.hpp"

extern "C" char __kernel_end[];
extern "C" const uint8_t lvm_vdso_start[], lvm_vdso_end[];

namespace lightvm::guest::irq {

namespace {

Handler g_handlers[abi::kIrqSources];
bool (*g_user_return)(Frame*);

// Handlers run under the kernel lock, on the CPU the sources came to.
void run(abi::IrqState& st, uint64_t sources, const Frame* frame) {
    for (uint32_t s = 0; s < abi::kIrqSources; ++s) {
        if (!(sources & (1ull << s)))
            continue;
        st.handled[s]++;
        if (g_handlers[s])
            g_handlers[s](frame);
    }
}

}  // namespace

void set_handler(abi::IrqSource source, Handler handler) {
    if (source < abi::kIrqSources)
        g_handlers[source] = handler;
}

void set_user_return_hook(bool (*hook)(Frame*)) { g_user_return = hook; }

// The mask is this CPU's (the lock's owner's): only kernel code masks.
void mask() {
    Cpu& c = this_cpu();
    c.mask_depth = c.mask_depth + 1;
    lvm_percpu[c.id].irq.masked_depth = c.mask_depth;
    asm volatile("" ::: "memory");  // later code stays inside the masked region
}

void unmask() {
    asm volatile("" ::: "memory");
    Cpu& c = this_cpu();
    abi::IrqState& st = lvm_percpu[c.id].irq;
    if (c.mask_depth > 1) {
        c.mask_depth = c.mask_depth - 1;
        st.masked_depth = c.mask_depth;
        return;
    }
    // Run what was deferred still masked, so an interrupt meanwhile defers
    // too and this loop picks it up: handlers never run re-entered.
    for (;;) {
        uint64_t sources = __atomic_exchange_n(&c.irq_deferred, 0, __ATOMIC_SEQ_CST);
        if (!sources)
            break;
        st.deferred += static_cast<uint64_t>(__builtin_popcountll(sources));
        run(st, sources, nullptr);
    }
    c.mask_depth = 0;
    st.masked_depth = 0;
    // An interrupt between the last exchange and the store above deferred
    // its sources: run them now rather than at the next unmask.
    if (__atomic_load_n(&c.irq_deferred, __ATOMIC_SEQ_CST)) {
        mask();
        unmask();
    }
}

bool masked() { return this_cpu().mask_depth != 0; }

bool from_kernel(const Frame& f) {
    return f.rip >= abi::kKernelBase && f.rip < reinterpret_cast<uint64_t>(__kernel_end);
}

bool to_user_code(const Frame& f) {
    if (f.rip >= reinterpret_cast<uint64_t>(lvm_vdso_start) && f.rip < reinterpret_cast<uint64_t>(lvm_vdso_end))
        return true;
    return !from_kernel(f);
}

long arm_timer(uint64_t deadline_ns) {
    MaskGuard guard;  // the timer handler re-arms through the same block
    volatile abi::HcTimer& req = this_cpu().hc_timer;  // this vCPU's timer
    req.deadline_ns = deadline_ns;
    req.result = 0;
    hypercall(abi::kHcTimer, &req);
    return static_cast<long>(req.result);
}

// Entered on this CPU's interrupt stack (percpu.S). The sources run under
// the lock, or are deferred if this CPU's kernel code
// masked them. The user-return hook may send the frame into the kernel
// (preemption), which then continues under the lock taken here.
extern "C" void lvm_irq(Frame* frame, uint32_t cpu) {
    abi::IrqState& st = lvm_percpu[cpu].irq;
    Cpu& c = g_cpus[cpu];
    st.entries++;
    if (from_kernel(*frame))
        st.from_kernel++;
    bool took = false;
    for (;;) {
        uint64_t sources = __atomic_exchange_n(&st.pending, 0, __ATOMIC_SEQ_CST);
        if (!sources)
            break;
        sources &= (1ull << abi::kIrqSources) - 1;  // the monitor is trusted, but bound the loop anyway
        if (c.mask_depth) {
            __atomic_fetch_or(&c.irq_deferred, sources, __ATOMIC_SEQ_CST);
            continue;
        }
        if (!took && !bkl_owned_by(cpu))
            took = (bkl_lock(cpu), true);
        run(st, sources, frame);
    }
    bool keep = false;
    if (g_user_return && !c.mask_depth && bkl_owned_by(cpu))
        keep = g_user_return(frame);
    if (took && !keep)
        bkl_unlock();
}

}  // namespace lightvm::guest::irq

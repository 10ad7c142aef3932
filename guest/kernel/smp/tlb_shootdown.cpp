// TLB shootdown: page-table entries of an address space changed (munmap,
// mprotect, copy-on-write at fork, MADV_DONTNEED) while another CPU may
// cache them, or its tables are about to be freed. Each CPU on that root
// gets a request in its IrqState and the monitor stops it and reloads its
// CR3 (kHcCpu kCpuTlb: one exit here, the flush there), while this CPU,
// which holds the kernel lock, waits: the frames behind the old entries
// are freed only after every CPU has let go of them. The monitor does it
// because the CPU itself could not in every state it may be in (an
// `int3` in its interrupt handler is an emulation error under PVM). Idle
// CPUs sit on the kernel's tables (proc/sched.cpp), which are also the
// first process's: an idle CPU on them is not asked (waking it would cost
// its sleep and two exits) but marked, and flushes when it wakes.
#include "arch/x86_64/cpu.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/smp/bkl.hpp"
#include "kernel/smp/cpus.hpp"

namespace lightvm::guest {

namespace {

void shoot(uint64_t root, uint32_t request) {
    if (cpus_online() == 1)
        return;
    const uint32_t me = this_cpu().id;
    uint32_t asked = 0;
    for (uint32_t k = 0; k < cpus_possible(); ++k) {
        Cpu& c = g_cpus[k];
        if (k == me || !c.online || c.loaded_root != root)
            continue;
        if (c.idle) {  // asleep in the monitor, or about to be: it flushes when it wakes
            c.tlb_stale = 1;
            continue;
        }
        volatile uint32_t& req = lvm_percpu[k].irq.tlb_request;
        if (req != abi::kTlbLeave)
            req = request;
        cpu_tlb(k);
        asked |= 1u << k;
    }
    for (uint32_t k = 0; k < cpus_possible(); ++k) {
        if (!(asked & (1u << k)))
            continue;
        SpinWait wait{me};
        while (__atomic_load_n(&lvm_percpu[k].irq.tlb_request, __ATOMIC_ACQUIRE))
            wait.step();
        if (request == abi::kTlbLeave)
            g_cpus[k].loaded_root = mm_kernel_root();
    }
}

}  // namespace

void mm_flush_remote(uint64_t root) { shoot(root, abi::kTlbReload); }
void mm_forget_root(uint64_t root) { shoot(root, abi::kTlbLeave); }

}  // namespace lightvm::guest

// TLB shootdown: page-table entries of an address space changed (munmap,
// mprotect, copy-on-write at fork, MADV_DONTNEED) while another CPU may
// cache them, or its tables are about to be freed. The CPUs on that root
// get a request and an interrupt (kIrqIpi, one exit here) and serve it
// without the kernel lock (arch/x86_64/svc.hpp: tlb_serve), while this
// CPU, which holds the lock, waits: the frames behind the old entries are
// freed only after every CPU has let go of them. Idle CPUs sit on the
// kernel's tables (proc/sched.cpp), so they are never asked.
#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/svc.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/smp/cpus.hpp"

namespace lightvm::guest {

namespace {

uint64_t g_shootdowns;  // requests sent (diagnostics)

void shoot(uint64_t root, uint32_t request) {
    if (cpus_online() == 1)
        return;
    const uint32_t me = this_cpu().id;
    uint32_t asked = 0;
    for (uint32_t k = 0; k < cpus_possible(); ++k) {
        Cpu& c = g_cpus[k];
        if (k == me || !c.online || c.loaded_root != root)
            continue;
        if (c.tlb_request != kTlbLeave)
            c.tlb_request = request;
        cpu_kick(k, 1ull << abi::kIrqIpi);
        asked |= 1u << k;
        g_shootdowns++;
    }
    for (uint32_t k = 0; k < cpus_possible(); ++k)
        while ((asked & (1u << k)) && __atomic_load_n(&g_cpus[k].tlb_request, __ATOMIC_ACQUIRE))
            __builtin_ia32_pause();
}

}  // namespace

void mm_flush_remote(uint64_t root) { shoot(root, kTlbReload); }
void mm_forget_root(uint64_t root) { shoot(root, kTlbLeave); }

}  // namespace lightvm::guest

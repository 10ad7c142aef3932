#include "kernel/tty/pty_pool.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/tty/termios_std.hpp"

namespace lightvm::guest {

namespace {
// From frames when a pair is made (each is ~13 KiB), not .bss: the kernel
// image has a size limit (abi.h kKernelLimit).
Pty* g_ptys[kMaxPtys];
}  // namespace

Pty* pty_alloc() {
    for (uint32_t i = 0; i < kMaxPtys; ++i) {
        if (g_ptys[i])
            continue;
        auto* p = static_cast<Pty*>(kmem_alloc(sizeof(Pty)));
        if (!p)
            return nullptr;
        p->index = i;
        p->locked = true;
        p->master_open = true;
        termios t;
        termios_std(&t);
        ldisc_init(p->ld, t);
        g_ptys[i] = p;
        return p;
    }
    return nullptr;
}

void pty_maybe_free(Pty* p) {
    if (p->master_open || p->slaves)
        return;
    g_ptys[p->index] = nullptr;
    kmem_free(p, sizeof(Pty));
}

Pty* pty_find(uint32_t index) {
    Pty* p = index < kMaxPtys ? g_ptys[index] : nullptr;
    return p && p->master_open ? p : nullptr;
}

Pty* pty_nth(uint32_t n) {
    for (uint32_t i = 0; i < kMaxPtys; ++i)
        if (pty_find(i) && n-- == 0)
            return g_ptys[i];
    return nullptr;
}

void pty_wake(Pty* p) {
    wake_up(p->master_wq);
    wake_up(p->slave_wq);
}

}  // namespace lightvm::guest

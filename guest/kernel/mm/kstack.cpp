#include "kernel/mm/kstack.hpp"

#include "arch/x86_64/kstack_layout.h"

extern "C" char lvm_kstacks[];  // arch/x86_64/entry.S

namespace lightvm::guest {

namespace {

bool g_used[LVM_KSTACK_SLOTS] = {true};  // slot 0: the boot task, from the first instruction

KernelStack slot(int i) {
    uint64_t base = reinterpret_cast<uint64_t>(lvm_kstacks) + uint64_t(i) * LVM_KSTACK_SLOT + LVM_KSTACK_GUARD;
    return {base, base + LVM_KSTACK_SIZE};
}

}  // namespace

KernelStack kstack_boot() { return slot(0); }

KernelStack kstack_alloc() {
    for (int i = 1; i < LVM_KSTACK_SLOTS; ++i) {
        if (!g_used[i]) {
            g_used[i] = true;
            return slot(i);
        }
    }
    return {0, 0};
}

void kstack_free(const KernelStack& s) {
    for (int i = 1; i < LVM_KSTACK_SLOTS; ++i)
        if (slot(i).base == s.base)
            g_used[i] = false;
}

}  // namespace lightvm::guest

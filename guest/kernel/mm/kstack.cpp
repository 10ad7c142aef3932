#include "kernel/mm/kstack.hpp"

#include "arch/x86_64/kstack_layout.h"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/page_table.hpp"

extern "C" char lvm_kstacks[];  // arch/x86_64/entry.S

namespace lightvm::guest {

namespace {

// Stacks handed back: their frames stay mapped for the next task.
KernelStack g_free[kKStackMax];
uint32_t g_nfree;
uint64_t g_slot_gpa[kKStackMax];  // each stack is one contiguous block of frames
uint32_t g_mapped;  // slots of the area used so far (never unmapped)

KernelStack boot_slot() {
    uint64_t base = reinterpret_cast<uint64_t>(lvm_kstacks) + LVM_KSTACK_GUARD;
    return {base, base + LVM_KSTACK_SIZE};
}

// Maps a fresh stack at slot i of the area. The tables below the physmap
// slot are shared by every address space (pt_new_root copies the PML4
// entry), so one mapping serves all; not-present -> present needs no flush.
KernelStack map_slot(uint32_t i) {
    uint64_t top = kKStackArea + uint64_t(i + 1) * kKStackStride;
    uint64_t base = top - kKStackSize;
    uint64_t block = frame_alloc_split(4);
    static_assert(kKStackSize == (kPage << 4));
    if (!block)
        return {0, 0};
    for (uint64_t off = 0; off < kKStackSize; off += kPage) {
        uint64_t* e = pt_entry(mm_kernel_root(), base + off, true);
        if (!e) {
            for (uint64_t k = 0; k < kKStackSize; k += kPage)
                frame_unref(block + k);  // entries already written stay harmlessly unused (slot not counted)
            return {0, 0};
        }
        *e = (block + off) | pte::kPresent | pte::kWrite | pte::kUser | pte::kAccessed | pte::kDirty |
             pte::kGlobal | pte::kNoExec;
    }
    g_slot_gpa[i] = block;
    return {base, top};
}

}  // namespace

uint64_t kstack_gpa(uint64_t va) {
    uint64_t off = va - kKStackArea;
    uint64_t slot = off / kKStackStride;
    uint64_t in = off % kKStackStride;
    if (slot >= kKStackMax || in < kKStackStride - kKStackSize)
        return ~0ull;  // not a stack: the caller's bug, refused as unreachable
    return g_slot_gpa[slot] + (in - (kKStackStride - kKStackSize));
}

KernelStack kstack_boot() { return boot_slot(); }

KernelStack kstack_alloc() {
    if (g_nfree)
        return g_free[--g_nfree];
    if (g_mapped >= kKStackMax)
        return {0, 0};
    KernelStack s = map_slot(g_mapped);
    if (s.top)
        g_mapped++;
    return s;
}

void kstack_free(const KernelStack& s) {
    if (s.base == boot_slot().base || !s.top)
        return;  // the boot stack belongs to the image
    if (g_nfree < kKStackMax)
        g_free[g_nfree++] = s;
}

uint32_t kstack_count() { return g_mapped; }

}  // namespace lightvm::guest

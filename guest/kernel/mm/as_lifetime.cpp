// Creating, copying (fork) and destroying address spaces.
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/page_table.hpp"
#include "kernel/mm/slab.hpp"

namespace lightvm::guest {

namespace {

SlabCache g_as_cache = slab_for<AddressSpace>();

using pt_detail::table;

// Frees the tables under a table entry (level 3: a PDPT, 2: a PD, 1: a
// PT's frames are the leaves and were released already). The kernel's
// entries of the first PD (the low 4 MiB) and the physmap slot are shared
// with every address space and never touched. Frames outside the pool
// (the monitor's tables of the first address space) are not freed, only
// emptied of user entries.
void free_tables(uint64_t* t, int level, uint64_t va_base) {
    for (unsigned i = 0; i < 512; ++i) {
        uint64_t va = va_base + (uint64_t(i) << (12 + 9 * (level - 1)));
        if (!(t[i] & pte::kPresent) || (level == 2 && (t[i] & pte::kHuge)))
            continue;
        if (level == 4 && i == 255)
            continue;  // the physmap and kernel stacks: shared
        if (va + (1ull << (12 + 9 * (level - 1))) <= kUserMin)
            continue;  // the kernel's low region
        uint64_t child = t[i] & pte::kAddr;
        if (level > 2)
            free_tables(table(child), level - 1, va);
        if (frame_in_pool(child)) {
            t[i] = 0;
            frame_unref(child);
        }
    }
}

// Both sides of a private writable page become copy-on-write.
uint64_t share_entry(AddressSpace& src, const Vma& v, uint64_t va, uint64_t& e) {
    if (!(v.flags & kVmShared) && (e & pte::kWrite)) {
        e = (e & ~(pte::kWrite | pte::kDirty)) | pte::kCow;
        as_mark_stale(src, va);
    }
    frame_ref(e & pte::kAddr);
    return e;
}

}  // namespace

AddressSpace* as_create() {
    auto* as = static_cast<AddressSpace*>(slab_alloc(g_as_cache));
    if (!as)
        return nullptr;
    uint64_t root = pt_new_root(mm_kernel_root());
    if (!root) {
        slab_free(g_as_cache, as);
        return nullptr;
    }
    as_init(*as, root);
    return as;
}

AddressSpace* as_create_boot() {
    auto* as = static_cast<AddressSpace*>(slab_alloc(g_as_cache));
    if (as)
        as_init(*as, mm_kernel_root());
    return as;
}

AddressSpace* as_fork(AddressSpace& src) {
    AddressSpace* dst = as_create();
    if (!dst)
        return nullptr;
    dst->brk_start = src.brk_start;
    dst->brk = src.brk;
    dst->mmap_top = src.mmap_top;
    dst->stack_top = src.stack_top;
    dst->image_gpa = src.image_gpa;
    bool ok = vma_copy_all(*dst, src);
    for (uint32_t i = 0; ok && i < src.nvma; ++i) {
        const Vma v = src.vmas[i];
        pt_for_each(src.root, v.start, v.end, [&](uint64_t va, uint64_t& e) {
            if (!ok)
                return;
            uint64_t* d = pt_entry(dst->root, va, true);
            if (!d) {
                ok = false;
                return;
            }
            *d = share_entry(src, v, va, e);
            dst->resident++;
        });
    }
    as_flush(src);  // the parent's writable translations are gone now
    if (!ok) {
        as_put(dst);
        return nullptr;
    }
    return dst;
}

void as_put(AddressSpace* as) {
    if (!as || --as->users > 0)
        return;
    pt_for_each(as->root, kUserMin, kUserMax, [](uint64_t, uint64_t& e) {
        frame_unref(e & pte::kAddr);
        e = 0;
    });
    as_flush(*as);  // frees deferred frames; never the loaded root, so no TLB work
    vma_release_all(*as);
    free_tables(table(as->root), 4, 0);
    if (frame_in_pool(as->root))
        frame_unref(as->root);
    slab_free(g_as_cache, as);
}

}  // namespace lightvm::guest

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

// How free_tables treats the table it is given.
enum class Fate {
    Stays,     // a table that lives on: only the user part goes
    Dies,      // freed as zeros: kernel entries are cleared too
    Skeleton,  // a root kept for the next address space (pt_root_cache_put):
               // the kernel entries and the slot-0 path to them stay
};

// Empties table t (of `level`) and frees the tables below it. Kernel
// entries (the low 4 MiB, the physmap slot) point at shared tables, which
// are never freed. Only non-zero entries are written: on PVM each write to
// a table traps.
void free_tables(uint64_t* t, int level, uint64_t va_base, Fate fate) {
    const uint64_t span = 1ull << (12 + 9 * (level - 1));
    for (unsigned i = 0; i < 512; ++i) {
        if (!t[i])
            continue;
        const uint64_t va = va_base + uint64_t(i) * span;
        const bool shared = (level == 4 && i == 255) || va + span <= kUserMin;
        if (fate == Fate::Skeleton && i == 0 && level > 2) {
            free_tables(table(t[i] & pte::kAddr), level - 1, va, Fate::Skeleton);  // the path stays
            continue;
        }
        if (!shared && (t[i] & pte::kPresent) && !(level == 2 && (t[i] & pte::kHuge))) {
            const uint64_t child = t[i] & pte::kAddr;
            const bool child_dying = frame_in_pool(child);
            if (level > 2)
                free_tables(table(child), level - 1, va, child_dying ? Fate::Dies : Fate::Stays);
            if (child_dying) {
                t[i] = 0;
                pt_table_free(child);
                continue;
            }
        }
        if (fate == Fate::Dies)
            t[i] = 0;
    }
}

// Up to kForkCopyPages of a parent's private writable memory is copied at
// fork; beyond it pages are shared copy-on-write. On PVM a copy costs
// ~0.5 us a page while a write-protected parent entry costs a trapped
// table write now, a TLB flush, and a ~23 us fault in whichever process
// writes first (docs/design.md, "Processes").

// The child's entry for a parent page: a private copy (eager), or the
// same frame shared (read-only pages, shared mappings, copy-on-write).
uint64_t child_entry(AddressSpace& src, const Vma& v, uint64_t va, uint64_t& e, uint64_t* budget) {
    const bool private_writable = !(v.flags & kVmShared) && (e & pte::kWrite);
    if (private_writable && *budget) {
        uint64_t copy = frame_alloc(0);
        if (copy) {
            --*budget;
            memcpy(phys_to_virt(copy), phys_to_virt(e & pte::kAddr), kPage);
            return (e & ~pte::kAddr) | copy;
        }
    }
    if (private_writable) {
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

AddressSpace* as_fork(AddressSpace& src, uint64_t eager_pages) {
    AddressSpace* dst = as_create();
    if (!dst)
        return nullptr;
    dst->brk_start = src.brk_start;
    dst->brk = src.brk;
    dst->mmap_top = src.mmap_top;
    dst->stack_top = src.stack_top;
    dst->arg_start = src.arg_start;
    dst->arg_end = src.arg_end;
    dst->env_start = src.env_start;
    dst->env_end = src.env_end;
    dst->start_stack = src.start_stack;
    dst->image_gpa = src.image_gpa;
    bool ok = vma_copy_all(*dst, src);
    // 2 MiB entries are copied as 4 KiB ones (copy or copy-on-write per
    // page): the parent's become tables first.
    for (uint32_t i = 0; ok && i < src.nvma; ++i)
        ok = as_split_huge(src, src.vmas[i].start, src.vmas[i].end, true) == 0;
    uint64_t budget = eager_pages;
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
            *d = child_entry(src, v, va, e, &budget);
            dst->resident++;
        });
    }
    as_flush(src);  // the parent's writable translations are gone now
    dst->hiwater = dst->resident;
    if (!ok) {
        as_put(dst);
        return nullptr;
    }
    return dst;
}

void as_put(AddressSpace* as) {
    if (!as || --as->users > 0)
        return;
    mm_forget_root(as->root);  // another CPU still on these tables leaves them first
    pt_for_each_huge(as->root, kUserMin, kUserMax, [](uint64_t, uint64_t& e) {
        frame_unref_each(e & pte::kAddr, kMaxOrder);
        e = 0;
    });
    pt_for_each(as->root, kUserMin, kUserMax, [](uint64_t, uint64_t& e) {
        frame_unref(e & pte::kAddr);
        e = 0;
    });
    as_flush(*as);  // frees deferred frames; never the loaded root, so no TLB work
    vma_release_all(*as);
    if (!frame_in_pool(as->root)) {
        free_tables(table(as->root), 4, 0, Fate::Stays);  // the monitor's root of the first process
    } else if (pt_root_cache_room()) {
        free_tables(table(as->root), 4, 0, Fate::Skeleton);
        pt_root_cache_put(as->root);
    } else {
        free_tables(table(as->root), 4, 0, Fate::Dies);
        pt_table_free(as->root);
    }
    slab_free(g_as_cache, as);
}

}  // namespace lightvm::guest

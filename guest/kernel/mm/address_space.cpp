#include "kernel/mm/address_space.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/page_table.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// The frame may be reused only after the TLB forgot it: freed at the next
// flush. The caller has already cleared (or changed) the entry and marked
// the TLB stale, so a flush forced by a full list covers this entry too.
void defer_free(AddressSpace& as, uint64_t frame) {
    as.deferred[as.ndeferred++] = frame;
    if (as.ndeferred == AddressSpace::kDeferred)
        as_flush(as);
}
// The 512 frames of a 2 MiB entry: one slot, marked by bit 0.
void defer_free_huge(AddressSpace& as, uint64_t block) { defer_free(as, block | 1); }

// A frame other mappings may see: the boot image's, or one with several
// references. A private writable mapping must copy it before writing.
bool frame_shared(uint64_t gpa) { return !frame_in_pool(gpa) || frame_refs(gpa) > 1; }

// Entry bits for a page of v holding `frame`.
uint64_t entry_for(const Vma& v, uint64_t frame) {
    uint64_t f = pte_flags(v.prot);
    if (!f)
        return frame | pte::kProtNone;
    if ((f & pte::kWrite) && !(v.flags & kVmShared) && frame_shared(frame))
        f = (f & ~(pte::kWrite | pte::kDirty)) | pte::kCow;
    return frame | f;
}

// Installs frame at va (no entry there yet). False on OOM for a table.
bool install(AddressSpace& as, const Vma& v, uint64_t va, uint64_t frame) {
    uint64_t* e = pt_entry(as.root, va, true);
    if (!e)
        return false;
    if (pte_has_frame(*e)) {  // already backed (an overlay raced nothing: keep it)
        frame_unref(frame);
        return true;
    }
    *e = entry_for(v, frame);
    if (++as.resident > as.hiwater)
        as.hiwater = as.resident;
    return true;
}

// One zeroed 2 MiB block mapped by one entry at va (2 MiB-aligned, inside
// v). False when the slot already has a table or an entry, or no block is
// free: the caller maps 4 KiB pages instead.
bool install_huge(AddressSpace& as, const Vma& v, uint64_t va) {
    uint64_t* pde = pt_pde(as.root, va, true);
    if (!pde || *pde)
        return false;
    uint64_t block = frame_alloc_split(kMaxOrder);
    if (!block)
        return false;
    *pde = entry_for(v, block) | pte::kHuge;
    as.resident += kHugePage / kPage;
    if (as.resident > as.hiwater)
        as.hiwater = as.resident;
    return true;
}

long populate_image(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b) {
    for (uint64_t va = a; va < b; va += kPage) {
        uint64_t frame = as.image_gpa + v.offset + (va - v.start);
        if ((v.prot & PROT_WRITE) && !(v.flags & kVmShared)) {
            uint64_t copy = frame_alloc(0);
            if (!copy)
                return -err::kNoMem;
            memcpy(phys_to_virt(copy), phys_to_virt(frame), kPage);
            frame = copy;
        }
        if (!install(as, v, va, frame))
            return -err::kNoMem;
    }
    return 0;
}

// A file whose pages are frames (tmpfs): map them, not copies. Pages past
// the file's end get none (a fault there is SIGBUS: as_fault).
long populate_file_frames(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b) {
    int64_t size = mm_file_size(v.file);
    uint64_t end = size <= 0 ? 0 : (static_cast<uint64_t>(size) + kPage - 1) & ~(kPage - 1);
    for (uint64_t va = a; va < b; va += kPage) {
        if (v.offset + (va - v.start) >= end)
            break;
        long err = 0;
        uint64_t frame = mm_file_frame(v.file, v.offset + (va - v.start), &err);
        if (!frame)
            return err ? err : -err::kNoMem;
        if (!install(as, v, va, frame))
            return -err::kNoMem;
    }
    return 0;
}

// New frames for [a, b), filled from the file unless `fill` is false.
long populate_copies(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b, bool fill) {
    uint64_t va = a;
    while (va < b) {
        if ((va & (kHugePage - 1)) == 0 && b - va >= kHugePage && as_huge_ok(v) &&
            install_huge(as, v, va)) {
            va += kHugePage;
            continue;
        }
        unsigned order = frame_order_for((b - va) / kPage);
        uint64_t block = 0;
        while (!(block = frame_alloc_split(order)) && order > 0)
            --order;
        if (!block)
            return -err::kNoMem;
        uint64_t len = kPage << order;
        if (v.file && fill) {
            long n = mm_file_fill(v.file, phys_to_virt(block), len, v.offset + (va - v.start));
            if (n < 0) {
                for (uint64_t k = 0; k < len; k += kPage)
                    frame_unref(block + k);
                return n;
            }
        }
        for (uint64_t k = 0; k < len; k += kPage) {
            if (!install(as, v, va + k, block + k)) {
                for (uint64_t r = k; r < len; r += kPage)
                    frame_unref(block + r);
                return -err::kNoMem;
            }
        }
        va += len;
    }
    return 0;
}

// A host file's pages from the page cache: every mapping of a file shares
// one frame per page (private mappings copy on write). Falls back to
// copies when the file is not cacheable (open for writing somewhere).
long populate_cached(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b) {
    for (uint64_t va = a; va < b; va += kPage) {
        long err = 0;
        uint64_t frame = mm_file_cached(v.file, v.offset + (va - v.start), (b - va) / kPage, &err);
        if (!frame)
            return err < 0 ? err : populate_copies(as, v, va, b, err != kMmPastEnd);
        if ((v.prot & PROT_WRITE) && !(v.flags & kVmShared)) {
            // Private and writable (data segments): a copy now costs ~0.5 us,
            // copy-on-write later a ~23 us fault per page written.
            uint64_t copy = frame_alloc(0);
            if (copy)
                memcpy(phys_to_virt(copy), phys_to_virt(frame), kPage);
            frame_unref(frame);
            if (!(frame = copy))
                return -err::kNoMem;
        }
        if (!install(as, v, va, frame))
            return -err::kNoMem;
    }
    return 0;
}

long populate_fresh(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b) {
    if (v.file && mm_file_has_frames(v.file))
        return populate_file_frames(as, v, a, b);
    // A shared writable mapping writes its pages back: it keeps its own copy.
    if (v.file && !((v.flags & kVmShared) && (v.prot & PROT_WRITE)))
        return populate_cached(as, v, a, b);
    return populate_copies(as, v, a, b, true);
}

// Clears the entries of [a, b), deferring their frames. 2 MiB entries
// across a or b must have been split (as_split_huge).
void clear_range(AddressSpace& as, uint64_t a, uint64_t b) {
    pt_for_each_huge(as.root, a, b, [&](uint64_t va, uint64_t& e) {
        uint64_t block = e & pte::kAddr;
        as_mark_stale(as, va);  // invlpg of any address drops the whole 2 MiB
        e = 0;
        as.resident -= kHugePage / kPage;
        defer_free_huge(as, block);
    });
    pt_for_each(as.root, a, b, [&](uint64_t va, uint64_t& e) {
        uint64_t frame = e & pte::kAddr;
        if (e & pte::kPresent)
            as_mark_stale(as, va);
        e = 0;
        as.resident--;
        defer_free(as, frame);
    });
}

// New entry bits for the pages of v (prot already changed) in [a, b).
// Shared frames in a now-writable private mapping become copy-on-write.
void reprotect(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b) {
    pt_for_each_huge(as.root, a, b, [&](uint64_t va, uint64_t& e) {
        // Never PROT_NONE here (as_protect splits first), never shared.
        uint64_t next = entry_for(v, e & pte::kAddr) | pte::kHuge;
        if ((e & ~next & pte::kWrite) || (~e & next & pte::kNoExec))
            as_mark_stale(as, va);
        e = next;
    });
    pt_for_each(as.root, a, b, [&](uint64_t va, uint64_t& e) {
        uint64_t next = entry_for(v, e & pte::kAddr);
        bool taken = (e & ~next & (pte::kPresent | pte::kWrite)) || (~e & next & pte::kNoExec);
        if ((e & pte::kPresent) && taken)
            as_mark_stale(as, va);  // a permission was taken away
        e = next;
    });
}

}  // namespace

void as_init(AddressSpace& as, uint64_t root) {
    memset(&as, 0, sizeof as);
    as.users = 1;
    as.root = root;
}

long as_populate(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b) {
    if (!pte_flags(v.prot))
        return 0;  // PROT_NONE: reserved, no frames
    if (v.flags & kVmImage)
        return populate_image(as, v, a, b);
    return populate_fresh(as, v, a, b);
}

long as_writeback(AddressSpace& as, uint64_t a, uint64_t b) {
    long r = 0;
    for (uint32_t i = vma_index_after(as, a); i < as.nvma && as.vmas[i].start < b; ++i) {
        const Vma v = as.vmas[i];
        if (!v.file || !(v.flags & kVmShared) || !(v.prot & PROT_WRITE) || mm_file_has_frames(v.file))
            continue;  // (a file of frames has the mapping's writes already)
        int64_t size = mm_file_size(v.file);
        uint64_t s = v.start > a ? v.start : a, e = v.end < b ? v.end : b;
        // Every page with a frame: the program may have written any of them
        // (the PTE dirty bit is set at population, see pte_flags).
        pt_for_each(as.root, s, e, [&](uint64_t va, uint64_t& pte) {
            uint64_t off = v.offset + (va - v.start);
            if (size < 0 || off >= static_cast<uint64_t>(size) || r < 0)
                return;
            uint64_t n = static_cast<uint64_t>(size) - off < kPage ? static_cast<uint64_t>(size) - off : kPage;
            long w = mm_file_store(v.file, phys_to_virt(pte & pte::kAddr), n, off);
            if (w < 0)
                r = w;
        });
    }
    return r;
}

long as_unmap(AddressSpace& as, uint64_t a, uint64_t b) {
    if (!vma_overlaps(as, a, b))
        return 0;
    as_writeback(as, a, b);  // what a shared file mapping held reaches the file
    if (as_split_huge(as, a, b, false) < 0 || !vma_split_at(as, a) || !vma_split_at(as, b))
        return -err::kNoMem;
    uint32_t first = vma_index_after(as, a), last = first;
    while (last < as.nvma && as.vmas[last].start < b) {
        Vma& v = as.vmas[last];
        clear_range(as, v.start, v.end);
        if (v.file)
            mm_file_put(v.file);
        ++last;
    }
    memmove(&as.vmas[first], &as.vmas[last], (as.nvma - last) * sizeof(Vma));
    as.nvma -= last - first;
    as_flush(as);
    return 0;
}

long as_protect(AddressSpace& as, uint64_t a, uint64_t b, int prot) {
    if (!vma_covers(as, a, b))
        return -err::kNoMem;
    // PROT_NONE pages keep their frames in 4 KiB entries (pte::kProtNone).
    if (as_split_huge(as, a, b, !pte_flags(prot)) < 0 || !vma_split_at(as, a) || !vma_split_at(as, b))
        return -err::kNoMem;
    long r = 0;
    for (uint32_t i = vma_index_after(as, a); r == 0 && i < as.nvma && as.vmas[i].start < b; ++i) {
        Vma& v = as.vmas[i];
        bool was_none = !pte_flags(v.prot);
        v.prot = prot;
        reprotect(as, v, v.start, v.end);
        if (was_none && as_populate_now(v, false))
            r = as_populate(as, v, v.start, v.end);  // committing a small reservation: touch is near
    }
    as_flush(as);
    return r;
}

long as_discard(AddressSpace& as, uint64_t a, uint64_t b) {
    if (as_split_huge(as, a, b, false) < 0)
        return -err::kNoMem;
    for (uint32_t i = vma_index_after(as, a); i < as.nvma && as.vmas[i].start < b; ++i) {
        const Vma& v = as.vmas[i];
        if (v.flags & kVmShared)
            continue;  // the data lives on in the shared object
        clear_range(as, v.start > a ? v.start : a, v.end < b ? v.end : b);
    }
    as_flush(as);  // then the frames are free; the next touch faults in fresh ones
    return 0;
}

bool as_populate_now(const Vma& v, bool populate_flag) {
    constexpr uint64_t kEagerAnon = 1ull << 20, kEagerFile = 16ull << 20;
    if (!pte_flags(v.prot))
        return false;
    if (populate_flag)
        return true;
    if (v.flags & kVmNoReserve)
        return false;
    uint64_t len = v.end - v.start;
    return len <= ((v.file || (v.flags & kVmImage)) ? kEagerFile : kEagerAnon);
}

uint64_t as_find_gap(const AddressSpace& as, uint64_t len) {
    uint64_t hi = as.mmap_top, floor = kUserMin;
    for (uint32_t j = as.nvma; j-- > 0;) {
        const Vma& v = as.vmas[j];
        if (v.start >= hi)
            continue;
        if (v.end < hi && hi - v.end >= len)
            return hi - len;
        hi = v.start;
    }
    return hi > floor && hi - floor >= len ? hi - len : 0;
}

void as_mark_stale(AddressSpace& as, uint64_t va) {
    as.tlb_stale = true;
    if (as.nstale < AddressSpace::kStalePages)
        as.stale[as.nstale] = va;
    if (as.nstale <= AddressSpace::kStalePages)
        as.nstale++;
}

// A few pages: invlpg each (~16-20 us a page on PVM). More: one CR3
// reload, which drops every non-global translation, so the program's
// working set is faulted back into the shadow tables afterwards
// (docs/design.md, "Flushing").
void as_flush(AddressSpace& as) {
    if (as.tlb_stale) {
        if (mm_loaded_root() == as.root) {  // another address space's stale entries die with its switch-in
            if (as.nstale <= AddressSpace::kStalePages)
                mm_flush_pages(as.stale, as.nstale);
            else
                mm_load_root(as.root);
        }
        mm_flush_remote(as.root);  // other CPUs running on the same tables
        as.tlb_stale = false;
        as.nstale = 0;
    }
    for (uint32_t i = 0; i < as.ndeferred; ++i) {
        uint64_t d = as.deferred[i];
        if (d & 1)
            frame_unref_each(d & ~uint64_t{1}, kMaxOrder);
        else
            frame_unref(d);
    }
    as.ndeferred = 0;
}

bool as_huge_ok(const Vma& v) {
    return !v.file && !(v.flags & (kVmShared | kVmImage | kVmGrowsDown | kVmNoHuge)) && pte_flags(v.prot);
}

long as_split_huge(AddressSpace& as, uint64_t a, uint64_t b, bool all) {
    bool ok = true;
    if (all) {
        pt_for_each_huge(as.root, a & ~(kHugePage - 1), (b + kHugePage - 1) & ~(kHugePage - 1),
                         [&](uint64_t, uint64_t& e) { ok = ok && pt_split_huge(&e); });
        return ok ? 0 : -err::kNoMem;
    }
    const uint64_t edges[2] = {a, b};
    for (uint64_t edge : edges) {
        if (!(edge & (kHugePage - 1)))
            continue;
        uint64_t* pde = pt_pde(as.root, edge, false);
        if (pde && (*pde & pte::kPresent) && (*pde & pte::kHuge) && edge >= kUserMin && !pt_split_huge(pde))
            return -err::kNoMem;
    }
    return 0;
}

bool as_translate(const AddressSpace& as, uint64_t va, uint64_t* gpa, uint64_t* entry) {
    bool huge = false;
    uint64_t* e = pt_entry(as.root, va, false, &huge);
    if (!e || !(*e & pte::kPresent))
        return false;
    if (entry)
        *entry = *e;
    uint64_t mask = huge ? kHugePage - 1 : kPage - 1;
    *gpa = (*e & pte::kAddr & ~mask) | (va & mask);
    return true;
}

}  // namespace lightvm::guest

#include "kernel/mm/address_space.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/page_table.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

void defer_free(AddressSpace& as, uint64_t frame) {
    if (as.ndeferred == AddressSpace::kDeferred)
        as_flush(as);
    as.deferred[as.ndeferred++] = frame;
}

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
    as.resident++;
    return true;
}

// Largest block order for `pages` more pages (bulk allocation, then split).
unsigned chunk_order(uint64_t pages) {
    unsigned o = 0;
    while (o < kMaxOrder && (2ull << o) <= pages)
        ++o;
    return o;
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

long populate_fresh(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b) {
    uint64_t va = a;
    while (va < b) {
        unsigned order = chunk_order((b - va) / kPage);
        uint64_t block = 0;
        while (!(block = frame_alloc_split(order)) && order > 0)
            --order;
        if (!block)
            return -err::kNoMem;
        uint64_t len = kPage << order;
        if (v.file) {
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

// Clears the entries of [a, b), deferring their frames.
void clear_range(AddressSpace& as, uint64_t a, uint64_t b) {
    pt_for_each(as.root, a, b, [&](uint64_t, uint64_t& e) {
        if (e & pte::kPresent)
            as.tlb_stale = true;
        defer_free(as, e & pte::kAddr);
        e = 0;
        as.resident--;
    });
}

// A private copy of a shared frame for a page that becomes writable.
bool unshare(AddressSpace& as, uint64_t& e) {
    uint64_t old = e & pte::kAddr;
    uint64_t copy = frame_alloc(0);
    if (!copy)
        return false;
    memcpy(phys_to_virt(copy), phys_to_virt(old), kPage);
    e = (e & ~pte::kAddr) | copy;
    defer_free(as, old);
    return true;
}

// New entry bits for the pages of v (prot already changed) in [a, b).
long reprotect(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b) {
    uint64_t want = pte_flags(v.prot);
    long r = 0;
    pt_for_each(as.root, a, b, [&](uint64_t, uint64_t& e) {
        uint64_t frame = e & pte::kAddr;
        uint64_t next = entry_for(v, frame);
        if ((next & pte::kCow) && (want & pte::kWrite) && !(v.flags & kVmShared)) {
            // Eager copy: without a fault handler a read-only entry in a
            // writable mapping would be a spurious SIGSEGV.
            if (!unshare(as, e)) {
                r = -err::kNoMem;
                return;
            }
            frame = e & pte::kAddr;
            next = (frame | want);
        }
        if ((e & pte::kPresent) && (e & ~next & (pte::kPresent | pte::kWrite)))
            as.tlb_stale = true;  // a permission was taken away
        if ((e & pte::kPresent) && (~e & next & pte::kNoExec))
            as.tlb_stale = true;
        if ((e & pte::kPresent) && (e & pte::kAddr) != frame)
            as.tlb_stale = true;
        e = next;
    });
    return r;
}

}  // namespace

void as_init(AddressSpace& as, uint64_t root) {
    memset(&as, 0, sizeof as);
    as.root = root;
}

long as_populate(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b) {
    if (!pte_flags(v.prot))
        return 0;  // PROT_NONE: reserved, no frames
    if (v.flags & kVmImage)
        return populate_image(as, v, a, b);
    return populate_fresh(as, v, a, b);
}

long as_unmap(AddressSpace& as, uint64_t a, uint64_t b) {
    if (!vma_overlaps(as, a, b))
        return 0;
    if (!vma_split_at(as, a) || !vma_split_at(as, b))
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
    if (!vma_split_at(as, a) || !vma_split_at(as, b))
        return -err::kNoMem;
    long r = 0;
    for (uint32_t i = vma_index_after(as, a); r == 0 && i < as.nvma && as.vmas[i].start < b; ++i) {
        Vma& v = as.vmas[i];
        bool was_none = !pte_flags(v.prot);
        v.prot = prot;
        r = reprotect(as, v, v.start, v.end);
        if (r == 0 && was_none)
            r = as_populate(as, v, v.start, v.end);  // pages that never had frames
    }
    as_flush(as);
    return r;
}

long as_discard(AddressSpace& as, uint64_t a, uint64_t b) {
    for (uint32_t i = vma_index_after(as, a); i < as.nvma && as.vmas[i].start < b; ++i) {
        Vma v = as.vmas[i];
        if (v.flags & kVmShared)
            continue;  // the data lives on in the shared object
        uint64_t s = v.start > a ? v.start : a, e = v.end < b ? v.end : b;
        clear_range(as, s, e);
        as_flush(as);
        long r = as_populate(as, v, s, e);
        if (r < 0)
            return r;
    }
    return 0;
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

void as_flush(AddressSpace& as) {
    if (as.tlb_stale) {
        if (mm_loaded_root() == as.root)  // another address space's stale entries die with its switch-in
            mm_load_root(as.root);
        as.tlb_stale = false;
    }
    for (uint32_t i = 0; i < as.ndeferred; ++i)
        frame_unref(as.deferred[i]);
    as.ndeferred = 0;
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

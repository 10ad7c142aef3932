// Demand paging: what the page-fault handler (mm/fault_entry.cpp) and the
// user-access layer do when a page the program may touch has no frame yet,
// or is a shared frame about to be written.
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/page_table.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// One fault maps this much around the faulting page (inside its VMA): a
// guest #PF costs ~23 us under PVM, a PTE write ~20 ns (docs/design.md).
constexpr uint64_t kFaultAround = 64 * 1024;

bool allowed(const Vma& v, bool write, bool exec) {
    if (!pte_flags(v.prot))
        return false;
    if (write && !(v.prot & PROT_WRITE))
        return false;
    return !exec || (v.prot & PROT_EXEC);
}

bool present(AddressSpace& as, uint64_t page) {
    uint64_t* e = pt_entry(as.root, page, false);
    return e && (*e & pte::kPresent);
}

// A private copy of the shared frame behind a copy-on-write entry.
long break_cow(AddressSpace& as, uint64_t va, uint64_t& e) {
    uint64_t old = e & pte::kAddr;
    uint64_t fresh = old;
    if (!frame_in_pool(old) || frame_refs(old) > 1) {
        fresh = frame_alloc(0);
        if (!fresh)
            return -err::kNoMem;
        memcpy(phys_to_virt(fresh), phys_to_virt(old), kPage);
    }
    e = (e & ~(pte::kAddr | pte::kCow)) | fresh | pte::kWrite | pte::kDirty;
    as_mark_stale(as, va);  // the read-only translation may be cached
    if (fresh != old)
        frame_unref(old);
    return 0;
}

// Whether the fault at addr maps the whole 2 MiB around it with one entry:
// memory that may have one (as_huge_ok) covering that 2 MiB, and nothing
// mapped there yet. Under PVM's shadow paging every 4 KiB page
// mapped by a 4 KiB entry costs the host a fault on first touch, ~6 us
// here; a 2 MiB entry over huge host pages one per 2 MiB (docs/design.md,
// "2 MiB pages").
bool huge_window(AddressSpace& as, const Vma& v, uint64_t addr) {
    const uint64_t lo = addr & ~(kHugePage - 1);
    if (!as_huge_ok(v) || lo < v.start || v.end - lo < kHugePage)
        return false;
    uint64_t* pde = pt_pde(as.root, lo, false);
    return !pde || !*pde;
}

}  // namespace

long as_fault(AddressSpace& as, uint64_t addr, bool write, bool exec) {
    Vma* v = vma_find(as, addr);
    if (!v || !allowed(*v, write, exec))
        return -err::kFault;
    uint64_t page = page_down(addr);
    uint64_t* e = pt_entry(as.root, page, false);
    if (e && (*e & pte::kPresent)) {
        long r = 0;
        if (write && (*e & pte::kCow))
            r = break_cow(as, page, *e);
        else
            as_mark_stale(as, page);  // allowed already: a stale translation
        as_flush(as);
        return r;
    }
    uint64_t lo = addr & ~(kFaultAround - 1), hi = lo + kFaultAround;
    if (huge_window(as, *v, addr)) {
        lo = addr & ~(kHugePage - 1);
        hi = lo + kHugePage;
    }
    if (lo < v->start)
        lo = v->start;
    if (hi > v->end || hi < lo)
        hi = v->end;
    Vma copy = *v;  // populate may grow the VMA array
    long r = as_populate(as, copy, lo, hi);
    if (r < 0 && r != -err::kNoMem)
        return r;
    // Out of memory for the window: the faulting page alone may still fit.
    if (present(as, page))
        return 0;
    if (r < 0 || (r = as_populate(as, copy, page, page + kPage)) < 0)
        return r;
    return present(as, page) ? 0 : kFaultBeyondEof;  // only a file's end leaves an allowed page out
}

long as_prepare(AddressSpace& as, uint64_t addr, uint64_t len, bool write) {
    uint64_t end = addr + len;
    for (uint64_t va = page_down(addr); va < end;) {
        Vma* v = vma_find(as, va);
        if (!v || !allowed(*v, write, false))
            return -err::kFault;
        uint64_t stop = v->end < end ? v->end : end;
        bool missing = false;
        for (uint64_t p = va; p < stop && !missing; p += kPage) {
            uint64_t* e = pt_entry(as.root, p, false);
            missing = !e || !(*e & pte::kPresent);
        }
        if (missing) {
            // The 2 MiB around either end, when a fault there would map it
            // whole: a read() into fresh memory must not leave 4 KiB entries
            // where the program's own touches would have made one 2 MiB.
            uint64_t lo = va, hi = page_up(stop);
            if (huge_window(as, *v, lo))
                lo &= ~(kHugePage - 1);
            if (huge_window(as, *v, hi - 1))
                hi = (hi + kHugePage - 1) & ~(kHugePage - 1);
            Vma copy = *v;
            long r = as_populate(as, copy, lo, hi);
            if (r < 0)
                return r;
            for (uint64_t p = va; p < stop; p += kPage)
                if (!present(as, p))
                    return -err::kFault;  // past a file's end: the program would get SIGBUS
        }
        if (write) {
            long r = 0;
            pt_for_each(as.root, va, page_up(stop), [&](uint64_t p, uint64_t& e) {
                if (r == 0 && (e & pte::kCow))
                    r = break_cow(as, p, e);
            });
            if (r < 0)
                return r;
        }
        va = page_up(stop);
    }
    as_flush(as);
    return 0;
}

}  // namespace lightvm::guest

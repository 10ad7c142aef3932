// The VMA list: a sorted array in frames of its own, doubled when full.
// A few hundred VMAs is typical (ld.so maps 4-5 per library); a search is
// a binary search, an insertion a memmove.
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/layout.hpp"

namespace lightvm::guest {

namespace {

bool grow(AddressSpace& as) {
    unsigned order = as.vmas ? as.vma_order + 1 : 0;
    if (order > kMaxOrder)
        return false;  // 2 MiB of VMAs: ~52,000 regions
    uint64_t gpa = frame_alloc(order);
    if (!gpa)
        return false;
    auto* fresh = static_cast<Vma*>(phys_to_virt(gpa));
    if (as.vmas) {
        memcpy(fresh, as.vmas, as.nvma * sizeof(Vma));
        frame_unref(as.vma_gpa);
    }
    as.vmas = fresh;
    as.vma_gpa = gpa;
    as.vma_order = order;
    as.cap = static_cast<uint32_t>((kPage << order) / sizeof(Vma));
    return true;
}

}  // namespace

uint32_t vma_index_after(const AddressSpace& as, uint64_t va) {
    uint32_t lo = 0, hi = as.nvma;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (as.vmas[mid].end <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

Vma* vma_find(AddressSpace& as, uint64_t va) {
    uint32_t i = vma_index_after(as, va);
    return i < as.nvma && as.vmas[i].start <= va ? &as.vmas[i] : nullptr;
}

bool vma_overlaps(const AddressSpace& as, uint64_t a, uint64_t b) {
    uint32_t i = vma_index_after(as, a);
    return i < as.nvma && as.vmas[i].start < b;
}

bool vma_covers(const AddressSpace& as, uint64_t a, uint64_t b) {
    for (uint32_t i = vma_index_after(as, a); a < b; ++i) {
        if (i >= as.nvma || as.vmas[i].start > a)
            return false;
        a = as.vmas[i].end;
    }
    return true;
}

bool vma_copy_all(AddressSpace& dst, const AddressSpace& src) {
    for (uint32_t i = 0; i < src.nvma; ++i)
        if (!vma_insert(dst, src.vmas[i]))
            return false;
    return true;
}

void vma_release_all(AddressSpace& as) {
    for (uint32_t i = 0; i < as.nvma; ++i)
        if (as.vmas[i].file)
            mm_file_put(as.vmas[i].file);
    if (as.vmas)
        frame_unref(as.vma_gpa);
    as.vmas = nullptr;
    as.nvma = as.cap = 0;
}

bool vma_insert(AddressSpace& as, const Vma& v) {
    if (as.nvma == as.cap && !grow(as))
        return false;
    uint32_t i = vma_index_after(as, v.start);
    memmove(&as.vmas[i + 1], &as.vmas[i], (as.nvma - i) * sizeof(Vma));
    as.vmas[i] = v;
    as.nvma++;
    if (v.file)
        mm_file_get(v.file);
    return true;
}

bool vma_split_at(AddressSpace& as, uint64_t va) {
    Vma* v = vma_find(as, va);
    if (!v || v->start == va)
        return true;
    Vma upper = *v;
    upper.start = va;
    upper.offset += va - v->start;
    v->end = va;
    uint64_t lower_start = v->start;
    if (vma_insert(as, upper))  // takes its own file reference
        return true;
    vma_find(as, lower_start)->end = upper.end;  // undo
    return false;
}

}  // namespace lightvm::guest

// Template part of page_table.hpp.
#pragma once

#include "kernel/mm/layout.hpp"

namespace lightvm::guest {

namespace pt_detail {
inline uint64_t* table(uint64_t entry) { return static_cast<uint64_t*>(phys_to_virt(entry & pte::kAddr)); }
inline unsigned index(uint64_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 511; }
}  // namespace pt_detail

// Walks only the tables that exist: an empty 1 GiB or 2 MiB region costs
// one entry read, so a sweep over a huge PROT_NONE reservation is cheap.
template <typename F>
void pt_for_each(uint64_t root, uint64_t a, uint64_t b, F fn) {
    using namespace pt_detail;
    uint64_t va = a;
    while (va < b) {
        uint64_t* l4 = table(root);
        uint64_t e4 = l4[index(va, 4)];
        uint64_t step = 1ull << 39;
        if (e4 & pte::kPresent) {
            uint64_t e3 = table(e4)[index(va, 3)];
            step = 1ull << 30;
            if (e3 & pte::kPresent) {
                uint64_t e2 = table(e3)[index(va, 2)];
                step = 1ull << 21;
                if ((e2 & pte::kPresent) && !(e2 & pte::kHuge)) {
                    uint64_t* l1 = table(e2);
                    uint64_t end = (va & ~(step - 1)) + step;
                    for (; va < end && va < b; va += kPage)
                        if (pte_has_frame(l1[index(va, 1)]))
                            fn(va, l1[index(va, 1)]);
                    continue;
                }
            }
        }
        uint64_t next = (va & ~(step - 1)) + step;
        if (next <= va)
            break;  // wrapped at the top of the address space
        va = next;
    }
}

template <typename F>
void pt_for_each_huge(uint64_t root, uint64_t a, uint64_t b, F fn) {
    using namespace pt_detail;
    constexpr uint64_t kSpan = 1ull << 21;
    uint64_t va = (a + kSpan - 1) & ~(kSpan - 1);
    while (va < b && b - va >= kSpan) {
        uint64_t e4 = table(root)[index(va, 4)];
        uint64_t step = 1ull << 39;
        if (e4 & pte::kPresent) {
            uint64_t e3 = table(e4)[index(va, 3)];
            step = 1ull << 30;
            if (e3 & pte::kPresent) {
                uint64_t& e2 = table(e3)[index(va, 2)];
                step = kSpan;
                if ((e2 & pte::kPresent) && (e2 & pte::kHuge) && va >= kUserMin)
                    fn(va, e2);
            }
        }
        uint64_t next = (va & ~(step - 1)) + step;
        if (next <= va)
            break;
        va = next;
    }
}

}  // namespace lightvm::guest

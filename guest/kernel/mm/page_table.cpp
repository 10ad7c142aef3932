#include "kernel/mm/page_table.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

using pt_detail::index;
using pt_detail::table;

namespace {

// Page-table frames of dead address spaces, kept for new tables only. On
// PVM a frame that was a page table stays write-tracked by the host's
// shadow MMU: the first writes to it as ordinary data (a memset) cost
// ~0.35 ms (measured: fork's signal-handler copy landing on the previous
// child's page table), while reusing it as a table of zeros costs nothing
// extra. Frames here are all-zero (freed tables are emptied entry by entry).
constexpr uint32_t kTableCache = 512;  // 2 MiB
uint64_t g_tables[kTableCache];
uint32_t g_ntables;

// Roots of dead address spaces, kept whole with their kernel part: the
// slot-0 PDPT and first PD (the kernel's two 2 MiB entries) and the physmap
// slot. On PVM every write to a PML4/PDPT/PD entry traps (~5 us and more,
// docs/platform.md); a new root costs five such writes to build and five to
// empty, and fork + exec + exit makes and ends two address spaces.
constexpr uint32_t kRootCache = 16;
uint64_t g_roots[kRootCache];
uint32_t g_nroots;

}  // namespace

uint64_t pt_table_alloc() {
    if (g_ntables)
        return g_tables[--g_ntables];
    return frame_alloc(0);
}

void pt_table_free(uint64_t frame) {
    if (!frame_in_pool(frame))
        return;  // the monitor's tables of the first address space
    if (g_ntables < kTableCache && frame_refs(frame) == 1) {
        g_tables[g_ntables++] = frame;
        return;
    }
    frame_unref(frame);
}

uint32_t pt_tables_cached() { return g_ntables + 3 * g_nroots; }
void pt_tables_forget() { g_ntables = g_nroots = 0; }

bool pt_root_cache_room() { return g_nroots < kRootCache; }
void pt_root_cache_put(uint64_t root) { g_roots[g_nroots++] = root; }

uint64_t pte_flags(int prot) {
    if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
        return 0;  // PROT_NONE: no entry at all
    uint64_t f = pte::kPresent | pte::kUser | pte::kAccessed;
    if (prot & PROT_WRITE)
        f |= pte::kWrite | pte::kDirty;
    if (!(prot & PROT_EXEC))
        f |= pte::kNoExec;
    return f;
}

uint64_t* pt_pde(uint64_t root, uint64_t va, bool alloc) {
    uint64_t* t = table(root);
    for (int level = 4; level > 2; --level) {
        uint64_t& e = t[index(va, level)];
        if (!(e & pte::kPresent)) {
            if (!alloc)
                return nullptr;
            uint64_t frame = pt_table_alloc();
            if (!frame)
                return nullptr;
            e = frame | pte::kTable;
        }
        t = table(e);
    }
    return &t[index(va, 2)];
}

uint64_t* pt_entry(uint64_t root, uint64_t va, bool alloc, bool* huge) {
    if (huge)
        *huge = false;
    uint64_t* e = pt_pde(root, va, alloc);
    if (!e)
        return nullptr;
    if (!(*e & pte::kPresent)) {
        if (!alloc)
            return nullptr;
        uint64_t frame = pt_table_alloc();
        if (!frame)
            return nullptr;
        *e = frame | pte::kTable;
    } else if (*e & pte::kHuge) {
        if (huge)
            *huge = true;
        return e;
    }
    return &table(*e)[index(va, 1)];
}

bool pt_split_huge(uint64_t* pde) {
    uint64_t frame = pt_table_alloc();
    if (!frame)
        return false;
    uint64_t* t = table(frame);
    const uint64_t block = *pde & pte::kAddr, bits = pt_small_bits(*pde);
    for (unsigned i = 0; i < 512; ++i)  // a table the CPU does not use yet: plain stores
        t[i] = (block + uint64_t(i) * kPage) | bits;
    *pde = frame | pte::kTable;
    return true;
}

uint64_t pt_new_root(uint64_t kernel_root) {
    if (g_nroots)
        return g_roots[--g_nroots];
    uint64_t root = pt_table_alloc();
    if (!root)
        return 0;
    uint64_t pdpt = pt_table_alloc(), pd = pt_table_alloc();
    if (!pdpt || !pd) {
        pt_table_free(root);
        if (pdpt)
            pt_table_free(pdpt);
        return 0;
    }
    // Slot 0 holds the kernel's low region and user space alike: a private
    // PDPT and first PD, with the kernel's two 2 MiB entries copied.
    const uint64_t* k4 = table(kernel_root);
    const uint64_t* kpd = table(table(k4[0])[0]);
    uint64_t* pd_t = table(pd);
    pd_t[0] = kpd[0];
    pd_t[1] = kpd[1];
    table(pdpt)[0] = pd | pte::kTable;
    uint64_t* r = table(root);
    r[0] = pdpt | pte::kTable;
    r[255] = k4[255];  // the physmap (shared)
    return root;
}

}  // namespace lightvm::guest

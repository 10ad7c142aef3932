#include "x86/page_tables.hpp"

#include "lightvm/abi.h"

namespace lightvm::x86 {

namespace {
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kTableFlags = kPtePresent | kPteWritable | kPteUser;
constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;
}  // namespace

Result<uint64_t> build_kernel_map(GuestMemory& mem, uint64_t tables_gpa, uint64_t tables_end, uint64_t mem_size) {
    using abi::kHugePageSize;
    using abi::kPageSize;
    if (mem_size == 0 || mem_size % kHugePageSize != 0)
        return make_error(ErrorKind::BadInput, "page tables", "memory size must be a non-zero multiple of 2 MiB");
    uint64_t gib = (mem_size + kGiB - 1) / kGiB;
    if (gib > 512)
        return make_error(ErrorKind::BadInput, "page tables", "memory size above 512 GiB is not supported");
    uint64_t needed = (5 + gib) * kPageSize;
    if (tables_end < tables_gpa || tables_end - tables_gpa < needed)
        return make_error(ErrorKind::BadInput, "page tables", "not enough room for page tables of " +
                                                              std::to_string(mem_size >> 20) + " MiB");
    auto region = TRY(mem.span(tables_gpa, needed));
    std::fill(region.begin(), region.end(), 0);

    const uint64_t pml4 = tables_gpa, pdpt0 = pml4 + kPageSize, pd0 = pml4 + 2 * kPageSize;
    const uint64_t pt0 = pml4 + 3 * kPageSize, phys_pdpt = pml4 + 4 * kPageSize, phys_pd = pml4 + 5 * kPageSize;
    constexpr uint64_t kLeaf = kTableFlags | kPteGlobal;
    TRY(mem.write<uint64_t>(pml4, pdpt0 | kTableFlags));
    TRY(mem.write<uint64_t>(pdpt0, pd0 | kTableFlags));
    TRY(mem.write<uint64_t>(pd0, pt0 | kTableFlags));
    for (uint64_t a = kHugePageSize; a < abi::kAppMin; a += kHugePageSize)
        TRY(mem.write<uint64_t>(pd0 + 8 * (a / kHugePageSize), a | kLeaf | kPteHuge));
    // Page 0 stays not-present: NULL dereferences must fault.
    for (uint64_t e = 1; e < 512; ++e)
        TRY(mem.write<uint64_t>(pt0 + 8 * e, (e * kPageSize) | kLeaf));
    TRY(mem.write<uint64_t>(pml4 + 8 * ((abi::kPhysMapBase >> 39) & 511), phys_pdpt | kTableFlags));
    for (uint64_t g = 0; g < gib; ++g) {
        uint64_t pd = phys_pd + g * kPageSize;
        TRY(mem.write<uint64_t>(phys_pdpt + 8 * g, pd | kTableFlags));
        for (uint64_t e = 0; e < 512 && g * kGiB + e * kHugePageSize < mem_size; ++e)
            TRY(mem.write<uint64_t>(pd + 8 * e, (g * kGiB + e * kHugePageSize) | kLeaf | kPteHuge));
    }
    return pml4;
}

Result<void> unmap_page(GuestMemory& mem, uint64_t cr3, uint64_t va) {
    if (va % abi::kPageSize != 0 || va == 0 || va >= abi::kHugePageSize)
        return make_error(ErrorKind::BadInput, "page tables", "guard page outside the 4 KiB-mapped first 2 MiB");
    const uint64_t pt0 = (cr3 & kAddrMask) + 3 * abi::kPageSize;  // layout of build_kernel_map
    return mem.write<uint64_t>(pt0 + 8 * (va / abi::kPageSize), 0);
}

Result<uint64_t> translate(const GuestMemory& mem, uint64_t cr3, uint64_t va) {
    uint64_t table = cr3 & kAddrMask;
    for (int level = 3; level >= 0; --level) {
        uint64_t index = (va >> (12 + 9 * level)) & 511;
        uint64_t entry = TRY(mem.read<uint64_t>(table + 8 * index));
        if (!(entry & kPtePresent))
            return make_error(ErrorKind::GuestFault, "translate", "address not mapped");
        if (level > 0 && level < 3 && (entry & kPteHuge)) {
            uint64_t size = 1ull << (12 + 9 * level);
            return (entry & kAddrMask & ~(size - 1)) | (va & (size - 1));
        }
        table = entry & kAddrMask;
    }
    return table | (va & 0xfff);
}

}  // namespace lightvm::x86

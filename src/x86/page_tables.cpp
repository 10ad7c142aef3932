#include "x86/page_tables.hpp"

#include "lightvm/abi.h"

namespace lightvm::x86 {

namespace {
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kTableFlags = kPtePresent | kPteWritable | kPteUser;
constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;
}  // namespace

Result<uint64_t> build_identity_map(GuestMemory& mem, uint64_t tables_gpa, uint64_t tables_end, uint64_t map_size) {
    using abi::kHugePageSize;
    using abi::kPageSize;
    if (map_size == 0 || map_size % kHugePageSize != 0)
        return make_error(ErrorKind::BadInput, "page tables", "memory size must be a non-zero multiple of 2 MiB");
    uint64_t gib = (map_size + kGiB - 1) / kGiB;
    if (gib > 512)
        return make_error(ErrorKind::BadInput, "page tables", "memory size above 512 GiB is not supported");
    // PML4, PDPT, PT for the first 2 MiB, then one PD per GiB.
    uint64_t needed = (3 + gib) * kPageSize;
    if (tables_end < tables_gpa || tables_end - tables_gpa < needed)
        return make_error(ErrorKind::BadInput, "page tables", "not enough room for page tables of " +
                                                              std::to_string(map_size >> 20) + " MiB");
    auto region = TRY(mem.span(tables_gpa, needed));
    std::fill(region.begin(), region.end(), 0);

    const uint64_t pml4 = tables_gpa, pdpt = tables_gpa + kPageSize, pt0 = tables_gpa + 2 * kPageSize;
    const uint64_t pd_base = tables_gpa + 3 * kPageSize;
    TRY(mem.write<uint64_t>(pml4, pdpt | kTableFlags));
    for (uint64_t g = 0; g < gib; ++g) {
        uint64_t pd = pd_base + g * kPageSize;
        TRY(mem.write<uint64_t>(pdpt + 8 * g, pd | kTableFlags));
        for (uint64_t e = 0; e < 512; ++e) {
            uint64_t addr = g * kGiB + e * kHugePageSize;
            if (addr >= map_size)
                break;
            uint64_t entry = addr == 0 ? (pt0 | kTableFlags) : (addr | kTableFlags | kPteHuge);
            TRY(mem.write<uint64_t>(pd + 8 * e, entry));
        }
    }
    // Page 0 stays not-present: NULL dereferences must fault.
    for (uint64_t e = 1; e < 512; ++e)
        TRY(mem.write<uint64_t>(pt0 + 8 * e, (e * kPageSize) | kTableFlags));
    return pml4;
}

Result<void> unmap_page(GuestMemory& mem, uint64_t cr3, uint64_t va) {
    if (va % abi::kPageSize != 0 || va == 0 || va >= abi::kHugePageSize)
        return make_error(ErrorKind::BadInput, "page tables", "guard page outside the 4 KiB-mapped first 2 MiB");
    const uint64_t pt0 = (cr3 & kAddrMask) + 2 * abi::kPageSize;  // layout of build_identity_map
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

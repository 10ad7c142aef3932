// The kernel's part of the guest page tables, built from outside before the
// first instruction; from then on the guest kernel owns them (it builds
// every user mapping itself) and the monitor never writes them again
// (docs/platform.md: editing live tables through the monitor's mapping is
// not seen by a shadow-paged guest). Every page is user-accessible: the
// guest kernel runs at CPL3 under PVM; the VM is the isolation boundary.
#pragma once

#include <cstdint>

#include "common/result.hpp"
#include "memory/guest_memory.hpp"

namespace lightvm::x86 {

inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWritable = 1ull << 1;
inline constexpr uint64_t kPteUser = 1ull << 2;
inline constexpr uint64_t kPteHuge = 1ull << 7;
inline constexpr uint64_t kPteGlobal = 1ull << 8;

// abi.h "Guest virtual layout": [4 KiB, kAppMin) identity-mapped (4 KiB
// pages for the first 2 MiB, page 0 left out so NULL faults; a 2 MiB page
// above), and all of guest RAM [0, mem_size) at kPhysMapBase with 2 MiB
// pages. Both global: they survive the CR3 loads of address-space
// switches. User space stays empty. Tables go into [tables_gpa,
// tables_end) in this order: PML4, PDPT 0, PD 0, PT 0, physmap PDPT, one
// physmap PD per GiB. Returns the CR3 value.
Result<uint64_t> build_kernel_map(GuestMemory& mem, uint64_t tables_gpa, uint64_t tables_end, uint64_t mem_size);

// Leaves one 4 KiB page of the first 2 MiB unmapped (a guard page), before
// the VM runs. Only pages with a 4 KiB entry can be unmapped.
Result<void> unmap_page(GuestMemory& mem, uint64_t cr3, uint64_t va);

// Walks the tables like the MMU would (for tests and fault reports).
// Returns the physical address, or an error if not mapped.
Result<uint64_t> translate(const GuestMemory& mem, uint64_t cr3, uint64_t va);

}  // namespace lightvm::x86

// Identity-mapped long-mode page tables, built from outside before the
// first instruction and never changed while the VM lives (docs/platform.md:
// editing live tables through the monitor's mapping is not seen by a
// shadow-paged guest). Every page is user-accessible: the guest kernel runs
// at CPL3 under PVM; the VM is the isolation boundary.
#pragma once

#include <cstdint>

#include "common/result.hpp"
#include "memory/guest_memory.hpp"

namespace lightvm::x86 {

inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWritable = 1ull << 1;
inline constexpr uint64_t kPteUser = 1ull << 2;
inline constexpr uint64_t kPteHuge = 1ull << 7;

// Maps [4 KiB, map_size) one-to-one; page 0 stays unmapped so NULL
// dereferences fault. The first 2 MiB use 4 KiB pages, the rest 2 MiB
// pages. map_size must be a multiple of 2 MiB. Tables are written into
// [tables_gpa, tables_end). Returns the CR3 value.
Result<uint64_t> build_identity_map(GuestMemory& mem, uint64_t tables_gpa, uint64_t tables_end, uint64_t map_size);

// Leaves one 4 KiB page of the first 2 MiB unmapped (a guard page), before
// the VM runs. Only pages with a 4 KiB entry can be unmapped.
Result<void> unmap_page(GuestMemory& mem, uint64_t cr3, uint64_t va);

// Walks the tables like the MMU would (for tests and fault reports).
// Returns the physical address, or an error if not mapped.
Result<uint64_t> translate(const GuestMemory& mem, uint64_t cr3, uint64_t va);

}  // namespace lightvm::x86

// The guest's virtual layout as the kernel sees it (abi.h, "Guest virtual
// layout"): user space, the identity-mapped low region, and the physmap
// through which the kernel reaches every frame.
#pragma once

#include <stdint.h>

#include "lightvm/abi.h"

namespace lightvm::guest {

inline constexpr uint64_t kPage = abi::kPageSize;
inline constexpr uint64_t kHugePage = abi::kHugePageSize;
inline constexpr uint64_t kUserMin = abi::kUserMin;
inline constexpr uint64_t kUserMax = abi::kUserMax;

// Where guest-physical address 0 appears in the kernel's view:
// abi::kPhysMapBase in the VM; hosted unit tests point it at a host buffer.
extern uint64_t g_physmap;
extern uint64_t g_physmap_size;  // bytes of guest RAM behind it

inline void* phys_to_virt(uint64_t gpa) { return reinterpret_cast<void*>(g_physmap + gpa); }

inline uint64_t page_down(uint64_t v) { return v & ~(kPage - 1); }
inline uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }
inline bool page_aligned(uint64_t v) { return (v & (kPage - 1)) == 0; }

}  // namespace lightvm::guest

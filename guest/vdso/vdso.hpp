// Where the kernel image carries the vDSO (vdso_blob.S): programs get this
// address as AT_SYSINFO_EHDR and use the pages in place, since the kernel's
// low region is mapped user-readable and executable in every address space.
#pragma once

#include <stdint.h>

extern "C" const uint8_t lvm_vdso_start[];

namespace lightvm::guest {

inline uint64_t vdso_base() { return reinterpret_cast<uint64_t>(lvm_vdso_start); }

}  // namespace lightvm::guest

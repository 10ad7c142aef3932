// A process's address space. Today the VM's RAM is identity-mapped once
// by the monitor and an address space is the bookkeeping of which parts of
// the managed range [lo, hi) between the program image and its stack are
// handed out (brk, mmap); the page tables themselves are shared and fixed
// (mm/memory.hpp). The guest virtual memory work gives it its own page
// tables and VMAs; fork copies it, exec replaces it, threads share it.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct Extent {
    uint64_t start, end;
};

struct AddressSpace {
    static constexpr int kMaxExtents = 4096;
    uint64_t user_lo, user_hi;      // what user pointers may name; below user_lo is the kernel's
    Extent free[kMaxExtents];  // sorted, disjoint, non-adjacent
    int nfree;
    uint64_t lo, hi;                // managed range [lo, hi)
    uint64_t brk_start, brk;        // program break
    uint64_t clean_lo, clean_hi;    // never handed out, so still zero
    uint64_t used;                  // bytes handed out (brk + mmap)
};

}  // namespace lightvm::guest

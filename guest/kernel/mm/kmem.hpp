// Kernel memory for buffers that outlive a call (pipe rings, file-cache
// windows, the attribute cache): whole frames, reached through the
// physmap, so they are the same in every address space and never visible
// to user space. Physically contiguous: one hypercall covers a buffer.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

// Zeroed, page-aligned; nullptr when frames run out.
void* kmem_alloc(uint64_t bytes);
void kmem_free(void* p, uint64_t bytes);

// A fixed-size kernel table of N objects of type T that lives outside the
// kernel image (which has a size limit, abi.h kKernelLimit): its pages
// come from frames one by one, each when an object on it is first needed,
// and are never given back. A table costs guest and host memory only for
// the pages its used slots are on, as a .bss array does, and needs no
// contiguous block.
template <typename T, int N>
struct KTable {
    static_assert(sizeof(T) <= 4096);
    static constexpr int kPerPage = static_cast<int>(4096 / sizeof(T));
    static constexpr int kPages = (N + kPerPage - 1) / kPerPage;
    T* pages[kPages];

    // Object i, its page allocated (zeroed) if need be; nullptr when frames run out.
    T* get(int i) {
        T*& p = pages[i / kPerPage];
        if (!p)
            p = static_cast<T*>(kmem_alloc(4096));
        return p ? &p[i % kPerPage] : nullptr;
    }
    // Object i if its page exists; nullptr: never used (all zero).
    T* peek(int i) const {
        T* p = pages[i / kPerPage];
        return p ? &p[i % kPerPage] : nullptr;
    }
};

}  // namespace lightvm::guest

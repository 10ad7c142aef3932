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

}  // namespace lightvm::guest

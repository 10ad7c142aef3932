#include "kernel/mm/slab.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/layout.hpp"

namespace lightvm::guest {

namespace {

// A new block of objects onto the free list: one page, or the smallest
// power-of-two block that holds one object.
bool refill(SlabCache& c) {
    uint64_t bytes = kPage;
    while (bytes < c.size)
        bytes <<= 1;
    auto* block = static_cast<uint8_t*>(kmem_alloc(bytes));
    if (!block)
        return false;
    for (uint64_t off = 0; off + c.size <= bytes; off += c.size) {
        *reinterpret_cast<void**>(block + off) = c.free;
        c.free = block + off;
    }
    return true;
}

}  // namespace

void* slab_alloc(SlabCache& c) {
    if (!c.free && !refill(c))
        return nullptr;
    void* p = c.free;
    c.free = *static_cast<void**>(p);
    memset(p, 0, c.size);
    c.live++;
    return p;
}

void slab_free(SlabCache& c, void* p) {
    if (!p)
        return;
    *static_cast<void**>(p) = c.free;
    c.free = p;
    c.live--;
}

}  // namespace lightvm::guest

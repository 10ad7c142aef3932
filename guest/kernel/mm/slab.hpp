// Fixed-size kernel objects (tasks, processes, address spaces): carved out
// of whole frames, reached through the physmap, kept on a free list when
// released. Pages are never given back: the set of live objects only ever
// grows to a workload's peak (at most the --pids limit of each kind).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

struct SlabCache {
    uint32_t size;   // object size, a multiple of 16
    void* free;      // free list through the first word of each object
    uint32_t live;   // objects handed out
};

// Zeroed object, or nullptr when frames run out.
void* slab_alloc(SlabCache& c);
void slab_free(SlabCache& c, void* p);

template <typename T>
constexpr SlabCache slab_for() {
    return SlabCache{static_cast<uint32_t>((sizeof(T) + 15) & ~size_t(15)), nullptr, 0};
}

}  // namespace lightvm::guest

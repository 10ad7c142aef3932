#include "kernel/mm/kmem.hpp"

#include "kernel/mm/frames.hpp"
#include "kernel/mm/layout.hpp"

namespace lightvm::guest {

namespace {
unsigned order_for(uint64_t bytes) {
    unsigned o = 0;
    while ((kPage << o) < bytes)
        ++o;
    return o;
}
}  // namespace

void* kmem_alloc(uint64_t bytes) {
    unsigned order = order_for(bytes);
    if (order > kMaxOrder)
        return nullptr;
    uint64_t gpa = frame_alloc(order);
    return gpa ? phys_to_virt(gpa) : nullptr;
}

void kmem_free(void* p, uint64_t) {
    if (p)
        frame_unref(reinterpret_cast<uint64_t>(p) - g_physmap);
}

}  // namespace lightvm::guest

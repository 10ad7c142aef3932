// /proc/self/maps: the VMA list in Linux's format (glibc reads it for the
// main thread's stack bounds, Go and sanitizers for the layout).
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct AddressSpace;

// The text for `as` into kernel memory it allocates (kmem); *len its size.
// nullptr when out of memory.
char* proc_maps_text(const AddressSpace& as, uint32_t* len, uint32_t* cap);

}  // namespace lightvm::guest

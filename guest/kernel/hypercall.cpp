#include "kernel/kernel.hpp"
#include "kernel/mm/kstack.hpp"
#include "kernel/mm/layout.hpp"

namespace lightvm::guest {

namespace {
// Large enough for every argument block in abi.h (checked at the call).
alignas(64) uint8_t g_bounce[512];
}  // namespace

uint64_t hypercall_gpa(const volatile void* arg) {
    auto va = reinterpret_cast<uint64_t>(arg);
    if (va >= kKStackArea)
        return kstack_gpa(va);
    if (va >= g_physmap && va - g_physmap < g_physmap_size)
        return va - g_physmap;
    return va;  // the kernel image: identity-mapped below 4 MiB
}

void hypercall_bounced(uint16_t nr, volatile void* arg, size_t size) {
    if (size > sizeof g_bounce)
        exit_vm(127, 0);  // a kernel bug: an argument block larger than any in abi.h
    auto* p = static_cast<volatile uint8_t*>(arg);
    for (size_t i = 0; i < size; ++i)
        g_bounce[i] = p[i];
    raw_hypercall(nr, static_cast<uint32_t>(reinterpret_cast<uint64_t>(g_bounce)));
    for (size_t i = 0; i < size; ++i)
        p[i] = g_bounce[i];
}

}  // namespace lightvm::guest

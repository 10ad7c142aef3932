#include "x86/cpuid.hpp"

#include <cpuid.h>

#include <algorithm>

namespace lightvm::x86 {

namespace {

kvm::CpuidEntry query(uint32_t function, uint32_t index, bool significant) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    __cpuid_count(function, index, a, b, c, d);
    return kvm::CpuidEntry{function, index, significant, a, b, c, d};
}

constexpr uint32_t bit(unsigned n) { return 1u << n; }

}  // namespace

std::vector<kvm::CpuidEntry> guest_cpuid() {
    std::vector<kvm::CpuidEntry> out;
    auto leaf0 = query(0, 0, false);
    leaf0.eax = std::min<uint32_t>(leaf0.eax, 7);  // highest basic leaf we describe
    out.push_back(leaf0);

    auto leaf1 = query(1, 0, false);
    // ECX: monitor(3), vmx(5), smx(6), pcid(17), x2apic(21), tsc-deadline(24),
    // xsave(26), osxsave(27), avx(28), f16c(29).
    leaf1.ecx &= ~(bit(3) | bit(5) | bit(6) | bit(17) | bit(21) | bit(24) | bit(26) | bit(27) | bit(28) | bit(29));
    leaf1.ecx |= bit(31);  // running under a hypervisor
    leaf1.ebx &= 0x0000ffff;  // one logical processor, APIC id 0
    out.push_back(leaf1);

    if (leaf0.eax >= 7) {
        auto leaf7 = query(7, 0, true);
        // EBX keeps fsgsbase(0), bmi1(3), bmi2(8), erms(9), adx(19), sha(29); drops AVX2/AVX-512, invpcid, etc.
        leaf7.ebx &= bit(0) | bit(3) | bit(8) | bit(9) | bit(19) | bit(29);
        leaf7.eax = 0;
        leaf7.ecx = 0;
        leaf7.edx = 0;
        out.push_back(leaf7);
    }

    auto ext0 = query(0x80000000, 0, false);
    uint32_t max_ext = std::min<uint32_t>(ext0.eax, 0x80000008);
    ext0.eax = max_ext;
    out.push_back(ext0);
    for (uint32_t f = 0x80000001; f <= max_ext; ++f) {
        out.push_back(query(f, 0, false));
    }
    return out;
}

}  // namespace lightvm::x86

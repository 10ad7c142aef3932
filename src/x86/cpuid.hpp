// The CPUID table the guest sees on hardware KVM (under PVM, CPUID at CPL3
// never exits and shows the outer host; the table is ignored there).
//
// Built from the host's own CPUID with a few leaves and a conservative
// mask, instead of KVM_GET_SUPPORTED_CPUID: that ioctl costs ~0.4-0.7 ms
// per process on nested KVM, more than all the rest of VM setup.
// Masked: XSAVE/OSXSAVE/AVX* (we do not enable XCR0), x2APIC/TSC-deadline
// (no local APIC), monitor/mwait, PCID/INVPCID, and every leaf we do not list.
#pragma once

#include <vector>

#include "kvm/kvm.hpp"

namespace lightvm::x86 {

std::vector<kvm::CpuidEntry> guest_cpuid();

}  // namespace lightvm::x86

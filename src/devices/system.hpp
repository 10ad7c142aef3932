// System device: the guest's lifecycle hypercalls (exit, sleep, FS base)
// and the decoding of CPU faults reported by the CPL0 stubs.
#pragma once

#include <cstdint>
#include <string>

#include "devices/device.hpp"

namespace lightvm {

class SystemDevice {
public:
    explicit SystemDevice(GuestMemory& mem) : m_mem(mem) {}

    Result<void> hc_exit(uint64_t arg_gpa, Outcome& outcome);
    Result<void> hc_sleep(uint64_t arg_gpa);
    Result<void> hc_set_fs_base(uint64_t arg_gpa, CpuAccess& cpu);
    // The guest kernel's page-fault handler gave up (abi.h HcFault).
    // `backed` is how much RAM the host could back when it refused to back
    // more (RamDevice::refused), 0 when it never refused.
    Result<void> hc_fault(uint64_t arg_gpa, Outcome& outcome, uint64_t backed = 0);
    // The fault stubs pushed (vector, error) on top of the CPU's frame.
    Result<void> fault(CpuAccess& cpu, Outcome& outcome);
    // An access to guest RAM that was never backed (lazy RAM): a segfault.
    Result<void> unbacked_access(uint64_t gpa, bool write, CpuAccess& cpu, Outcome& outcome);
    // A triple fault: nothing to read but the registers.
    Result<void> triple_fault(CpuAccess& cpu, Outcome& outcome);
    // KVM gave up on a guest instruction (KVM_EXIT_INTERNAL_ERROR): a segfault.
    Result<void> internal_error(uint64_t suberror, CpuAccess& cpu, Outcome& outcome);
    // Guest RAM whose host page vanished (KVM_RUN: EFAULT): a bus error.
    Result<void> lost_memory(CpuAccess& cpu, Outcome& outcome);

private:
    GuestMemory& m_mem;
};

// "page fault (#PF)" etc., and the signal Linux would send for it.
const char* vector_name(unsigned vector);
int vector_signal(unsigned vector);
const char* signal_name(int sig);

}  // namespace lightvm

// What devices see of the VM while handling an exit: guest memory, the
// vCPU's registers (abstract, so tests can fake them) and the outcome.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "kvm/kvm.hpp"
#include "memory/guest_memory.hpp"

namespace lightvm {

// How the guest ended. Filled by the device that ends it.
struct Outcome {
    bool finished = false;
    int status = 0;      // exit status as a shell sees it (0-255, 128+sig for signals)
    int signal = 0;      // 0, or the signal that "killed" the guest
    std::string report;  // one line for faults and hostile-guest stops

    // The guest ends as if killed by `sig`: the one place that turns a
    // signal into an exit status.
    void killed(int sig, std::string line = {}) {
        finished = true;
        signal = sig;
        status = 128 + sig;
        report = std::move(line);
    }
};

class CpuAccess {
public:
    virtual ~CpuAccess() = default;
    virtual Result<kvm::Regs> regs() = 0;
    virtual Result<kvm::Sregs> sregs() = 0;
    virtual Result<void> set_sregs(const kvm::Sregs&) = 0;
};

// Adapter for a real vCPU.
class VcpuAccess final : public CpuAccess {
public:
    explicit VcpuAccess(kvm::Vcpu& vcpu) : m_vcpu(vcpu) {}
    Result<kvm::Regs> regs() override { return m_vcpu.get_regs(); }
    Result<kvm::Sregs> sregs() override { return m_vcpu.get_sregs(); }
    Result<void> set_sregs(const kvm::Sregs& s) override { return m_vcpu.set_sregs(s); }

private:
    kvm::Vcpu& m_vcpu;
};

}  // namespace lightvm

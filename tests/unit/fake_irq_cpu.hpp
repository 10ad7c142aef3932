// A vCPU for Interrupts without KVM: records what delivery does to it.
#pragma once

#include <cstdint>
#include <vector>

#include "monitor/interrupts.hpp"

namespace lightvm::fakes {

class FakeIrqCpu final : public IrqCpu {
public:
    uint64_t rip = 0x400123;
    bool ready = true, window = false;
    int regs_read = 0;
    std::vector<uint64_t> set_rips;
    std::vector<uint8_t> injected;
    volatile bool kicked = false;  // set from the timer signal handler

    Result<kvm::Regs> get_regs() override {
        regs_read++;
        kvm::Regs r{};
        r.rip = rip;
        return r;
    }
    Result<void> set_regs(const kvm::Regs& r) override {
        set_rips.push_back(r.rip);
        return {};
    }
    bool interrupt_ready() override { return ready; }
    void request_interrupt_window(bool on) override { window = on; }
    Result<void> inject_interrupt(uint8_t vector) override {
        injected.push_back(vector);
        return {};
    }
    void set_immediate_exit(bool on) override { kicked = on; }
};

}  // namespace lightvm::fakes

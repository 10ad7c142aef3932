// Hosted tests of the guest kernel's interrupt dispatch and masking
// (guest/kernel/irq/irq.cpp), built for the host: lvm_irq is called as
// CPU 0's entry code in percpu.S would call it, with sources in
// IrqState.pending as the monitor would leave them. CPU 0 holds the kernel
// lock, as the hosted build always does.
#include <gtest/gtest.h>

#include <vector>

#include "arch/x86_64/cpu.hpp"
#include "kernel/irq/irq.hpp"

// What the guest kernel's assembly and linker script provide.
extern "C" {
lightvm::guest::CpuArch lvm_percpu[lightvm::abi::kMaxCpus];
char __kernel_end[1];
uint8_t lvm_vdso_start[1], lvm_vdso_end[1];  // inside the kernel image in the guest
}
namespace lightvm::guest::irq {
void selftest_init() {}  // the boot-page test hooks are exercised by the guest tests
}

namespace lightvm::guest::irq {
namespace {

abi::IrqState& lvm_irq_state = lvm_percpu[0].irq;
std::vector<std::pair<int, bool>> g_calls;  // (source, had a frame)

void on_timer(const Frame* f) { g_calls.push_back({abi::kIrqTimer, f != nullptr}); }
void on_doorbell(const Frame* f) { g_calls.push_back({abi::kIrqDoorbell, f != nullptr}); }

class GuestIrq : public ::testing::Test {
protected:
    void SetUp() override {
        lvm_irq_state = {};
        g_calls.clear();
        set_handler(abi::kIrqTimer, on_timer);
        set_handler(abi::kIrqDoorbell, on_doorbell);
        frame = {};
        frame.rip = reinterpret_cast<uint64_t>(__kernel_end) + 0x1000;  // above the kernel: the app
    }
    void interrupt(uint64_t sources) {
        lvm_irq_state.pending |= sources;
        lvm_irq(&frame, 0);
    }
    Frame frame;
};

TEST_F(GuestIrq, UnmaskedSourcesRunAtOnceWithTheFrame) {
    interrupt(1u << abi::kIrqTimer | 1u << abi::kIrqDoorbell);
    ASSERT_EQ(g_calls.size(), 2u);
    EXPECT_EQ(g_calls[0], std::make_pair(int(abi::kIrqTimer), true));
    EXPECT_EQ(g_calls[1], std::make_pair(int(abi::kIrqDoorbell), true));
    EXPECT_EQ(lvm_irq_state.pending, 0u);  // taken
    EXPECT_EQ(lvm_irq_state.entries, 1u);
    EXPECT_EQ(lvm_irq_state.handled[abi::kIrqTimer], 1u);
    EXPECT_EQ(lvm_irq_state.from_kernel, 0u);
}

TEST_F(GuestIrq, MaskedSourcesWaitForTheOutermostUnmask) {
    mask();
    mask();
    EXPECT_TRUE(masked());
    interrupt(1u << abi::kIrqDoorbell);
    interrupt(1u << abi::kIrqDoorbell);  // the same source twice: one run
    interrupt(1u << abi::kIrqTimer);
    EXPECT_TRUE(g_calls.empty());
    EXPECT_EQ(lvm_irq_state.pending, 0u);  // taken from the monitor's word, held by the kernel
    unmask();
    EXPECT_TRUE(g_calls.empty()) << "inner unmask must not run them";
    unmask();
    EXPECT_FALSE(masked());
    ASSERT_EQ(g_calls.size(), 2u);
    EXPECT_EQ(g_calls[0], std::make_pair(int(abi::kIrqTimer), false));  // no frame: run deferred
    EXPECT_EQ(g_calls[1], std::make_pair(int(abi::kIrqDoorbell), false));
    EXPECT_EQ(lvm_irq_state.deferred, 2u);
    EXPECT_EQ(lvm_irq_state.masked_depth, 0u);
}

TEST_F(GuestIrq, MaskGuardDefersToItsEnd) {
    {
        MaskGuard g;
        interrupt(1u << abi::kIrqTimer);
        EXPECT_TRUE(g_calls.empty());
    }
    ASSERT_EQ(g_calls.size(), 1u);
    EXPECT_FALSE(masked());
}

// A source arriving while deferred ones run (still masked) runs in the same
// unmask, and handlers never run re-entered.
void rearm_doorbell_once(const Frame*) {
    g_calls.push_back({abi::kIrqTimer, false});
    if (g_calls.size() == 1) {
        lvm_irq_state.pending |= 1u << abi::kIrqDoorbell;
        Frame f{};
        lvm_irq(&f, 0);  // an interrupt in the middle of the deferred handler
        EXPECT_EQ(g_calls.size(), 1u) << "ran re-entered";
    }
}

TEST_F(GuestIrq, SourceArrivingDuringDeferredRunIsNotLost) {
    set_handler(abi::kIrqTimer, rearm_doorbell_once);
    mask();
    interrupt(1u << abi::kIrqTimer);
    unmask();
    ASSERT_EQ(g_calls.size(), 2u);
    EXPECT_EQ(g_calls[1].first, int(abi::kIrqDoorbell));
    EXPECT_FALSE(masked());
}

TEST_F(GuestIrq, KernelOrAppByRip) {
    frame.rip = abi::kKernelBase + 0x10;
    EXPECT_TRUE(from_kernel(frame));
    interrupt(1u << abi::kIrqDoorbell);
    EXPECT_EQ(lvm_irq_state.from_kernel, 1u);
    frame.rip = reinterpret_cast<uint64_t>(__kernel_end);
    EXPECT_FALSE(from_kernel(frame));
    frame.rip = abi::kKernelBase - 1;
    EXPECT_FALSE(from_kernel(frame));
}

TEST_F(GuestIrq, UnknownSourceBitsAreIgnored) {
    interrupt(1ull << 40);
    EXPECT_TRUE(g_calls.empty());
    EXPECT_EQ(lvm_irq_state.pending, 0u);
}

}  // namespace
}  // namespace lightvm::guest::irq

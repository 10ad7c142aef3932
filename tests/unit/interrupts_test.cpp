// The monitor's injection rule (monitor/interrupts.hpp, protocol in abi.h
// "Interrupts"): never a second interrupt onto a live IST frame, never a
// source left behind.
#include "monitor/interrupts.hpp"

#include <gtest/gtest.h>

namespace lightvm {
namespace {

const IrqLayout kLayout{0x101000, 0x101080, 0x101098, 0x108000, 0x109000};

TEST(IrqAction, BusyHandlerTakesNewSourcesItself) {
    EXPECT_EQ(irq_action(1, true, 0x400000, kLayout, true), IrqAction::Nothing);
    EXPECT_EQ(irq_action(1, true, kLayout.tail, kLayout, true), IrqAction::Nothing);
    EXPECT_EQ(irq_action(1, false, 0, kLayout, false), IrqAction::Nothing);
}

TEST(IrqAction, StoppedInTheTailIsRestartedNotInjected) {
    for (uint64_t rip = kLayout.tail; rip < kLayout.tail_end; ++rip)
        EXPECT_EQ(irq_action(0, true, rip, kLayout, true), IrqAction::Restart) << std::hex << rip;
    EXPECT_EQ(irq_action(0, true, kLayout.tail_end, kLayout, true), IrqAction::Inject);
    EXPECT_EQ(irq_action(0, true, kLayout.tail - 1, kLayout, true), IrqAction::Inject);
}

TEST(IrqAction, IdleGuestIsInjectedWhenItCanTakeOne) {
    EXPECT_EQ(irq_action(0, true, 0x400123, kLayout, true), IrqAction::Inject);
    EXPECT_EQ(irq_action(0, false, 0, kLayout, true), IrqAction::Inject);  // stopped at a hypercall
    EXPECT_EQ(irq_action(0, true, 0x400123, kLayout, false), IrqAction::Wait);
}

TEST(IrqAbi, VectorsAreBeyondTheExceptions) {
    EXPECT_GE(abi::kIrqVectorBase, 32u);
    EXPECT_LE(abi::kIrqVectorBase + abi::kIrqSources, 256u);
    EXPECT_GE(abi::kIrqIst, 1u);
    EXPECT_LE(abi::kIrqIst, 7u);
    EXPECT_LE(abi::kIrqSources, 64u);  // one bit each in IrqState.pending
}

TEST(IrqAbi, HeaderAndStateLayout) {
    EXPECT_EQ(offsetof(abi::KernelHeader, image_end), 24u);  // the old fields did not move
    EXPECT_EQ(offsetof(abi::KernelHeader, irq_entry), 48u);
    EXPECT_EQ(offsetof(abi::KernelHeader, irq_state), 80u);
    EXPECT_EQ(offsetof(abi::IrqState, entries), 16u);  // tests/guests/irqloop.c reads it
    EXPECT_EQ(abi::kHcTimer, 10);
    EXPECT_EQ(sizeof(abi::HcTimer), 16u);
}

}  // namespace
}  // namespace lightvm

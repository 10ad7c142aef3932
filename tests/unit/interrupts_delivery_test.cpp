// Interrupts::before_run end to end with a fake vCPU (IrqCpu): what reaches
// the vCPU and IrqState for each case of irq_action, and the guest timer's
// host timer. No KVM.
#include <gtest/gtest.h>
#include <time.h>

#include <vector>

#include "fake_irq_cpu.hpp"
#include "monitor/interrupts.hpp"

namespace lightvm {
namespace {

constexpr IrqLayout kLayout{0x101000, 0x101080, 0x101098, 0x108000, 0x109000};
constexpr uint64_t kPending = kLayout.state + offsetof(abi::IrqState, pending);
constexpr uint64_t kBusy = kLayout.state + offsetof(abi::IrqState, busy);

using fakes::FakeIrqCpu;

kvm::Exit exit_of(kvm::ExitKind kind) {
    kvm::Exit e;
    e.kind = kind;
    return e;
}

struct IrqDelivery : ::testing::Test {
    GuestMemory mem = std::move(*GuestMemory::create(2ull << 20));
    FakeIrqCpu cpu;
    Interrupts irq{mem, cpu, kLayout, IrqTestConfig{}};

    uint64_t pending() { return *mem.read<uint64_t>(kPending); }
    uint32_t busy() { return *mem.read<uint32_t>(kBusy); }
};

TEST_F(IrqDelivery, NothingRaisedTouchesNothing) {
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Interrupted)));
    EXPECT_TRUE(cpu.injected.empty());
    EXPECT_EQ(cpu.regs_read, 0);
    EXPECT_EQ(pending(), 0u);
}

TEST_F(IrqDelivery, InjectsWhenReady) {
    irq.raise(abi::kIrqDoorbell);
    irq.raise(abi::kIrqTimer);
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Interrupted)));
    // One injection carries both; the vector names the lowest source.
    EXPECT_EQ(cpu.injected, std::vector<uint8_t>{abi::kIrqVectorBase + abi::kIrqTimer});
    EXPECT_EQ(pending(), 3u);
    EXPECT_EQ(busy(), 1u);
    EXPECT_FALSE(cpu.window);
    EXPECT_EQ(irq.finish().injected, 1u);
    EXPECT_EQ(irq.undelivered(), 0u);
}

TEST_F(IrqDelivery, WaitsForAWindowThenInjects) {
    cpu.ready = false;
    irq.raise(abi::kIrqDoorbell);
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Interrupted)));
    EXPECT_TRUE(cpu.injected.empty());
    EXPECT_TRUE(cpu.window);
    EXPECT_EQ(busy(), 0u);
    EXPECT_EQ(pending(), 1u << abi::kIrqDoorbell);  // kept in IrqState meanwhile
    // The window opens: nothing new was raised, the waiting source goes in.
    cpu.ready = true;
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::IrqWindowOpen)));
    EXPECT_EQ(cpu.injected, std::vector<uint8_t>{abi::kIrqVectorBase + abi::kIrqDoorbell});
    EXPECT_FALSE(cpu.window);
    EXPECT_EQ(irq.finish().windows, 1u);
}

TEST_F(IrqDelivery, RestartsAVcpuStoppedInTheTail) {
    cpu.rip = kLayout.tail + 4;
    irq.raise(abi::kIrqTimer);
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Interrupted)));
    EXPECT_TRUE(cpu.injected.empty());
    EXPECT_EQ(cpu.set_rips, std::vector<uint64_t>{kLayout.entry});
    EXPECT_EQ(busy(), 1u);
    EXPECT_EQ(irq.finish().restarted, 1u);
}

TEST_F(IrqDelivery, AtAHypercallTheRegistersAreNotRead) {
    cpu.rip = kLayout.tail;  // stale: an `out` is never in the tail
    irq.raise(abi::kIrqTimer);
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Io)));
    EXPECT_EQ(cpu.regs_read, 0);
    EXPECT_EQ(cpu.injected.size(), 1u);
}

TEST_F(IrqDelivery, BusyHandlerIsLeftToTakeTheSource) {
    ASSERT_TRUE(mem.write<uint32_t>(kBusy, 1));
    cpu.rip = kLayout.tail;
    irq.raise(abi::kIrqDoorbell);
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Interrupted)));
    EXPECT_TRUE(cpu.injected.empty());
    EXPECT_TRUE(cpu.set_rips.empty());
    EXPECT_FALSE(cpu.window);
    EXPECT_EQ(pending(), 1u << abi::kIrqDoorbell);
}

TEST_F(IrqDelivery, RemoteAndRestoredSourcesAreDelivered) {
    irq.raise_remote(~0ull);  // only real sources are kept
    EXPECT_EQ(irq.undelivered(), (1u << abi::kIrqSources) - 1);
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Interrupted)));
    EXPECT_EQ(cpu.injected.size(), 1u);
    ASSERT_TRUE(mem.write<uint32_t>(kBusy, 0));
    ASSERT_TRUE(irq.restore(1u << abi::kIrqIpi, 0));
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Interrupted)));
    EXPECT_EQ(cpu.injected.size(), 2u);
}

// A restored vCPU resumes where the save stopped it: after an Interrupted
// exit, its sources not yet handed over. Its first KVM_RUN must return
// before the guest runs, so that the loop's before_run() hands them over:
// a guest computing at CPL3 with its timer's expiry among them would
// otherwise never exit again (the restore hang, docs/design.md).
TEST_F(IrqDelivery, ARestoredVcpuExitsBeforeItsFirstInstruction) {
    ASSERT_TRUE(irq.restore(1u << abi::kIrqTimer, 0));
    EXPECT_TRUE(cpu.kicked);
    // Nothing injected yet: kvm_run's readiness is KVM's only after an exit.
    EXPECT_TRUE(cpu.injected.empty());
    cpu.kicked = false;
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Interrupted)));
    EXPECT_EQ(cpu.injected, std::vector<uint8_t>{abi::kIrqVectorBase + abi::kIrqTimer});
    EXPECT_EQ(busy(), 1u);
}

uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

Result<int64_t> hc_timer(GuestMemory& mem, Interrupts& irq, uint64_t deadline) {
    constexpr uint64_t kArg = 0x100000;
    TRY(mem.write(kArg, abi::HcTimer{deadline, 1}));
    TRY(irq.hc_timer(kArg));
    return TRY(mem.read<abi::HcTimer>(kArg)).result;
}

TEST_F(IrqDelivery, GuestTimerArmsCancelsAndFires) {
    const uint64_t far = now_ns() + 3600'000'000'000;
    EXPECT_EQ(hc_timer(mem, irq, far), 0);
    EXPECT_EQ(irq.timer_deadline(), far);
    EXPECT_EQ(hc_timer(mem, irq, 0), 0);
    EXPECT_EQ(irq.timer_deadline(), 0u);
    // A deadline in the past fires at once: the signal kicks the vCPU and
    // the next before_run hands the timer to the guest.
    EXPECT_EQ(hc_timer(mem, irq, 1), 0);
    for (int i = 0; i < 1000 && !cpu.kicked; ++i) {
        timespec ms{0, 1000000};
        ::nanosleep(&ms, nullptr);
    }
    ASSERT_TRUE(cpu.kicked);
    EXPECT_EQ(irq.timer_deadline(), 0u);
    EXPECT_EQ(irq.undelivered(), 1u << abi::kIrqTimer);
    ASSERT_TRUE(irq.before_run(exit_of(kvm::ExitKind::Interrupted)));
    EXPECT_EQ(cpu.injected, std::vector<uint8_t>{abi::kIrqVectorBase + abi::kIrqTimer});
    EXPECT_EQ(irq.finish().timers_armed, 2u);
}

}  // namespace
}  // namespace lightvm

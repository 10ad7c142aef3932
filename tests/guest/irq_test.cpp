// Interrupts from the monitor reach the guest kernel's handler, again and
// again, while the app computes or sits in a syscall, without changing
// anything the app can see; masked interrupts wait and are not lost.
#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

class IrqTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "irqloop." + GetParam(); }
};

std::string irq_summary(const GuestRun& r) {
    const IrqStats& s = r.stats.irq;
    return describe(r) + " | raised " + std::to_string(s.raised) + " injected " + std::to_string(s.injected) +
           " restarted " + std::to_string(s.restarted) + " windows " + std::to_string(s.windows) + " guest entries " +
           std::to_string(s.guest.entries) + " timer " + std::to_string(s.guest.handled[abi::kIrqTimer]) +
           " doorbell " + std::to_string(s.guest.handled[abi::kIrqDoorbell]) + " from kernel " +
           std::to_string(s.guest.from_kernel) + " deferred " + std::to_string(s.guest.deferred);
}

// Every doorbell the monitor raised was handled by the guest exactly once
// (several raised between two entries count once: they are one bit).
void expect_all_delivered(const GuestRun& r) {
    const IrqStats& s = r.stats.irq;
    EXPECT_EQ(s.guest.busy, 0u) << irq_summary(r);
    EXPECT_GE(s.guest.entries, s.injected) << irq_summary(r);
    EXPECT_LE(s.guest.handled[abi::kIrqDoorbell], s.raised) << irq_summary(r);
}

TEST_P(IrqTest, DoorbellsDuringACpuLoopLeaveRegistersAndRedZoneIntact) {
    RunOptions o;
    o.irq_test.doorbell_period_ns = 100'000;
    auto r = run_guest(prog(), {"spin", "1000"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << irq_summary(r);
    EXPECT_NE(r.out.find("ok rounds="), std::string::npos) << irq_summary(r);
    EXPECT_GE(r.stats.irq.guest.handled[abi::kIrqDoorbell], 1000u) << irq_summary(r);
    expect_all_delivered(r);
}

TEST_P(IrqTest, DoorbellsDuringSyscallsLandInTheKernelAndLeaveTheAppIntact) {
    RunOptions o;
    o.irq_test.doorbell_period_ns = 100'000;
    auto r = run_guest(prog(), {"syscall", "1000"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << irq_summary(r);
    EXPECT_NE(r.out.find("ok rounds="), std::string::npos) << irq_summary(r);
    EXPECT_GE(r.stats.irq.guest.handled[abi::kIrqDoorbell], 1000u) << irq_summary(r);
    EXPECT_GT(r.stats.irq.guest.from_kernel, 0u) << "no interrupt arrived inside a syscall: " << irq_summary(r);
    expect_all_delivered(r);
}

TEST_P(IrqTest, GuestTimerRearmedFromItsHandlerFiresRepeatedly) {
    RunOptions o;
    o.irq_test.guest_timer_ns = 200'000;
    // A run takes well under a second; a hang fails here instead of
    // wedging the suite (it was an interrupt injected into the CPL0
    // service: x86/descriptors.cpp, write_service_gate).
    o.timeout_seconds = 10;
    auto r = run_guest(prog(), {"spin", "1000"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_FALSE(r.timed_out) << "hung: " << irq_summary(r);
    EXPECT_EQ(r.status, 0) << irq_summary(r);
    const IrqStats& s = r.stats.irq;
    EXPECT_GE(s.guest.handled[abi::kIrqTimer], 1000u) << irq_summary(r);
    EXPECT_GE(s.timers_armed, s.guest.handled[abi::kIrqTimer]) << irq_summary(r);
    EXPECT_EQ(r.stats.exits.hypercalls[abi::kHcTimer], s.guest.handled[abi::kIrqTimer] + 1) << irq_summary(r);
}

TEST_P(IrqTest, MaskedInterruptsAreDeferredUntilUnmaskNotLost) {
    RunOptions o;
    o.irq_test.doorbell_period_ns = 100'000;
    o.irq_test.mask_ns = 10'000'000'000;  // boot masked until 10 interrupts came in (10 s at most)
    auto r = run_guest(prog(), {"spin", "10"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << irq_summary(r);
    const IrqStats& s = r.stats.irq;
    EXPECT_EQ(s.guest.test_handled_while_masked, 0u) << irq_summary(r);
    // All doorbells raised while masked are one pending bit: they run at
    // unmask (again, if another arrives while the deferred ones run).
    EXPECT_GE(s.guest.test_deferred_at_unmask, 1u) << irq_summary(r);
    EXPECT_LE(s.guest.test_deferred_at_unmask, 3u) << irq_summary(r);
    EXPECT_EQ(s.guest.test_entries_while_masked, 10u) << "interrupts arrived while masked: " << irq_summary(r);
    expect_all_delivered(r);
}

TEST_P(IrqTest, NoInterruptsWithoutASourceAndNoBootCost) {
    RunOptions o;
    auto r = run_guest(prog(), {"gaps", "20"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << irq_summary(r);
    EXPECT_NE(r.out.find("interrupts=0 "), std::string::npos) << r.out;
    EXPECT_EQ(r.stats.irq.injected, 0u);
    EXPECT_EQ(r.stats.irq.guest.entries, 0u);
    EXPECT_EQ(r.stats.exits.hypercalls[abi::kHcTimer], 0u);
}

INSTANTIATE_TEST_SUITE_P(Libc, IrqTest, ::testing::Values("glibc", "musl"));

}  // namespace
}  // namespace lightvm::test

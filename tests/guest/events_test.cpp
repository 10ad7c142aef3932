// Event files (eventfd, timerfd, epoll) and clocks: each test program runs
// in a VM and natively, and the outputs must be the same. Where a program
// needs another party (a blocked read woken by a writer) the VM side uses a
// kernel thread through the test hook and the native side a child process.
#include "guest_test_util.hpp"

#include "lightvm/abi.h"

namespace lightvm::test {
namespace {

class EventsTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }

    void expect_same_as_native(const std::string& name) {
        const std::string prog = name + "." + GetParam();
        RunOptions opts;
        opts.test_hooks = true;
        opts.timeout_seconds = 30;  // a lost wake-up would hang: fail instead
        auto r = run_guest(prog, {}, "", opts);
        auto n = run_host({guest_path(prog), "native"});
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(r.status, 0) << describe(r);
        EXPECT_EQ(n.status, 0) << n.err;
        EXPECT_EQ(r.out, n.out);
        EXPECT_EQ(r.err, "");
        EXPECT_EQ(r.report, "");
    }
};

TEST_P(EventsTest, EventfdMatchesNative) { expect_same_as_native("eventfd"); }
TEST_P(EventsTest, TimerfdMatchesNative) { expect_same_as_native("timerfd"); }
TEST_P(EventsTest, EpollMatchesNative) { expect_same_as_native("epoll"); }
TEST_P(EventsTest, SignalfdMatchesNative) { expect_same_as_native("signalfd"); }
TEST_P(EventsTest, ClocksMatchNative) { expect_same_as_native("clocks"); }

INSTANTIATE_TEST_SUITE_P(Libc, EventsTest, ::testing::Values("glibc", "musl"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lightvm::test

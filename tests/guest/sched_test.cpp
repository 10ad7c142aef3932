// The guest kernel's wait queues and scheduler, driven through a kernel
// thread (test hook) that plays the other side of a pipe: blocking reads,
// O_NONBLOCK, poll timeouts and wake-ups, POLLHUP/EOF, poll(NULL, 0, t).
// The program's output must equal a native run where a child process plays
// that side; each wait costs exactly one exit (the CPU idles in the monitor).
#include "guest_test_util.hpp"

#include "lightvm/abi.h"

namespace lightvm::test {
namespace {

class SchedTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
};

TEST_P(SchedTest, BlockingPipePollAndSleepMatchNative) {
    const std::string prog = "waits." + GetParam();
    RunOptions opts;
    opts.test_hooks = true;
    opts.timeout_seconds = 20;  // a lost wake-up would hang: fail instead
    auto r = run_guest(prog, {}, "", opts);
    auto n = run_host({guest_path(prog), "native"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(n.status, 0) << n.err;
    EXPECT_EQ(r.out, n.out);
    EXPECT_EQ(r.report, "");
}

TEST_P(SchedTest, EachWaitIsOneIdleExit) {
    // Four waits with nothing else to run: the kernel thread's 30 ms sleep
    // while the reader blocks, poll's 40 ms timeout, the thread's 20 ms
    // sleep while poll waits, poll(NULL, 0, 30). The wake-ups themselves
    // happen inside the guest: no exit.
    RunOptions opts;
    opts.test_hooks = true;
    opts.timeout_seconds = 20;
    opts.stats = true;
    auto r = run_guest("waits." + GetParam(), {}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.stats.exits.hypercalls[abi::kHcSleep], 4u);
}

TEST_P(SchedTest, ReadingOnesOwnEmptyPipeBlocksLikeLinux) {
    // No kernel thread (no hook): nobody can ever write, and the program
    // blocks as it would on Linux, until --timeout stops it (124).
    RunOptions opts;
    opts.timeout_seconds = 0.5;
    auto r = run_guest("waits." + GetParam(), {}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.timed_out) << describe(r);
    EXPECT_EQ(r.status, 124);
}

INSTANTIATE_TEST_SUITE_P(Libc, SchedTest, ::testing::Values("glibc", "musl"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lightvm::test

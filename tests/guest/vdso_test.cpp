// The vDSO: glibc and musl static programs find it through AT_SYSINFO_EHDR,
// its clocks agree with the system calls (same output as a native run), and
// reading the clock in a loop costs no system calls at all.
#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

class VdsoTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "vdso." + GetParam(); }
};

TEST_P(VdsoTest, ClocksAgreeWithSyscallsLikeNatively) {
    auto r = run_guest(prog(), {});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << r.report << " stdout: " << r.out;
    EXPECT_NE(r.out.find("vdso: present\n"), std::string::npos) << r.out;
    auto native = run_host({guest_path(prog())});
    EXPECT_EQ(native.status, 0) << native.out;
    EXPECT_EQ(r.out, native.out);
}

TEST_P(VdsoTest, ClockLoopEntersNoKernel) {
    RunOptions opts;
    opts.stats = true;
    constexpr long kCalls = 200000;
    auto r = run_guest(prog(), {"loop", std::to_string(kCalls)}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << r.report << " stdout: " << r.out;
    EXPECT_EQ(r.out, "loop done\n");
    // Start-up and exit make a few dozen syscalls; 200,000 clock reads add none.
    EXPECT_LT(r.stats.guest_syscalls, 100u) << "clock_gettime went through the kernel";
}

INSTANTIATE_TEST_SUITE_P(Libc, VdsoTest, ::testing::Values("glibc", "musl"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace lightvm::test

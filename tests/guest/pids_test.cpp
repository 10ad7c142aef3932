// The VM's process limit (--pids): a fork bomb (tests/guests/forkbomb.c)
// ends with EAGAIN at exactly the limit, RLIMIT_NPROC says the limit, and
// everybody exits cleanly, quickly; the host never notices.
#include <chrono>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

class ForkBomb : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "forkbomb." + GetParam(); }
};

TEST_P(ForkBomb, StopsAtThePidsLimitWithEagain) {
    for (uint32_t limit : {1u, 2u, 100u}) {
        RunOptions o;
        o.max_procs = limit;
        auto t0 = std::chrono::steady_clock::now();
        auto r = run_guest(prog(), {}, "", o);
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(r.status, 0) << describe(r);
        const std::string n = std::to_string(limit);
        EXPECT_EQ(r.out, "nproc soft " + n + " hard " + n + "\nprocesses at the end: " + n +
                             ", the first process's fork error: EAGAIN, EAGAIN seen 1, its children reaped 1\n")
            << describe(r);
        EXPECT_LT(s, 10.0) << limit;
    }
}

INSTANTIATE_TEST_SUITE_P(Libc, ForkBomb, ::testing::Values("glibc", "musl"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// The default limit, 1024 processes, with memory for all of them (one libc:
// ~5 s of forking).
TEST(ForkBombDefault, LimitIs1024) {
    REQUIRE_KVM();
    RunOptions o;
    o.mem_size = 512ull << 20;
    auto r = run_guest("forkbomb.musl", {}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, "nproc soft 1024 hard 1024\nprocesses at the end: 1024, the first process's fork error: EAGAIN, "
                     "EAGAIN seen 1, its children reaped 1\n")
        << describe(r);
}

// Out of range: refused before the VM starts, naming the option.
TEST(Pids, OutOfRangeIsRefused) {
    for (uint32_t bad : {0u, 4097u}) {
        RunOptions o;
        o.max_procs = bad;
        auto r = run_guest("forkbomb.musl", {}, "", o);
        EXPECT_FALSE(r.ok);
        EXPECT_NE(r.error.find("--pids"), std::string::npos) << r.error;
    }
}

}  // namespace
}  // namespace lightvm::test

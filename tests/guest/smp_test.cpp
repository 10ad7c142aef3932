// Several vCPUs (--cpus, issue 10): what programs see, that two CPU-bound
// threads really run at once on two vCPUs, and that vCPUs start only when
// there is work for them.
#include <cstdio>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

class Smp : public ::testing::TestWithParam<std::string> {  // libc
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "cpus." + GetParam(); }
};

TEST_P(Smp, ProgramsSeeEveryVcpu) {
    for (uint32_t n : {1u, 2u, 4u, 8u}) {
        RunOptions o;
        o.cpus = n;
        auto r = run_guest(prog(), {"count"}, "", o);
        ASSERT_TRUE(r.ok) << r.error;
        const std::string sysfs = n == 1 ? "0" : "0-" + std::to_string(n - 1);
        const std::string k = std::to_string(n);
        EXPECT_EQ(r.out, "online " + k + " affinity " + k + " cpuinfo " + k + " sysfs " + sysfs + "\n") << r.report;
        EXPECT_EQ(r.status, 0);
    }
}

TEST_P(Smp, ASingleThreadStartsNoSecondVcpu) {
    RunOptions o;
    o.cpus = 4;
    o.stats = true;
    auto r = run_guest(prog(), {"count"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.stats.vcpus_started, 1u);
}

// Two spinning threads: on two vCPUs the second one starts and they run
// on two CPUs (how much they overlap depends on the host's load: the counts
// are printed, not checked); on one vCPU they share CPU 0.
TEST_P(Smp, TwoSpinningThreadsRunOnTwoVcpus) {
    RunOptions o;
    o.cpus = 2;
    o.stats = true;
    auto r = run_guest(prog(), {"spread", "300"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << r.report;
    EXPECT_EQ(r.stats.vcpus_started, 2u) << r.out;
    EXPECT_NE(r.out.find("distinct cpus 2,"), std::string::npos) << r.out;
    std::printf("two vCPUs: %s", r.out.c_str());

    o.cpus = 1;
    auto one = run_guest(prog(), {"spread", "100"}, "", o);
    ASSERT_TRUE(one.ok) << one.error;
    EXPECT_NE(one.out.find("distinct cpus 1,"), std::string::npos) << one.out;
    EXPECT_EQ(one.stats.vcpus_started, 1u);
}

INSTANTIATE_TEST_SUITE_P(Libc, Smp, ::testing::Values("glibc", "musl"));

TEST(SmpConfig, CpusOutOfRangeIsAOneLineError) {
    REQUIRE_KVM();
    for (uint32_t n : {0u, 9u}) {
        RunOptions o;
        o.cpus = n;
        auto r = run_guest("hello.glibc", {}, "", o);
        EXPECT_FALSE(r.ok);
        EXPECT_NE(r.error.find("--cpus"), std::string::npos) << r.error;
    }
}

}  // namespace
}  // namespace lightvm::test

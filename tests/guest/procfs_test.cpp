// /proc/cpuinfo, /proc/meminfo, /proc/self/auxv and
// /sys/devices/system/cpu/{online,possible}: consistent with what libc and
// CPUID tell the same program (same output as a native run), true to the
// VM's configuration, and never the host's files even with --rootfs /.
#include <cpuid.h>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

class ProcFsTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "procfiles." + GetParam(); }
};

TEST_P(ProcFsTest, ConsistentWithLibcAndCpuidLikeNatively) {
    auto r = run_guest(prog(), {});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << r.report << " stdout: " << r.out;
    auto native = run_host({guest_path(prog())});
    EXPECT_EQ(native.status, 0) << native.out;
    EXPECT_EQ(r.out, native.out);
}

TEST_P(ProcFsTest, ShowsTheVmNotTheHost) {
    RunOptions opts;
    opts.mem_size = 128ull << 20;
    // With the host's / as the guest's root the kernel's files still win.
    opts.shares.push_back(ShareSpec{"/", "/", true});
    auto r = run_guest(prog(), {"show"}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << r.report << " stdout: " << r.out;
    EXPECT_NE(r.out.find("show online 1 possible 1 memtotal_kb 131072\n"), std::string::npos) << r.out;
}

// The guest sees the host's CPU (the monitor gives the vCPU a CPUID table,
// on PVM too), and so does its /proc/cpuinfo.
TEST_P(ProcFsTest, CpuinfoShowsTheHostCpu) {
    auto r = run_guest(prog(), {"show"});
    ASSERT_TRUE(r.ok) << r.error;
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    char vendor[13] = {};
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    EXPECT_NE(r.out.find(std::string("show vendor ") + vendor + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" sse2"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Libc, ProcFsTest, ::testing::Values("glibc", "musl"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace lightvm::test

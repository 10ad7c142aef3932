// Guest virtual memory (issue 8) against native runs of the same binary:
// mmap/munmap/mprotect/mremap/madvise/brk/mincore semantics (identical
// output required), faults (SIGSEGV natively, the fault report and 139 in
// lightvm), large PROT_NONE reservations and the --mem limit.
#include <unistd.h>

#include <cstdlib>
#include <tuple>
#include <vector>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

const std::vector<std::string> kLibcs = {"glibc", "musl"};

// A scratch directory shared as the guest's /tmp (file mappings).
struct ScratchDir {
    std::string path;
    ScratchDir() {
        char tmpl[] = "/tmp/lightvm-vmsem.XXXXXX";
        path = mkdtemp(tmpl) ? tmpl : "";
    }
    ~ScratchDir() {
        if (!path.empty())
            std::system(("rm -rf '" + path + "'").c_str());
    }
};

using Param = std::tuple<std::string, std::string>;  // libc, check or case
std::string param_name(const ::testing::TestParamInfo<Param>& info) {
    std::string s = std::get<1>(info.param) + "_" + std::get<0>(info.param);
    for (char& c : s)
        if (c == '-')
            c = '_';
    return s;
}

class VmSemantics : public ::testing::TestWithParam<Param> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "vmsem." + std::get<0>(GetParam()); }
};

TEST_P(VmSemantics, SameAsNative) {
    const std::string check = std::get<1>(GetParam());
    ScratchDir tmp;
    ASSERT_FALSE(tmp.path.empty());
    RunOptions opts;
    opts.shares.push_back(ShareSpec{tmp.path, "/tmp", false});
    auto r = run_guest(prog(), {check}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    auto native = run_host({guest_path(prog()), check});
    EXPECT_EQ(native.status, 0) << native.out;
    EXPECT_EQ(r.out, native.out);
    EXPECT_EQ(r.status, native.status) << r.report;
}

// The names `vmsem list` prints.
const std::vector<std::string> kChecks = {
    "mmap_zero_aligned", "mmap_bad_args", "munmap_middle", "mmap_fixed_replaces", "mmap_fixed_noreplace",
    "hint_is_honoured_when_free", "mprotect_semantics", "mremap_grow_and_move", "mremap_without_maymove",
    "madvise_dontneed_zeroes", "mincore_reports_mapping", "brk_grows_and_shrinks", "stack_rlimit", "stack_raised_limit",
    "many_mappings", "dev_zero_private", "shared_anonymous", "populate_and_stack_flags", "file_mapping_private",
    "file_mapping_shared", "file_rewritten_after_mapping", "private_writes_stay_private", "huge_regions",
};
INSTANTIATE_TEST_SUITE_P(Mem, VmSemantics, ::testing::Combine(::testing::ValuesIn(kLibcs), ::testing::ValuesIn(kChecks)),
                         param_name);

// Every check the program has is in the list above.
TEST(VmSemanticsList, CoversEveryCheck) {
    REQUIRE_KVM();
    auto native = run_host({guest_path("vmsem.glibc"), "list"});
    std::string want;
    for (const auto& c : kChecks)
        want += c + "\n";
    EXPECT_EQ(native.out, want);
}

class VmFaults : public VmSemantics {};

TEST_P(VmFaults, FaultReportAnd139LikeNativeSigsegv) {
    const std::string what = std::get<1>(GetParam());
    auto r = run_guest(prog(), {what});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 139) << r.report << " stdout: " << r.out;
    EXPECT_NE(r.report.find("SIGSEGV"), std::string::npos) << r.report;
    EXPECT_EQ(r.out.find("survived"), std::string::npos) << r.out;
    auto native = run_host({guest_path(prog()), what});
    EXPECT_EQ(native.status, 139) << native.out;
}

const std::vector<std::string> kFaults = {"fault-stack-overflow", "fault-write-ro", "fault-prot-none",
                                         "fault-after-munmap", "fault-exec-nx"};
INSTANTIATE_TEST_SUITE_P(Mem, VmFaults, ::testing::Combine(::testing::ValuesIn(kLibcs), ::testing::ValuesIn(kFaults)),
                         param_name);

class VmReservations : public VmSemantics {};

// 64 GiB and 1 TiB of PROT_NONE in a 256 MiB VM, then 100 MiB of it used.
TEST_P(VmReservations, ReserveHugeCommitSome) {
    const std::string gib = std::get<1>(GetParam());
    auto r = run_guest(prog(), {"reserve", gib, "100"});
    ASSERT_TRUE(r.ok) << r.error;
    auto native = run_host({guest_path(prog()), "reserve", gib, "100"});
    EXPECT_EQ(native.status, 0) << native.out;
    EXPECT_EQ(r.out, native.out);
    EXPECT_EQ(r.status, 0) << r.report;
    EXPECT_LT(r.stats.memory_touched, 200ull << 20);
}
INSTANTIATE_TEST_SUITE_P(Mem, VmReservations,
                         ::testing::Combine(::testing::ValuesIn(kLibcs), ::testing::Values("64", "1024")), param_name);

class VmLimit : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    // --mem MIB, --stats, a timeout well above the expected run.
    static RunOptions limited(uint64_t mib, double timeout_seconds) {
        RunOptions opts;
        opts.mem_size = mib << 20;
        opts.stats = true;
        opts.timeout_seconds = timeout_seconds;
        return opts;
    }
};

// Touching more than --mem: mmap says ENOMEM (or the VM ends with the OOM
// report and 137), never a hang, and the host backs no more than --mem.
TEST_P(VmLimit, TouchingMoreThanMemIsRefused) {
    RunOptions opts = limited(64, 60);
    auto r = run_guest("vmsem." + GetParam(), {"exhaust", "200"}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_FALSE(r.timed_out);
    const bool enomem = r.status == 0 && r.out.find("mmap ENOMEM=1") != std::string::npos;
    const bool oom = r.status == 137 && !r.report.empty();
    EXPECT_TRUE(enomem || oom) << "status " << r.status << " out: " << r.out << " report: " << r.report;
    EXPECT_LE(r.stats.memory_touched, opts.mem_size);
}

// The page cache counts against --mem but gives its frames back: 32 MiB of
// a file mapped (and cached) then 40 MiB of anonymous memory fit in a
// 64 MiB VM, as on Linux (docs/design.md, "Page cache").
TEST_P(VmLimit, CachedFilePagesAreGivenBack) {
    ScratchDir tmp;
    ASSERT_FALSE(tmp.path.empty());
    RunOptions opts;
    opts.mem_size = 64ull << 20;
    opts.timeout_seconds = 60;
    opts.shares.push_back(ShareSpec{tmp.path, "/tmp", false});
    auto r = run_guest("vmsem." + GetParam(), {"cache-then-anon", "32", "40"}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << r.report;
    EXPECT_EQ(r.out, "exhaust: touched 40 MiB\n");
}

// A reservation committed past --mem: the touch cannot be backed.
TEST_P(VmLimit, CommittedReservationBeyondMemIsOom) {
    RunOptions opts = limited(64, 60);
    auto r = run_guest("vmsem." + GetParam(), {"reserve", "4", "200"}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_FALSE(r.timed_out);
    // The reservation itself must succeed: only committing or touching may fail.
    const bool enomem = r.status == 1 && r.out == "commit 200 MiB: Cannot allocate memory\n";
    const bool oom = r.status == 137 && !r.report.empty();
    EXPECT_TRUE(enomem || oom) << "status " << r.status << " out: " << r.out << " report: " << r.report;
    EXPECT_LE(r.stats.memory_touched, opts.mem_size);
}

// Freed memory goes back to the host beyond what the guest keeps for reuse
// (1/8 of --mem, at least 32 MiB): 3 rounds of 300 MiB touched and unmapped
// leave about 128 MiB resident, not 300, and every round reads zeros.
TEST_P(VmLimit, FreedMemoryGoesBackToTheHost) {
    RunOptions opts = limited(1024, 120);
    auto r = run_guest("vmsem." + GetParam(), {"give-back", "300", "3"}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << r.report;
    EXPECT_EQ(r.out, "give-back: 3 x 300 MiB\n");
    EXPECT_LT(r.stats.memory_touched, 200ull << 20);
    EXPECT_GE(r.stats.exits.hypercalls[abi::kHcMemRelease], 64u);
}

INSTANTIATE_TEST_SUITE_P(Libc, VmLimit, ::testing::ValuesIn(kLibcs),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace lightvm::test

// Processes inside one VM (issue 9) against native runs of the same
// binary: fork/vfork/posix_spawn/execve/wait semantics, copy-on-write,
// shared mappings and file offsets, pipes between processes, sessions,
// orphans and subreapers, 200 concurrent children, 300 fork+exec+wait.
#include <unistd.h>

#include <cstdlib>
#include <tuple>
#include <vector>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

const std::vector<std::string> kLibcs = {"glibc", "musl"};

struct ScratchDir {
    std::string path;
    ScratchDir() {
        char tmpl[] = "/tmp/lightvm-procs.XXXXXX";
        path = mkdtemp(tmpl) ? tmpl : "";
    }
    ~ScratchDir() {
        if (!path.empty())
            std::system(("rm -rf '" + path + "'").c_str());
    }
};

using Param = std::tuple<std::string, std::string>;  // libc, check
std::string param_name(const ::testing::TestParamInfo<Param>& info) {
    return std::get<1>(info.param) + "_" + std::get<0>(info.param);
}

class Processes : public ::testing::TestWithParam<Param> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "procs." + std::get<0>(GetParam()); }
};

void same_as_native(const std::string& prog, const std::string& check, uint32_t cpus) {
    ScratchDir tmp;
    ASSERT_FALSE(tmp.path.empty());
    RunOptions opts;
    opts.cpus = cpus;
    opts.shares.push_back(ShareSpec{tmp.path, "/tmp", false});
    auto r = run_guest(prog, {check}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    auto native = run_host({guest_path(prog), check});
    EXPECT_EQ(native.status, 0) << native.out;
    EXPECT_FALSE(native.out.empty());
    EXPECT_EQ(r.out, native.out) << r.report;
    EXPECT_EQ(r.status, native.status) << r.report;
}

TEST_P(Processes, SameAsNative) { same_as_native(prog(), std::get<1>(GetParam()), 1); }

// Two vCPUs: parent and children run at once, a child exits on one vCPU
// while its parent reaps it on the other (a reaped process was once freed
// twice there: two later forks shared one Process).
class ProcessesTwoCpus : public Processes {};
TEST_P(ProcessesTwoCpus, SameAsNative) { same_as_native(prog(), std::get<1>(GetParam()), 2); }

// The names `procs list` prints.
const std::vector<std::string> kChecks = {
    "fork_wait",      "fork_cow",      "shared_memory",     "pipe_between", "shared_offset", "exec_self",
    "exec_errors",    "vfork_exec",    "spawn",             "killed_status", "nohang_and_echild", "waitid_info",
    "many_children",  "fork_exec_loop", "sessions",         "orphans",      "job_control",
};
INSTANTIATE_TEST_SUITE_P(Procs, Processes, ::testing::Combine(::testing::ValuesIn(kLibcs), ::testing::ValuesIn(kChecks)),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Procs, ProcessesTwoCpus,
                         ::testing::Combine(::testing::ValuesIn(kLibcs), ::testing::ValuesIn(kChecks)), param_name);

// getrusage and wait4's rusage beyond CPU times (tests/guests/rusage.c):
// peak RSS, faults, context switches, children's, kept across exec.
class Rusage : public ::testing::TestWithParam<std::tuple<std::string, uint32_t>> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
};
TEST_P(Rusage, SameAsNative) {
    const std::string prog = "rusage." + std::get<0>(GetParam());
    RunOptions opts;
    opts.cpus = std::get<1>(GetParam());
    auto r = run_guest(prog, {}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    auto native = run_host({guest_path(prog)});
    EXPECT_EQ(native.status, 0) << native.out;
    EXPECT_EQ(native.out.find("NO"), std::string::npos) << native.out;
    EXPECT_EQ(r.out, native.out) << r.report;
    EXPECT_EQ(r.status, 0) << r.report;
}
INSTANTIATE_TEST_SUITE_P(Procs, Rusage, ::testing::Combine(::testing::ValuesIn(kLibcs), ::testing::Values(1u, 2u)),
                         [](const auto& info) {
                             return std::get<0>(info.param) + "_" + std::to_string(std::get<1>(info.param)) + "cpu";
                         });

TEST(ProcessesList, CoversEveryCheck) {
    REQUIRE_KVM();
    auto native = run_host({guest_path("procs.glibc"), "list"});
    std::string want;
    for (const auto& c : kChecks)
        want += c + "\n";
    EXPECT_EQ(native.out, want);
}

}  // namespace
}  // namespace lightvm::test

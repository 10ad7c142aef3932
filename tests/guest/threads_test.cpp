// Threads in one process (issue 10) against native runs of the same
// binary, on one vCPU and on two (--cpus 2: threads run in parallel, the
// kernel lock, TLB shootdowns): create/join (2,000 threads), mutexes,
// condition variables, barriers, rwlocks, TLS, detached threads, exit()
// from a thread, main's pthread_exit, exec and fork from a thread, futex
// timeouts, signals to one thread, spinning, robust mutexes, a page
// replaced under a thread reading it.
#include <tuple>
#include <vector>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

using Param = std::tuple<std::string, std::string, uint32_t>;  // libc, check, vCPUs
std::string param_name(const ::testing::TestParamInfo<Param>& info) {
    return std::get<1>(info.param) + "_" + std::get<0>(info.param) + "_" + std::to_string(std::get<2>(info.param)) + "cpu";
}

class Threads : public ::testing::TestWithParam<Param> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
};

TEST_P(Threads, SameAsNative) {
    const std::string prog = "threads." + std::get<0>(GetParam());
    const std::string check = std::get<1>(GetParam());
    RunOptions o;
    o.cpus = std::get<2>(GetParam());
    o.stats = true;
    auto r = run_guest(prog, {check}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    auto native = run_host({guest_path(prog), check});
    EXPECT_EQ(native.status, 0) << native.out;
    EXPECT_FALSE(native.out.empty());
    EXPECT_EQ(r.out, native.out) << r.report;
    EXPECT_EQ(r.status, native.status) << r.report;
}

// The names `threads list` prints.
const std::vector<std::string> kChecks = {
    "create_join",      "many_threads",     "condvar_pingpong", "barrier_rwlock", "exit_from_thread",
    "main_pthread_exit", "exec_from_thread", "fork_from_thread", "futex_timeout",  "tgkill_thread",
    "detached_threads", "spin_wait",        "robust_mutex",   "tlb_shootdown",
};
INSTANTIATE_TEST_SUITE_P(Glibc, Threads,
                         ::testing::Combine(::testing::Values("glibc"), ::testing::ValuesIn(kChecks), ::testing::Values(1u)),
                         param_name);
// Two vCPUs: every check, threads in parallel (the thread-group exits,
// exec and fork from a thread end a group whose threads run on both).
INSTANTIATE_TEST_SUITE_P(GlibcSmp, Threads,
                         ::testing::Combine(::testing::Values("glibc"), ::testing::ValuesIn(kChecks), ::testing::Values(2u)),
                         param_name);
// musl: main's pthread_exit leaves a forked child hanging natively as well
// (musl waits for a thread list lock the exited main thread held), so that
// check is glibc-only.
std::vector<std::string> musl_checks() {
    std::vector<std::string> v;
    for (const auto& c : kChecks)
        if (c != "main_pthread_exit")
            v.push_back(c);
    return v;
}
INSTANTIATE_TEST_SUITE_P(Musl, Threads,
                         ::testing::Combine(::testing::Values("musl"), ::testing::ValuesIn(musl_checks()),
                                            ::testing::Values(1u)),
                         param_name);
INSTANTIATE_TEST_SUITE_P(MuslSmp, Threads,
                         ::testing::Combine(::testing::Values("musl"), ::testing::ValuesIn(musl_checks()),
                                            ::testing::Values(2u)),
                         param_name);

TEST(ThreadsList, CoversEveryCheck) {
    REQUIRE_KVM();
    auto native = run_host({guest_path("threads.glibc"), "list"});
    std::string want;
    for (const auto& c : kChecks)
        want += c + "\n";
    EXPECT_EQ(native.out, want);
}

}  // namespace
}  // namespace lightvm::test

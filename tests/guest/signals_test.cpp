// Signal delivery (issue 9): every case of tests/guests/signals.c runs in a
// VM and natively; output and exit status must be the same. Deaths (default
// actions, forged rt_sigreturn frames) must leave the monitor and the next
// VM fine.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

using Param = std::tuple<std::string, std::string>;  // libc, case
std::string param_name(const ::testing::TestParamInfo<Param>& info) {
    std::string s = std::get<1>(info.param) + "_" + std::get<0>(info.param);
    for (char& c : s)
        if (c == '-')
            c = '_';
    return s;
}

class SignalCase : public ::testing::TestWithParam<Param> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "signals." + std::get<0>(GetParam()); }
};

TEST_P(SignalCase, SameAsNative) {
    const std::string which = std::get<1>(GetParam());
    auto r = run_guest(prog(), {which});
    ASSERT_TRUE(r.ok) << r.error;
    auto native = run_host({guest_path(prog()), which});
    EXPECT_EQ(r.out, native.out) << describe(r);
    EXPECT_EQ(r.status, native.status) << describe(r);
    EXPECT_NE(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalCase,
                         ::testing::Combine(::testing::Values("glibc", "musl"),
                                            ::testing::Values("basic", "siginfo", "flags", "masks", "altstack", "fpu", "fpu-fork", "segv", "traps", "restart", "sigpipe", "timers",
                                                              "timer-kill", "posix-timers")),
                         param_name);

// Deaths by signal: the VM ends with 128 + sig as the process would natively,
// no monitor error, and the next VM runs normally.
struct Death {
    const char* which;
    int status;
};

class SignalDeath : public ::testing::TestWithParam<std::tuple<std::string, Death>> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
};

TEST_P(SignalDeath, AsNative) {
    const std::string libc = std::get<0>(GetParam());
    const Death d = std::get<1>(GetParam());
    const std::string prog = "signals." + libc;
    auto r = run_guest(prog, {d.which});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, d.status) << describe(r);
    auto native = run_host({guest_path(prog), d.which});
    EXPECT_EQ(native.status, d.status) << native.out;
    EXPECT_EQ(r.out, native.out);
    auto next = run_guest("hello." + libc, {});
    ASSERT_TRUE(next.ok) << next.error;
    EXPECT_EQ(next.status, 0) << describe(next);
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalDeath,
                         ::testing::Combine(::testing::Values("glibc", "musl"),
                                            ::testing::Values(Death{"abort", 128 + SIGABRT}, Death{"term", 128 + SIGTERM},
                                                              Death{"hostile-garbage", 128 + SIGSEGV},
                                                              Death{"hostile-kernel-rip", 128 + SIGSEGV},
                                                              Death{"hostile-selector", 128 + SIGSEGV},
                                                              Death{"hostile-mxcsr", 128 + SIGSEGV},
                                                              Death{"no-restorer", 128 + SIGSEGV})),
                         [](const auto& info) {
                             std::string s = std::string(std::get<1>(info.param).which) + "_" + std::get<0>(info.param);
                             for (char& c : s)
                                 if (c == '-')
                                     c = '_';
                             return s;
                         });

// Shell traps (builtins only: no fork needed): busybox sh and Debian's
// bash-static, in a VM and natively.
TEST(SignalShells, TrapsAsNatively) {
    REQUIRE_BUSYBOX();
    const std::string script =
        "trap 'echo got USR1' USR1; kill -USR1 $$; echo after; trap 'echo term' TERM; kill $$; "
        "trap - TERM; echo end; kill -INT $$; echo not reached";
    for (std::string shell : {std::string(kBusybox), std::string("/bin/bash-static")}) {
        if (::access(shell.c_str(), X_OK) != 0) {
            std::printf("[  SKIPPED ] %s missing (scripts/install-deps.sh)\n", shell.c_str());
            continue;
        }
        std::vector<std::string> args = {"-c", script};
        if (shell == kBusybox)
            args.insert(args.begin(), "sh");
        auto r = run_guest(shell, args);
        ASSERT_TRUE(r.ok) << r.error;
        std::vector<std::string> argv = {shell};
        argv.insert(argv.end(), args.begin(), args.end());
        auto native = run_host(argv);
        EXPECT_EQ(r.out, native.out) << shell;
        EXPECT_EQ(r.out, "got USR1\nafter\nterm\nend\n") << shell;
        EXPECT_EQ(r.status, native.status) << shell << ": " << describe(r);
        EXPECT_EQ(r.status, 128 + SIGINT);
    }
}

// A self-signal costs no exit: delivery and rt_sigreturn are guest-kernel work.
TEST(SignalCost, SelfSignalNeedsNoExit) {
    REQUIRE_KVM();
    RunOptions o;
    o.stats = true;
    auto base = run_guest("signals.glibc", {"count", "0"}, "", o);
    auto many = run_guest("signals.glibc", {"count", "1000"}, "", o);
    ASSERT_TRUE(base.ok && many.ok);
    ASSERT_EQ(many.status, 0) << describe(many);
    EXPECT_EQ(many.out, "1000 handlers ran\n");
    EXPECT_EQ(many.stats.exits.total, base.stats.exits.total) << "exits per self-signal must be 0";
}

}  // namespace
}  // namespace lightvm::test

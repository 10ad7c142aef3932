// Faulting and hostile guests: CPU exceptions become Linux-style deaths by
// signal with one report line; rule-breaking hypercalls stop the VM (137)
// without harming the host or the next VM.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <tuple>

#include <unistd.h>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

const std::string kHello = "Hello from a lightvm guest!\n";

class FaultTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog(const std::string& name) const { return name + "." + GetParam(); }

    // A VM after a bad one must be entirely unaffected.
    void expect_next_vm_fine() {
        auto r = run_guest(prog("hello"), {});
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(r.status, 0) << describe(r);
        EXPECT_EQ(r.out, kHello);
        EXPECT_EQ(r.report, "");
    }
};

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

TEST_P(FaultTest, NullDereferenceIsSigsegv) {
    auto r = run_guest(prog("nullderef"), {});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 139) << describe(r);
    EXPECT_EQ(r.signal, SIGSEGV);
    EXPECT_TRUE(contains(r.report, "page fault")) << r.report;
    EXPECT_TRUE(contains(r.report, "address 0x0")) << r.report;
    EXPECT_TRUE(contains(r.report, "read")) << r.report;
    EXPECT_TRUE(contains(r.report, "SIGSEGV")) << r.report;
    EXPECT_FALSE(contains(r.report, "\n"));
    EXPECT_EQ(r.out, "") << "the program must not survive the fault";
    EXPECT_EQ(r.stats.exits.faults, 1u);
    expect_next_vm_fine();
}

TEST_P(FaultTest, Ud2IsSigill) {
    auto r = run_guest(prog("ud2"), {});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 132) << describe(r);
    EXPECT_EQ(r.signal, SIGILL);
    EXPECT_TRUE(contains(r.report, "invalid opcode")) << r.report;
    EXPECT_TRUE(contains(r.report, "SIGILL")) << r.report;
    EXPECT_EQ(r.out, "");
    expect_next_vm_fine();
}

TEST_P(FaultTest, DivideByZeroIsSigfpe) {
    auto r = run_guest(prog("divzero"), {});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 136) << describe(r);
    EXPECT_EQ(r.signal, SIGFPE);
    EXPECT_TRUE(contains(r.report, "divide error")) << r.report;
    EXPECT_EQ(r.out, "");
    expect_next_vm_fine();
}

TEST_P(FaultTest, AbortIsSigabrt) {
    auto r = run_guest(prog("abortme"), {});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 134) << describe(r);
    EXPECT_EQ(r.signal, SIGABRT);
    expect_next_vm_fine();
}

struct HostileCase {
    const char* mode;
    int status;
    int signal;
    std::vector<std::string> report_has;
};

// A 4-byte OUT covers 4 ports: the bitmap allows [0x500, 0x520), so the
// last hypercall port usable with `out %eax` is 0x51c.
// hostile.c's "nexthc" uses the first unused hypercall number, written
// there by hand (the guest programs do not include abi.h).
static_assert(abi::kHcCount == 19, "update HC_COUNT in tests/guests/hostile.c and the nexthc case");

const HostileCase kHostile[] = {
    {"badport", 139, SIGSEGV, {"general protection fault", "SIGSEGV"}},
    {"badhc", 137, SIGKILL, {"guest stopped", "unknown hypercall 28"}},
    {"nexthc", 137, SIGKILL, {"guest stopped", "unknown hypercall 19"}},
    {"exec", 137, SIGKILL, {"guest stopped", "hypercall exec", "without an exec channel"}},
    {"park", 137, SIGKILL, {"guest stopped", "hypercall park", "after the workload was loaded"}},
    {"ttybadarg", 137, SIGKILL, {"guest stopped", "hypercall tty", "outside guest memory", "0xfffffff0"}},
    {"edgehc", 139, SIGSEGV, {"general protection fault"}},
    {"badaddr", 137, SIGKILL, {"guest stopped", "outside guest memory", "0xfffffffff000"}},
    {"hugelen", 137, SIGKILL, {"guest stopped", "outside guest memory", "0x4000000000000000"}},
    {"badarg", 137, SIGKILL, {"guest stopped", "outside guest memory", "0xfffffff0"}},
    {"ring", 137, SIGKILL, {"guest stopped", "ring"}},
    {"in", 137, SIGKILL, {"guest stopped", "port 0x500"}},
    {"badsleep", 137, SIGKILL, {"guest stopped", "outside guest memory"}},
    {"badexit", 137, SIGKILL, {"guest stopped", "invalid signal"}},
    {"hlt", 139, SIGSEGV, {"general protection fault"}},
    // Issue 13, bug 3: vector stores to RAM never handed out.
    {"sse-unbacked", 139, SIGSEGV, {"memory never allocated"}},
    {"avx-unbacked", 139, SIGSEGV, {"could not be emulated"}},
};

TEST_P(FaultTest, HostileGuestsAreStopped) {
    for (const auto& c : kHostile) {
        SCOPED_TRACE(std::string("hostile mode ") + c.mode);
        auto r = run_guest(prog("hostile"), {c.mode});
        ASSERT_TRUE(r.ok) << "a hostile guest must be stopped, not fail the monitor: " << r.error;
        EXPECT_FALSE(contains(r.out, "survived")) << "the guest went on after: " << r.out;
        EXPECT_EQ(r.status, c.status) << describe(r);
        EXPECT_EQ(r.signal, c.signal) << describe(r);
        for (const auto& s : c.report_has)
            EXPECT_TRUE(contains(r.report, s)) << "report '" << r.report << "' lacks '" << s << "'";
        EXPECT_FALSE(contains(r.report, "\n")) << "report must be one line";
        EXPECT_LT(r.report.size(), 300u);
        expect_next_vm_fine();
    }
}

TEST_P(FaultTest, HostileUsageErrorIsNormalExit) {
    // Sanity check of the test program itself.
    auto r = run_guest(prog("hostile"), {"nonsense"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.err, "usage")) << r.err;
}

TEST_P(FaultTest, FaultAfterOutputKeepsTheOutput) {
    // Whatever the guest printed before dying reaches the host.
    auto r = run_guest(prog("hostile"), {"badport-after-print"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 139) << describe(r);
    EXPECT_EQ(r.out, "about to fault\n");
}

TEST_P(FaultTest, TimeoutStopsASpinningGuest) {
    // No exits at all while spinning: the watchdog must kick the vCPU out.
    RunOptions o;
    o.timeout_seconds = 0.3;
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_guest(prog("hostile"), {"spin"}, "", o);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 124) << describe(r);
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.out, "spinning\n") << "output before the timeout must not be lost";
    EXPECT_GE(ms, 280.0);
    EXPECT_LT(ms, 2000.0);
    expect_next_vm_fine();
}

TEST_P(FaultTest, FaultWithTraceStillReports) {
    RunOptions o;
    o.trace = true;
    auto r = run_guest(prog("nullderef"), {}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 139) << describe(r);
    EXPECT_TRUE(contains(r.report, "page fault")) << r.report;
    EXPECT_FALSE(r.diag.empty()) << "the syscalls before the fault are traced";
}

// The kernel's own stack has a guard page: an overflow (driven by a test
// hook that recurses in the kernel) ends in a clear report, and the next VM
// is unaffected. Without the hook flag the call is just ENOSYS.
TEST_P(FaultTest, KernelStackOverflowHitsGuardPage) {
    RunOptions opts;
    opts.test_hooks = true;
    auto r = run_guest(prog("kstack_overflow"), {}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 139) << describe(r);
    EXPECT_TRUE(contains(r.report, "guest kernel stack overflow")) << r.report;
    EXPECT_TRUE(contains(r.report, "guard page 0x")) << r.report;
    EXPECT_EQ(r.out, "calling the hook\n");
    expect_next_vm_fine();
}

TEST_P(FaultTest, KernelThreadStackOverflowHitsItsGuardPage) {
    RunOptions opts;
    opts.test_hooks = true;
    auto r = run_guest(prog("kstack_overflow"), {"thread"}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 139) << describe(r);
    EXPECT_TRUE(contains(r.report, "guest kernel stack overflow")) << r.report;
    expect_next_vm_fine();
}

TEST_P(FaultTest, TestHookIsEnosysWithoutTheFlag) {
    auto r = run_guest(prog("kstack_overflow"), {});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, "calling the hook\nhook returned -1 errno 38\n");
}

// Bad user pointers are EFAULT for the program, exactly as natively: the
// kernel's own memory, unmapped holes and ranges that run into them are
// refused by the one user-access check (guest/kernel/mm/uaccess.cpp).
TEST_P(FaultTest, BadUserPointersAreEfaultAsNatively) {
    auto r = run_guest(prog("efault"), {}, "abc");
    auto n = run_host({guest_path(prog("efault"))}, "abc");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, n.status) << describe(r);
    EXPECT_EQ(r.out, n.out);
    EXPECT_EQ(r.report, "");
}

INSTANTIATE_TEST_SUITE_P(Libc, FaultTest, ::testing::Values("glibc", "musl"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace lightvm::test

// Write-behind must not weaken Linux's guarantee that data passed to write()
// survives the process crashing: the monitor performs the pending writes.
using namespace lightvm::test;

class CrashDurability : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(CrashDurability, WrittenDataReachesTheHost) {
    REQUIRE_KVM();
    auto [libc, how] = GetParam();
    char dir_template[] = "/tmp/lightvm-crash-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    std::string dir = dir_template;
    RunOptions opts;
    opts.shares.push_back(lightvm::ShareSpec{dir, "/data", false});
    if (how == "spin")
        opts.timeout_seconds = 0.5;
    std::string payload = "survives-" + how + "-" + libc;
    auto r = run_guest("write_then_crash." + libc, {"/data/out", payload, how}, "", opts);
    ASSERT_TRUE(r.ok) << r.error;
    int expected = how == "abort" ? 134 : how == "spin" ? 124 : 139;
    EXPECT_EQ(r.status, expected) << r.err << r.report;
    std::string got;
    {
        FILE* f = std::fopen((dir + "/out").c_str(), "rb");
        ASSERT_NE(f, nullptr);
        char buf[256];
        size_t n = std::fread(buf, 1, sizeof buf, f);
        got.assign(buf, n);
        std::fclose(f);
    }
    EXPECT_EQ(got, payload);
    std::remove((dir + "/out").c_str());
    ::rmdir(dir.c_str());
}

INSTANTIATE_TEST_SUITE_P(Libc, CrashDurability,
                         ::testing::Combine(::testing::Values("glibc", "musl"),
                                            ::testing::Values("segv", "close-then-segv", "abort", "spin", "avx")));

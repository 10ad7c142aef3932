// /proc/cpuinfo, /proc/meminfo, /proc/self/auxv and
// /sys/devices/system/cpu/{online,possible}: consistent with what libc and
// CPUID tell the same program (same output as a native run), true to the
// VM's configuration, and never the host's files even with --rootfs /.
#include <cpuid.h>

#include <map>
#include <sstream>
#include <tuple>
#include <vector>

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

// /proc/PID (tests/guests/procpid.c): each check in lightvm and natively,
// the same output required.
using PidParam = std::tuple<std::string, std::string>;  // libc, check
const std::vector<std::string> kPidChecks = {"self_link", "stat_fields", "child_stat", "status",
                                             "cmdline_environ", "fd_links", "tasks_and_globals"};

class ProcPid : public ::testing::TestWithParam<PidParam> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "procpid." + std::get<0>(GetParam()); }
};

TEST_P(ProcPid, SameAsNative) {
    const std::string check = std::get<1>(GetParam());
    auto r = run_guest(prog(), {check});
    ASSERT_TRUE(r.ok) << r.error;
    auto native = run_host({guest_path(prog()), check});
    EXPECT_EQ(native.status, 0) << native.out;
    EXPECT_FALSE(native.out.empty());
    EXPECT_EQ(r.out, native.out) << r.report;
    EXPECT_EQ(r.status, 0) << r.report;
}

INSTANTIATE_TEST_SUITE_P(Checks, ProcPid,
                         ::testing::Combine(::testing::Values("glibc", "musl"), ::testing::ValuesIn(kPidChecks)),
                         [](const ::testing::TestParamInfo<PidParam>& info) {
                             return std::get<1>(info.param) + "_" + std::get<0>(info.param);
                         });

TEST(ProcPidList, CoversEveryCheck) {
    REQUIRE_KVM();
    auto native = run_host({guest_path("procpid.glibc"), "list"});
    std::string want;
    for (const auto& c : kPidChecks)
        want += c + "\n";
    EXPECT_EQ(native.out, want);
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

// What busybox's process tools make of it: ps, pgrep, pidof and top see
// the VM's processes (and only those), with their states and parents.
TEST(ProcPidTools, BusyboxPsPgrepPidofTop) {
    REQUIRE_BUSYBOX();
    RunOptions o;
    o.shares.push_back(ShareSpec{"/", "/", true});
    auto r = run_guest(kBusybox,
                       {"sh", "-c",
                        "sleep 5 & s=$!; sleep 6 | cat & c=$!; "
                        // the children run when the scheduler lets them: wait until all have exec'd
                        "until [ $(pgrep -x sleep | wc -l) = 2 ] && pidof cat >/dev/null; do usleep 10000; done; "
                        "ps -o pid,ppid,stat,comm; echo pgrep=$(pgrep -o sleep) want=$s; "
                        "echo pidof=$(pidof cat) want=$c; echo count=$(ls -d /proc/[0-9]* | wc -l); "
                        "top -bn1 | grep -c '% sleep 5$'; kill $(pgrep sleep) $c; wait; echo done"},
                       "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    auto lines = split_lines(r.out);
    ASSERT_GE(lines.size(), 6u) << r.out;
    EXPECT_EQ(lines[0].substr(0, 3), "PID") << r.out;
    // busybox sh (pid 1, named after its file as execve names programs),
    // sleep, cat, ps: their parent is the shell, sleep and cat sleep, ps runs.
    std::map<std::string, std::string> stat_of;
    for (size_t i = 1; i < lines.size() && lines[i].rfind("pgrep=", 0) != 0; ++i) {
        std::istringstream in(lines[i]);
        std::string pid, ppid, st, comm;
        in >> pid >> ppid >> st >> comm;
        stat_of[comm] = st;
        if (pid != "1") {
            EXPECT_EQ(ppid, "1") << lines[i];
        }
    }
    EXPECT_EQ(stat_of["sleep"], "S") << r.out;
    EXPECT_EQ(stat_of["cat"], "S") << r.out;
    EXPECT_EQ(stat_of["ps"], "R") << r.out;
    // The shell waits for ps (S), or a preemption tick left it runnable
    // after the fork (R), as on a multi-CPU Linux.
    EXPECT_TRUE(stat_of["busybox"] == "S" || stat_of["busybox"] == "R") << r.out;
    auto value = [&](const std::string& key) {
        for (const auto& l : lines)
            if (l.rfind(key + "=", 0) == 0)
                return l;
        return std::string();
    };
    std::istringstream pg(value("pgrep")), po(value("pidof"));
    std::string got, want;
    pg >> got >> want;
    EXPECT_EQ(got.substr(6), want.substr(5)) << r.out;
    po >> got >> want;
    EXPECT_EQ(got.substr(6), want.substr(5)) << r.out;
    // sh, two sleeps, cat, and the substitution's subshell, ls and wc.
    const int count = atoi(value("count").c_str() + 6);
    EXPECT_GE(count, 5) << r.out;
    EXPECT_LE(count, 8) << r.out;
    EXPECT_NE(r.out.find("\n1\ndone"), std::string::npos) << r.out;  // top's one line for sleep
}

}  // namespace
}  // namespace lightvm::test

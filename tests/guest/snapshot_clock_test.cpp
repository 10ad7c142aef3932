// Snapshots restored in another host boot (docs/snapshot-format.md,
// "Clocks"): the host's TSC started again, so the restore rebases the
// guest's clock reference. The saved files are made to look like those of
// a VM that had been up for weeks on a host that has since rebooted: its
// clock bases moved back and its time since them forward by the same
// amount, its monotonic clock weeks ahead of this host's, and another boot
// ID. The guest must continue with a monotonic clock that never goes back,
// sleeps that end on time, and the host's wall clock.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>

#include "common/file_io.hpp"
#include "guest_test_util.hpp"
#include "snapshot_files.hpp"
#include "lightvm/abi.h"
#include "snapshot/format.hpp"

namespace lightvm::test {
namespace {

constexpr uint64_t kWeeks = 40ull * 24 * 3600 * 1000000000;  // 40 days: far beyond this host's TSC
constexpr const char* kOtherBoot = "00000000-0000-4000-8000-000000000001";

class SnapshotClockTest : public SnapshotFilesTest {
protected:
    SaveSpec save_to(const std::string& name, double after) { return SnapshotFilesTest::save_to(name, after, kOtherBoot); }
    // The VM "had been up" `uptime_ns` longer on a host whose monotonic
    // clock was `ahead_ns` ahead of this one's (it had been up longer too):
    // bases back and time since them forward by the uptime, so its wall
    // clock reads the same, and its monotonic clock ahead (a jump forward,
    // which a restore may show; deadlines it armed before are then due).
    void age(const std::string& name, uint64_t uptime_ns, uint64_t ahead_ns) {
        snapshot::Snapshot s = read_state(name);
        ASSERT_TRUE(s.has_clock);
        UniqueFd mem(::open(path(name + ".mem").c_str(), O_RDWR | O_CLOEXEC));
        abi::BootInfo boot{};
        ASSERT_TRUE(read_all_at(mem.get(), &boot, sizeof boot, abi::kBootInfoGpa, "boot page"));
        boot.realtime_base_ns -= uptime_ns;
        boot.monotonic_base_ns = boot.monotonic_base_ns - uptime_ns + ahead_ns;
        ASSERT_TRUE(write_all_at(mem.get(), reinterpret_cast<const uint8_t*>(&boot), sizeof boot, abi::kBootInfoGpa, "boot page"));
        s.guest_since_ns += uptime_ns;
        s.mem_tag = snapshot::fnv1a({reinterpret_cast<const uint8_t*>(&boot), sizeof boot});
        write_state(name, s);
    }
    GuestRun restore(const std::string& prog, const std::string& name, uint32_t cpus = 1) {
        RunOptions o;
        o.restore_path = path(name);
        o.cpus = cpus;
        o.timeout_seconds = 60;  // a deadline translated wrong would wait for weeks
        o.stats = true;
        o.env = {"COUNTER_CLOCKS=1", "COUNTER_ITIMER=1"};
        return run_guest(prog, {}, "", o);
    }
};

// Everything but the wall-clock line, which differs between runs.
std::string counts(const std::string& out) {
    auto at = out.find("realtime ");
    return at == std::string::npos ? out : out.substr(0, at);
}

int64_t realtime_printed(const std::string& out) {
    auto at = out.find("realtime ");
    return at == std::string::npos ? -1 : std::atoll(out.c_str() + at + 9);
}

TEST_P(SnapshotClockTest, CounterContinuesInAnotherBootAfterWeeksOfUptime) {
    REQUIRE_KVM();
    const std::string prog = std::string("counter.") + GetParam();
    const std::vector<std::string> args = {"16", "50"};
    RunOptions plain;
    plain.env = {"COUNTER_CLOCKS=1", "COUNTER_ITIMER=1"};
    GuestRun full = run_guest(prog, args, "", plain);
    ASSERT_TRUE(full.ok) << full.error;
    ASSERT_NE(full.out.find("done 16"), std::string::npos) << full.out;

    RunOptions o = plain;
    o.save = save_to("snap", 0.3);
    GuestRun first = run_guest(prog, args, "", o);
    ASSERT_TRUE(first.ok) << first.error;
    ASSERT_TRUE(first.saved) << first.report;
    ASSERT_EQ(first.out.find("done"), std::string::npos) << "saved mid-run: " << first.out;
    age("snap", kWeeks, kWeeks);

    for (int clone = 0; clone < 2; ++clone) {
        SCOPED_TRACE(clone);
        const auto t0 = std::chrono::steady_clock::now();
        GuestRun next = restore(prog, "snap");
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ASSERT_TRUE(next.ok) << next.error;
        // The counter exits 3 with "clock went backwards" if it ever reads
        // a monotonic time before the last one.
        EXPECT_EQ(next.status, 0) << next.out << next.report;
        EXPECT_EQ(counts(first.out + next.out), counts(full.out));
        // The guest's wall clock is the host's (not 40 days off), and its
        // 50 ms setitimer waits ended on time: their deadlines are absolute,
        // and one translated wrong by the clock's move would wait for weeks.
        EXPECT_LE(std::llabs(realtime_printed(next.out) - static_cast<int64_t>(std::time(nullptr))), 5) << next.out;
        EXPECT_LT(took, 30.0);
        EXPECT_GE(next.stats.exits.hypercalls[abi::kHcTimer], 1u) << "the setitimer waits armed the guest timer";
    }
}

// Two vCPUs computing: both continue, on one rebased clock.
TEST_P(SnapshotClockTest, TwoVcpusContinueInAnotherBoot) {
    REQUIRE_KVM();
    const std::string prog = std::string("smpcount.") + GetParam();
    RunOptions o;
    o.cpus = 2;
    GuestRun full = run_guest(prog, {"30000"}, "", o);
    ASSERT_TRUE(full.ok) << full.error;
    ASSERT_EQ(full.status, 0) << full.report;
    o.save = save_to("smp", 0.3);
    GuestRun first = run_guest(prog, {"30000"}, "", o);
    ASSERT_TRUE(first.ok) << first.error;
    ASSERT_TRUE(first.saved) << first.report;
    age("smp", kWeeks, kWeeks);
    GuestRun next = restore(prog, "smp", 2);
    ASSERT_TRUE(next.ok) << next.error;
    EXPECT_EQ(next.status, 0) << next.report << next.err;
    EXPECT_EQ(first.out + next.out, full.out);
}

// A file from before the clock section can only come back in its own boot.
TEST_P(SnapshotClockTest, AnotherBootWithoutClockSectionIsRefused) {
    REQUIRE_KVM();
    const std::string prog = std::string("counter.") + GetParam();
    RunOptions o;
    o.save = save_to("old", 0.1);
    ASSERT_TRUE(run_guest(prog, {"8", "30"}, "", o).saved);
    snapshot::Snapshot s = read_state("old");
    s.has_clock = false;
    write_state("old", s);
    GuestRun r = restore(prog, "old");
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error_kind, ErrorKind::BadInput);
    EXPECT_NE(r.error.find("another boot of this host or on another host, without the clock section"),
              std::string::npos)
        << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Libc, SnapshotClockTest, ::testing::Values("glibc", "musl"));

}  // namespace
}  // namespace lightvm::test

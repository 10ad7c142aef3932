// Snapshots (docs/snapshot-format.md) with real VMs: a counting guest saved
// mid-run continues exactly where it stopped (count, heap memory, FPU, the
// offset of an open file, a monotonic clock that never goes back), a
// snapshot restores any number of times into independent VMs, and files or
// memory that no longer match the snapshot are refused with one line.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "guest_test_util.hpp"
#include "lightvm/abi.h"
#include "snapshot/format.hpp"

namespace lightvm::test {
namespace {

class SnapshotTest : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lightvm-snap-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        std::ofstream in(dir + "/input.txt");
        for (int i = 1; i <= 100; ++i)
            in << "line" << i << "\n";
    }
    void TearDown() override {
        if (!dir.empty())
            (void)std::system(("rm -rf " + dir).c_str());
    }
    std::string prog() const { return std::string("counter.") + GetParam(); }
    RunOptions share_opts() const {
        RunOptions o;
        o.shares.push_back(ShareSpec{dir, dir, false});
        return o;
    }
    // Runs the counter with a save after `after` seconds; the files are
    // dir/NAME and dir/NAME.mem.
    GuestRun run_saving(const std::string& name, double after, bool stop, std::vector<std::string> args) {
        RunOptions o = share_opts();
        UniqueFd state(::open((dir + "/" + name).c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        UniqueFd mem(::open((dir + "/" + name + ".mem").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        o.save = SaveSpec{state.get(), mem.get(), after, stop, snapshot::host_boot_id()};
        return run_guest(prog(), std::move(args), "", o);
    }
    GuestRun restore(const std::string& name) {
        RunOptions o;
        o.restore_path = dir + "/" + name;
        return run_guest(prog(), {}, "", o);
    }
    std::string dir;
};

// The output of an uninterrupted run, to compare against.
std::string full_run(const std::string& prog, const RunOptions& o, const std::vector<std::string>& args) {
    GuestRun r = run_guest(prog, args, "", o);
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << r.out << r.report;
    return r.out;
}

TEST_P(SnapshotTest, CountContinuesExactlyAfterRestore) {
    REQUIRE_KVM();
    // Saved 0.4 s into a ~1 s run: after the first count even when a loaded
    // machine makes the boot slow.
    const std::vector<std::string> args = {"20", "50", dir + "/input.txt"};
    const std::string expected = full_run(prog(), share_opts(), args);
    ASSERT_NE(expected.find("done 20"), std::string::npos) << expected;

    GuestRun first = run_saving("snap", 0.4, /*stop=*/true, args);
    ASSERT_TRUE(first.ok) << first.error;
    ASSERT_TRUE(first.saved);
    EXPECT_EQ(first.status, 0);
    // Saved mid-run: some counts printed, not all.
    ASSERT_NE(first.out.find("count 1 "), std::string::npos) << first.out;
    ASSERT_EQ(first.out.find("done"), std::string::npos) << first.out;

    GuestRun second = restore("snap");
    ASSERT_TRUE(second.ok) << second.error;
    EXPECT_EQ(second.status, 0) << second.report;
    EXPECT_FALSE(second.out.empty());
    // Every count exactly once, the input lines in order (the file offset
    // survived), the same memory sums and FPU values, no clock going back.
    EXPECT_EQ(first.out + second.out, expected);
}

// The counting happens in a second thread, or in a child process the first
// one waits for: both are guest kernel state (tasks, futexes, wait queues)
// and come back with the memory.
TEST_P(SnapshotTest, ThreadsAndChildProcessesContinue) {
    REQUIRE_KVM();
    for (const char* mode : {"thread", "fork"}) {
        SCOPED_TRACE(mode);
        const std::vector<std::string> args = {"16", "50", dir + "/input.txt"};
        RunOptions o = share_opts();
        o.env = {std::string("COUNTER_MODE=") + mode};
        const std::string expected = full_run(prog(), o, args);
        ASSERT_NE(expected.find("done 16"), std::string::npos) << expected;

        UniqueFd state(::open((dir + "/snap").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        UniqueFd mem(::open((dir + "/snap.mem").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        o.save = SaveSpec{state.get(), mem.get(), 0.4, true, snapshot::host_boot_id()};
        GuestRun first = run_guest(prog(), args, "", o);
        ASSERT_TRUE(first.ok) << first.error;
        ASSERT_TRUE(first.saved);
        ASSERT_EQ(first.out.find("done"), std::string::npos) << first.out;

        GuestRun second = restore("snap");
        ASSERT_TRUE(second.ok) << second.error;
        EXPECT_EQ(second.status, 0) << second.report;
        EXPECT_EQ(first.out + second.out, expected);
    }
}

TEST_P(SnapshotTest, OneSnapshotRestoresIntoIndependentVms) {
    REQUIRE_KVM();
    const std::vector<std::string> args = {"16", "40"};
    GuestRun original = run_saving("snap", 0.3, /*stop=*/false, args);
    ASSERT_TRUE(original.ok) << original.error;
    ASSERT_TRUE(original.saved);
    // Saving without --save-stop leaves the original running to its end.
    EXPECT_EQ(original.status, 0);
    ASSERT_NE(original.out.find("done 16"), std::string::npos) << original.out;

    GuestRun a = restore("snap");
    GuestRun b = restore("snap");
    ASSERT_TRUE(a.ok) << a.error;
    ASSERT_TRUE(b.ok) << b.error;
    EXPECT_EQ(a.status, 0);
    EXPECT_EQ(b.status, 0);
    // Both continue from the same point, with the same memory: what they
    // print is the tail of the original's output.
    EXPECT_EQ(a.out, b.out);
    ASSERT_FALSE(a.out.empty());
    ASSERT_GE(original.out.size(), a.out.size());
    EXPECT_EQ(original.out.substr(original.out.size() - a.out.size()), a.out);
    EXPECT_NE(a.out.rfind("count ", 0), std::string::npos) << a.out;
}

TEST_P(SnapshotTest, ChangedOpenFileIsRefused) {
    REQUIRE_KVM();
    GuestRun first = run_saving("snap", 0.15, true, {"12", "50", dir + "/input.txt"});
    ASSERT_TRUE(first.saved) << first.error;
    std::ofstream(dir + "/input.txt", std::ios::app) << "appended\n";
    GuestRun r = restore("snap");
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error_kind, ErrorKind::BadInput);
    EXPECT_NE(r.error.find("input.txt changed since the snapshot was taken"), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos);
}

TEST_P(SnapshotTest, MemoryFileOfAnotherSnapshotIsRefused) {
    REQUIRE_KVM();
    ASSERT_TRUE(run_saving("one", 0.1, true, {"8", "30"}).saved);
    ASSERT_TRUE(run_saving("two", 0.1, true, {"8", "30"}).saved);
    ASSERT_EQ(::rename((dir + "/two.mem").c_str(), (dir + "/one.mem").c_str()), 0);
    GuestRun r = restore("one");
    ASSERT_FALSE(r.ok);
    EXPECT_NE(r.error.find("one.mem: belongs to another snapshot"), std::string::npos) << r.error;
}

TEST_P(SnapshotTest, MissingOrTruncatedMemoryFileIsRefused) {
    REQUIRE_KVM();
    ASSERT_TRUE(run_saving("snap", 0.1, true, {"8", "30"}).saved);
    ASSERT_EQ(::truncate((dir + "/snap.mem").c_str(), 4096), 0);
    GuestRun r = restore("snap");
    ASSERT_FALSE(r.ok);
    EXPECT_NE(r.error.find("not the snapshot's memory file"), std::string::npos) << r.error;
    ASSERT_EQ(::unlink((dir + "/snap.mem").c_str()), 0);
    r = restore("snap");
    ASSERT_FALSE(r.ok);
    EXPECT_NE(r.error.find("snap.mem: No such file or directory"), std::string::npos) << r.error;
}

TEST_P(SnapshotTest, HostNetworkingCannotBeSaved) {
    REQUIRE_KVM();
    RunOptions o;
    o.net = NetMode::Host;
    UniqueFd state(::open((dir + "/snap").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    UniqueFd mem(::open((dir + "/snap.mem").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    o.save = SaveSpec{state.get(), mem.get(), 0.05, true, snapshot::host_boot_id()};
    GuestRun r = run_guest(prog(), {"8", "30"}, "", o);
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error_kind, ErrorKind::Unsupported);
    EXPECT_NE(r.error.find("host sockets"), std::string::npos) << r.error;
}

// "Snapshot me here": the program writes /sys/devices/virtual/lightvm/ready
// once its state is built; --save-at-ready saves right there, and every
// restore returns from that write with its own stdin, a new generation and
// a fresh random state.
TEST_P(SnapshotTest, ReadyMarkSavesWhereTheProgramSays) {
    REQUIRE_KVM();
    const std::string prog = std::string("readymark.") + GetParam();
    auto line_of = [](const std::string& out, const char* key) {
        auto at = out.find(key);
        return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
    };
    GuestRun plain = run_guest(prog, {}, "straight\n");
    ASSERT_TRUE(plain.ok) << plain.error;
    EXPECT_EQ(line_of(plain.out, "sum"), "sum 333833500 table 1000000 gen 0 line straight");
    EXPECT_EQ(plain.stats.exits.hypercalls[abi::kHcReady], 1u);

    RunOptions o;
    UniqueFd state(::open((dir + "/ready").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    UniqueFd mem(::open((dir + "/ready.mem").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    o.save = SaveSpec{state.get(), mem.get(), 0, true, snapshot::host_boot_id()};
    o.save.at_ready = true;
    GuestRun saved = run_guest(prog, {}, "never read\n", o);
    ASSERT_TRUE(saved.ok) << saved.error;
    ASSERT_TRUE(saved.saved) << saved.report;
    EXPECT_EQ(saved.status, 0);
    EXPECT_EQ(saved.out, "");  // stopped inside the write: nothing after it ran

    std::string randoms[2];
    const char* inputs[2] = {"first\n", "second\n"};
    for (int i = 0; i < 2; ++i) {
        RunOptions r;
        r.restore_path = dir + "/ready";
        GuestRun clone = run_guest(prog, {}, inputs[i], r);
        ASSERT_TRUE(clone.ok) << clone.error;
        EXPECT_EQ(clone.status, 0) << clone.report << clone.err;
        EXPECT_EQ(line_of(clone.out, "sum"),
                  std::string("sum 333833500 table 1000000 gen 1 line ") + (i ? "second" : "first"));
        randoms[i] = line_of(clone.out, "random");
        EXPECT_FALSE(randoms[i].empty()) << clone.out;
    }
    EXPECT_NE(randoms[0], randoms[1]);  // each clone reseeded
}

// The mark is write-only, as its mode says, and costs nothing without
// --save-at-ready beyond its exit.
TEST(ReadyMark, IsWriteOnly) {
    REQUIRE_KVM();
    if (::access("/bin/busybox", X_OK) != 0)
        GTEST_SKIP() << "SKIPPED: /bin/busybox (busybox-static) is not installed";
    GuestRun r = run_guest("/bin/busybox", {"sh", "-c",
                                            "stat -c '%a %F' /sys/devices/virtual/lightvm/ready;"
                                            "cat /sys/devices/virtual/lightvm/ready 2>/dev/null || echo no read;"
                                            "echo 1 > /sys/devices/virtual/lightvm/ready && echo marked"},
                           "", RunOptions{});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.out, "200 regular empty file\nno read\nmarked\n") << r.err;
    EXPECT_EQ(r.stats.exits.hypercalls[abi::kHcReady], 1u);
}

INSTANTIATE_TEST_SUITE_P(Libc, SnapshotTest, ::testing::Values("glibc", "musl"));

// Several vCPUs (--cpus 2): smpcount's two threads compute on both vCPUs;
// a save takes every started vCPU (the others stopped at a safe point) and
// every restore continues them to the output of an uninterrupted run.
class SmpSnapshotTest : public SnapshotTest {
protected:
    std::string smp_prog() const { return std::string("smpcount.") + GetParam(); }
    static constexpr const char* kSteps = "30000";  // 0.8 s on two idle host CPUs, more on a loaded one
    GuestRun run_smp(std::vector<std::string> args, const std::string& in, SaveSpec save = {}) {
        RunOptions o;
        o.cpus = 2;
        o.stats = true;
        o.save = std::move(save);
        return run_guest(smp_prog(), std::move(args), in, o);
    }
    SaveSpec save_to(const std::string& name, double after) {
        m_state = UniqueFd(::open((dir + "/" + name).c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        m_mem = UniqueFd(::open((dir + "/" + name + ".mem").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        return SaveSpec{m_state.get(), m_mem.get(), after, /*stop=*/true, snapshot::host_boot_id()};
    }
    GuestRun restore_smp(const std::string& name, const std::string& in) {
        RunOptions o;
        o.restore_path = dir + "/" + name;
        o.stats = true;
        return run_guest(smp_prog(), {}, in, o);
    }
    std::vector<uint8_t> state_bytes(const std::string& name) {
        std::ifstream f(dir + "/" + name, std::ios::binary);
        return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    }
    snapshot::Snapshot decoded(const std::string& name) {
        auto s = snapshot::decode(state_bytes(name));
        EXPECT_TRUE(s) << s.error().to_string();
        return s ? *s : snapshot::Snapshot{};
    }
    UniqueFd m_state, m_mem;
};

TEST_P(SmpSnapshotTest, BothBusyVcpusContinueExactlyInTwoClones) {
    REQUIRE_KVM();
    GuestRun full = run_smp({kSteps}, "");
    ASSERT_TRUE(full.ok) << full.error;
    ASSERT_EQ(full.status, 0) << full.report;
    ASSERT_NE(full.out.find("done"), std::string::npos) << full.out;

    GuestRun first = run_smp({kSteps}, "", save_to("smp", 0.3));
    ASSERT_TRUE(first.ok) << first.error;
    ASSERT_TRUE(first.saved) << first.report;
    EXPECT_EQ(first.status, 0);
    EXPECT_EQ(first.stats.vcpus_started, 2u);
    EXPECT_EQ(first.out, "start\n");  // mid-run: nothing after the threads' start
    const snapshot::Snapshot snap = decoded("smp");
    EXPECT_EQ(snap.cpus, 2u);
    ASSERT_EQ(snap.vcpus.size(), 2u) << "both vCPUs saved";
    EXPECT_EQ(snap.vcpus[1].mon.id, 1u);
    EXPECT_EQ(snap.vcpus[1].mon.flags & snapshot::kVcpuIdle, 0u) << "vCPU 1 was computing, not asleep";

    for (int clone = 0; clone < 2; ++clone) {
        SCOPED_TRACE(clone);
        GuestRun next = restore_smp("smp", "");
        ASSERT_TRUE(next.ok) << next.error;
        EXPECT_EQ(next.status, 0) << next.report << next.err;
        EXPECT_EQ(first.out + next.out, full.out);
        EXPECT_EQ(next.stats.vcpus_started, 2u) << "vCPU 1 comes back started";
    }
}

// The ready mark written while both threads compute: whichever vCPU writes
// it, the save holds both (one inside its mark's exit), and each clone
// answers its own stdin.
TEST_P(SmpSnapshotTest, ReadyMarkWithBothVcpusBusy) {
    REQUIRE_KVM();
    GuestRun full = run_smp({kSteps, "ready"}, "plain\n");
    ASSERT_TRUE(full.ok) << full.error;
    ASSERT_EQ(full.status, 0) << full.report;
    const auto tail = [](const std::string& out) { return out.substr(0, out.find("line ")); };
    ASSERT_NE(full.out.find("line plain\ndone\n"), std::string::npos) << full.out;

    SaveSpec save = save_to("ready", 0);
    save.at_ready = true;
    GuestRun first = run_smp({kSteps, "ready"}, "never read\n", save);
    ASSERT_TRUE(first.ok) << first.error;
    ASSERT_TRUE(first.saved) << first.report;
    EXPECT_EQ(first.out, "start\n");
    EXPECT_EQ(decoded("ready").vcpus.size(), 2u);
    const char* inputs[2] = {"first", "second"};
    for (const char* in : inputs) {
        GuestRun clone = restore_smp("ready", std::string(in) + "\n");
        ASSERT_TRUE(clone.ok) << clone.error;
        EXPECT_EQ(clone.status, 0) << clone.report << clone.err;
        EXPECT_EQ(tail(first.out + clone.out), tail(full.out));
        EXPECT_NE(clone.out.find(std::string("line ") + in + "\ndone\n"), std::string::npos) << clone.out;
    }
}

// Saved while only the main thread exists and sleeps: vCPU 1 is in its idle
// sleep (saved there, replayed at restore), and the restored guest starts
// work on it again.
TEST_P(SmpSnapshotTest, SecondVcpuSavedAsleep) {
    REQUIRE_KVM();
    const std::vector<std::string> args = {"6000", "idle"};
    GuestRun full = run_smp(args, "");
    ASSERT_TRUE(full.ok) << full.error;
    ASSERT_EQ(full.status, 0) << full.report;
    // The first quarter takes ~0.1 s, then 1.5 s of sleep: saved in its middle.
    GuestRun first = run_smp(args, "", save_to("idle", 0.9));
    ASSERT_TRUE(first.ok) << first.error;
    ASSERT_TRUE(first.saved);
    const snapshot::Snapshot snap = decoded("idle");
    ASSERT_EQ(snap.vcpus.size(), 2u);
    EXPECT_NE(snap.vcpus[1].mon.flags & snapshot::kVcpuIdle, 0u) << "vCPU 1 asleep at the save";
    GuestRun next = restore_smp("idle", "");
    ASSERT_TRUE(next.ok) << next.error;
    EXPECT_EQ(next.status, 0) << next.report;
    EXPECT_EQ(first.out + next.out, full.out);
}

// A damaged vCPU table (section 8) is refused before any VM exists, in one
// line; so is a vCPU section without its entry.
TEST_P(SmpSnapshotTest, CorruptVcpuTableIsRefused) {
    REQUIRE_KVM();
    GuestRun first = run_smp({kSteps}, "", save_to("smp", 0.3));
    ASSERT_TRUE(first.saved) << first.error;
    const std::vector<uint8_t> good = state_bytes("smp");
    ASSERT_EQ(decoded("smp").vcpus.size(), 2u);
    auto write_back = [&](const std::vector<uint8_t>& b) {
        std::ofstream(dir + "/smp", std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(b.data()),
                                                                              static_cast<std::streamsize>(b.size()));
    };
    auto expect_refused = [&](const char* what) {
        GuestRun r = restore_smp("smp", "");
        ASSERT_FALSE(r.ok) << what;
        EXPECT_EQ(r.error_kind, ErrorKind::BadInput);
        EXPECT_NE(r.error.find(what), std::string::npos) << r.error;
        EXPECT_EQ(r.error.find('\n'), std::string::npos);
    };
    // The table is the last section but memory's: vCPU 1's flags word is
    // found by its id (1) right after vCPU 0's entry.
    size_t at = 32;
    size_t table = 0;
    while (at + 16 <= good.size()) {
        uint32_t tag;
        uint64_t len;
        std::memcpy(&tag, good.data() + at, 4);
        std::memcpy(&len, good.data() + at + 8, 8);
        if (tag == 8)
            table = at + 16;
        at += 16 + len;
    }
    ASSERT_NE(table, 0u);
    const size_t entries = table + 4 + 5 * 8 + 4 + 4, entry = 8 + 7 * 8;
    auto bad = good;
    bad[entries + entry + 4] = 0x80;  // vCPU 1: a flag nobody knows
    write_back(bad);
    expect_refused("checksum mismatch");  // an edit without resealing
    uint64_t zero = 0, sum;
    std::memcpy(bad.data() + 24, &zero, 8);
    sum = snapshot::fnv1a(bad);
    std::memcpy(bad.data() + 24, &sum, 8);
    write_back(bad);
    expect_refused("vCPU 1: unknown flags");
    bad = good;
    bad[entries + entry] = 5;  // vCPU 1 renamed 5: beyond --cpus 2
    std::memcpy(bad.data() + 24, &zero, 8);
    sum = snapshot::fnv1a(bad);
    std::memcpy(bad.data() + 24, &sum, 8);
    write_back(bad);
    expect_refused("vCPU table out of order or beyond the limit");
    write_back(good);
    GuestRun ok = restore_smp("smp", "");
    ASSERT_TRUE(ok.ok) << ok.error;
    EXPECT_EQ(ok.status, 0);
}

INSTANTIATE_TEST_SUITE_P(Libc, SmpSnapshotTest, ::testing::Values("glibc", "musl"));

}  // namespace
}  // namespace lightvm::test

// Snapshots of a guest whose CPU never idles (docs/design.md, "Snapshots":
// the first KVM_RUN after a restore). The counter waits on timerfds while a
// second thread spins in user mode, so the vCPU runs the spinner at almost
// every save point and only the guest timer's interrupt lets the counter
// run again. A save is taken right after an Interrupted exit, before the
// monitor hands that exit's sources to the guest; when the exit was the
// guest timer's (its host timer fired), the expiry is in the snapshot's
// `irq_pending` and no host timer is armed any more. The restored vCPU
// must be handed that expiry before it runs: the spinner makes no exit of
// its own, and the restore used to hang there until --timeout.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "guest_test_util.hpp"
#include "snapshot_files.hpp"
#include "lightvm/abi.h"
#include "snapshot/format.hpp"

namespace lightvm::test {
namespace {

class SnapshotBusyTest : public SnapshotFilesTest {
protected:
    std::string prog() const { return std::string("counter.") + GetParam(); }
    static RunOptions spinning() {
        RunOptions o;
        o.env = {"COUNTER_SPIN=1", "COUNTER_TIMERFD=1"};
        return o;
    }
    GuestRun run_saving(const std::string& name, double after, const std::vector<std::string>& args) {
        RunOptions o = spinning();
        o.save = save_to(name, after);
        return run_guest(prog(), args, "", o);
    }
    // The state the save takes when the guest timer's host timer fired in
    // the same Interrupted exit (seen under load): the expiry undelivered,
    // no deadline armed. A restore always comes after the deadline the
    // guest had asked for, so this is the state it would find anyway, made
    // certain instead of left to the host's scheduling. The guest kernel's
    // handler re-arms whatever slot is not yet due (irq/timer.cpp).
    void timer_fired_at_save(const std::string& name) {
        snapshot::Snapshot s = read_state(name);
        ASSERT_EQ(s.vcpus.size(), 1u);
        s.irq_pending |= 1u << abi::kIrqTimer;
        s.timer_deadline_ns = 0;
        s.vcpus[0].mon.irq_pending = s.irq_pending;  // the state file keeps both equal
        s.vcpus[0].mon.timer_deadline_ns = 0;
        write_state(name, s);
    }
    GuestRun restore(const std::string& name) {
        RunOptions o;
        o.restore_path = path(name);
        o.stats = true;
        o.timeout_seconds = 20;  // a hang shows as a timeout, not a stuck suite
        return run_guest(prog(), {}, "", o);
    }
};

TEST_P(SnapshotBusyTest, TimerExpiryPendingAtSaveReachesTheRestoredGuest) {
    REQUIRE_KVM();
    const std::vector<std::string> args = {"16", "50"};  // ~0.8 s
    GuestRun full = run_guest(prog(), args, "", spinning());
    ASSERT_TRUE(full.ok) << full.error;
    ASSERT_EQ(full.status, 0) << full.report;
    ASSERT_NE(full.out.find("done 16"), std::string::npos) << full.out;
    // Two save points: each lands on whatever the spinner and the timers
    // were doing then.
    for (double after : {0.25, 0.45}) {
        SCOPED_TRACE(after);
        GuestRun first = run_saving("busy", after, args);
        ASSERT_TRUE(first.ok) << first.error;
        ASSERT_TRUE(first.saved) << first.report;
        ASSERT_EQ(first.out.find("done"), std::string::npos) << "saved after the end: " << first.out;
        timer_fired_at_save("busy");
        GuestRun next = restore("busy");
        ASSERT_TRUE(next.ok) << next.error;
        EXPECT_FALSE(next.timed_out) << "the restored guest never got its timer: " << next.report;
        EXPECT_EQ(next.status, 0) << next.report << next.err;
        EXPECT_EQ(first.out + next.out, full.out);
    }
}

INSTANTIATE_TEST_SUITE_P(Libc, SnapshotBusyTest, ::testing::Values("glibc", "musl"));

}  // namespace
}  // namespace lightvm::test

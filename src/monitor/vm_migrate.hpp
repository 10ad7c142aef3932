// The source half of a live migration (docs/migration.md), inside the VM's
// monitor. lightvmd connected to the target and said hello; from there the
// monitor sends guest RAM while the guest runs (pre-copy: a first full
// pass, then rounds of the pages written since — KVM's dirty log for the
// guest's writes, GuestMemory's host-write marks for the monitor's own),
// then stops the guest, sends the last dirty pages and the VM's state,
// and hands over: the target restores it held, says Ready, we say Go.
//
// Threads: a sender thread does the pre-copy; everything that needs the
// vCPU stopped between two exits (reading the dirty logs, the final
// stop-and-copy) it asks of the vCPU thread, which does it in service().
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "monitor/interrupts.hpp"
#include "monitor/run_report.hpp"
#include "monitor/vm_state.hpp"

namespace lightvm {

class Migration {
public:
    // On the vCPU thread at an Interrupted exit (one vCPU: checked by the
    // caller). `sock` stays the caller's; `kick` makes the vCPU thread
    // leave KVM_RUN or a blocking call soon (any thread).
    static Result<std::unique_ptr<Migration>> start(VmState& s, int sock, std::function<void()> kick);
    ~Migration();
    Migration(const Migration&) = delete;
    Migration& operator=(const Migration&) = delete;

    // Has the sender asked something of the vCPU thread? Any thread.
    bool due();
    enum class Step { Continue, Migrated, Failed, Unknown };
    // On the vCPU thread between two exits, when due(). Failed: the guest
    // goes on here (dirty logging off). Migrated: it runs on the target,
    // end this VM. Unknown: Go was sent but the target never confirmed.
    Step service(VmState& s, Interrupts& irq, Outcome& outcome);
    const MigrationReport& report() const { return m_report; }

private:
    Migration(VmState& s, int sock, std::function<void()> kick);
    using Bitmap = std::vector<uint64_t>;  // one bit per guest page
    void sender_main(std::vector<GuestMemory::Range> first_pass);
    Result<void> precopy(const std::vector<GuestMemory::Range>& first_pass);
    Result<Bitmap> collect_from_vcpu();  // sender thread: ask service() for the dirty pages
    Result<Bitmap> collect(VmState& s);  // vCPU thread: KVM's logs + the monitor's marks
    Result<void> send_pages(const Bitmap& pages, bool skip_zero, uint64_t& bytes);
    Step finish(VmState& s, Interrupts& irq, Outcome& outcome);
    Step fail(VmState& s, Step step, std::string why);
    void stop_sender();

    VmState& m_s;
    int m_sock;
    std::function<void()> m_kick;
    uint64_t m_pages;
    std::thread m_thread;
    std::mutex m_mu;
    std::condition_variable m_cv;
    // Under m_mu: the sender's requests and the vCPU thread's answers.
    bool m_want_collect = false, m_collected = false, m_want_final = false, m_failed = false, m_abort = false;
    Bitmap m_dirty;  // the last collection, for the sender
    Bitmap m_carry;  // dirty pages the sender left for the final phase
    std::string m_error;
    uint64_t m_started_ns = 0;
    MigrationReport m_report;
};

}  // namespace lightvm

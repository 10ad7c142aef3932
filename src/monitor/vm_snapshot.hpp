// Saving and restoring a VM (docs/snapshot-format.md). Internal to the
// monitor: the phases in shell.cpp, workload.cpp and vm_run.cpp call these.
#pragma once

#include <mutex>

#include "monitor/interrupts.hpp"
#include "monitor/run_report.hpp"
#include "monitor/vm_state.hpp"

namespace lightvm {

class Smp;

// The other vCPUs held at a safe point (Smp::quiesce, with its exits lock)
// while a save or a migration's last phase reads the VM, let go on every
// way out of it. Without `smp` (one vCPU) it holds nothing.
class Quiesced {
public:
    explicit Quiesced(Smp* smp);
    ~Quiesced();
    Quiesced(const Quiesced&) = delete;
    Quiesced& operator=(const Quiesced&) = delete;
    Result<void> begin();

private:
    Smp* m_smp;
    std::unique_lock<std::mutex> m_lock;
    bool m_held = false;
};

// Between two KVM_RUNs, right after an Interrupted exit (no I/O half done):
// writes config.save's memory file, then its state file. The VM is
// unchanged and may go on running. With `smp` (--cpus > 1), from vCPU 0's
// thread without exits() held: the other started vCPUs are brought to a
// safe point first (Smp::quiesce) and saved too, then let go.
Result<void> save_vm(VmState& s, Interrupts& irq, RunReport& report, Smp* smp = nullptr);

// What a state file holds about the VM as it is now (between two exits,
// the guest's pending output written out first), without the memory
// file's extents and tag: save_vm and a live migration (vm_migrate.hpp).
// With `smp`, the caller has brought the other vCPUs to a safe point.
Result<snapshot::Snapshot> capture_state(VmState& s, Interrupts& irq, Outcome& outcome, Smp* smp = nullptr);

// Where guest RAM may hold data. A fresh VM's RAM is a memfd (plus the
// app's file mapping): its data ranges. A restored VM's RAM is a private
// mapping of the old memory file: the old snapshot's extents plus every
// page resident now (the ones the guest touched since the restore).
Result<std::vector<GuestMemory::Range>> candidate_ranges(const VmState& s);

// Is this 4 KiB page all zero? (Zero pages are holes in a memory file.)
bool zero_page(const uint8_t* p);

// FNV-1a of the boot page: pairs a state file with its memory file.
uint64_t boot_page_tag(const GuestMemory& mem);

// Phase 0 of a restore: the state file decoded and checked against this
// host (CPU features, boot, memory file), its shares and disks opened and
// the guest's open files reopened with identity checks. No KVM.
Result<void> prepare_restore(WorkloadState& w);

// --record-working-set, at the end of a restored VM's run: the guest pages
// it touched (present in this process's mapping of guest RAM) go to the
// caller's PATH.ws (snapshot/working_set.hpp).
Result<void> record_working_set(VmState& s);

// The start of a restored VM's run with --cpus > 1: every vCPU but 0 the
// snapshot holds is made in its saved state and started; vCPU 0's pending
// kicks and TLB requests come back.
Result<void> restore_other_vcpus(VmState& s, Smp& smp);

// Phase 2 of a restore: guest RAM becomes a copy-on-write mapping of the
// memory file, the RAM regions, vCPU state and interrupt layout come back.
Result<void> load_snapshot(VmState& s);

}  // namespace lightvm

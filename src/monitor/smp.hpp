// Several vCPUs (--cpus). vCPU 0 runs on the thread that calls Vm::run;
// the guest starts the others when it has work for them (kHcCpu,
// kCpuStart): each gets its KVM vCPU, its IDT/TSS and a thread of its own
// running the same exit loop. Exits of all vCPUs are handled under one
// lock (the guest kernel runs its own code under one lock too, so they
// rarely contend), except the idle sleep, which waits without it until
// its deadline or a kick (kCpuKick) from another vCPU. docs/design.md,
// "Several vCPUs".
#pragma once

#include <pthread.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/unique_fd.hpp"
#include "monitor/exit_handler.hpp"
#include "monitor/interrupts.hpp"
#include "monitor/layout.hpp"

namespace lightvm {

// What the monitor keeps for one vCPU beyond KVM's registers: what a
// snapshot must hold to continue it (docs/snapshot-format.md, section 8).
struct SmpCpuState {
    uint32_t index = 0;
    IrqLayout layout;                // its copy of the guest's interrupt code and state
    uint64_t irq_pending = 0;        // raised on the host, not yet handed to the guest
    uint64_t timer_deadline_ns = 0;  // its guest timer, 0 = not armed
    bool kicked = false;             // a kick its next idle sleep has not seen
    bool tlb = false;                // a TLB request not yet served
    bool idle = false;               // in its idle sleep (saved with the `out` not completed)
};

class Smp final : public VcpuHub {
public:
    // `cpu0` are vCPU 0's devices (the shared ones are reused for every
    // vCPU), `outcome` the VM's, `kick_signal` the signal that interrupts
    // a KVM_RUN (its handler is installed by the caller).
    Smp(kvm::Vm& vm, GuestMemory& mem, const GuestImage& image, bool fsgsbase, uint32_t cpus, Devices cpu0,
        Interrupts& irq0, kvm::Vcpu& vcpu0, Outcome& outcome, int kick_signal);
    ~Smp() override;
    Smp(const Smp&) = delete;
    Smp& operator=(const Smp&) = delete;

    // Held by a vCPU thread while it handles an exit.
    std::mutex& exits() { return m_exits; }
    // kHcCpu from vCPU `from` (exits() held).
    Result<void> hypercall(uint32_t from, uint64_t arg_gpa) override;
    // kHcSleep from vCPU `from` (exits() held; released while it sleeps).
    Result<void> sleep(uint32_t from, uint64_t arg_gpa) override;
    // Before vCPU k re-enters the guest: serve a TLB request another vCPU
    // posted for it (kCpuTlb): reload its CR3, which flushes its TLB.
    Result<void> serve_tlb(uint32_t k);
    // The VM is over: every vCPU leaves its loop. Any thread.
    void finish();
    bool finished() const { return m_done.load(); }
    // Stops and joins the started vCPUs; their exits and a host error one
    // of them hit (a failed KVM_RUN) for the report.
    void join();
    const ExitStats& started_exits() const { return m_ap_exits; }
    std::optional<Error> error() const { return m_error; }
    uint32_t started() const { return m_started.load(); }

    // Snapshots, from vCPU 0's thread between two of its exits, `lock` an
    // unlocked lock on exits(). Returns holding it, every other started
    // vCPU at a safe point: out of KVM_RUN after an Interrupted exit (no
    // I/O half done) or in its idle sleep, where it stays until resume().
    // Fails when the VM ends meanwhile.
    Result<void> quiesce(std::unique_lock<std::mutex>& lock);
    void resume(std::unique_lock<std::mutex>& lock);
    // While quiesced: the started vCPUs but 0, in id order, their KVM vCPU
    // and state; vCPU 0's flags (its interrupts are the caller's).
    std::vector<std::pair<kvm::Vcpu*, SmpCpuState>> quiesced_cpus();
    SmpCpuState cpu0_state();
    // --save-at-ready: a ready mark (kHcReady) on another vCPU holds it
    // inside that exit, its `out` not completed (the one a restore replays,
    // as vCPU 0's), and asks vCPU 0 for the save: ready_pending() at its
    // next Interrupted exit; ready_done() lets the vCPU go on.
    void hold_ready_marks() { m_hold_ready = true; }
    bool ready_pending() const { return m_ready_pending.load(); }
    void ready_done();
    // A restore, before vCPU 0 first runs: vCPU st.index, made and loaded
    // as it was saved, is started; for vCPU 0 only its flags.
    Result<void> restore_cpu(const SmpCpuState& st, kvm::Vcpu made);

private:
    struct Cpu;
    Result<void> start(uint32_t k);
    Result<void> launch(std::unique_ptr<Cpu> c);
    bool all_safe() const;
    void hold_for_save(Cpu& c, std::unique_lock<std::mutex>& lock);
    void wait_while_paused(std::unique_lock<std::mutex>& lock);
    void kick(uint32_t k, uint64_t sources);
    void run_ap(uint32_t k);
    Result<void> ap_loop(Cpu& c);

    kvm::Vm& m_vm;
    GuestMemory& m_mem;
    const GuestImage& m_image;
    bool m_fsgsbase;
    uint32_t m_cpus;
    Devices m_dev0;
    Outcome& m_outcome;
    int m_kick_signal;
    std::mutex m_exits;
    // quiesce(): vCPUs report a safe point on m_safe and wait on m_resumed.
    std::atomic<bool> m_pause{false};
    bool m_hold_ready = false;
    std::atomic<bool> m_ready_pending{false};
    std::condition_variable m_safe, m_resumed;
    std::atomic<bool> m_done{false};
    std::atomic<uint32_t> m_started{0};
    std::array<std::unique_ptr<Cpu>, abi::kMaxCpus> m_cpu;
    ExitStats m_ap_exits;
    std::optional<Error> m_error;
};

}  // namespace lightvm

// Interrupts from the monitor into the guest: the timer the guest arms with
// kHcTimer and doorbells, injected with KVM_INTERRUPT between KVM_RUNs (no
// in-kernel irqchip: docs/design.md, "Interrupts", has the measurements).
// The protocol with the guest's handler is in lightvm/abi.h, "Interrupts".
#pragma once

#include <atomic>
#include <cstdint>

#include "common/result.hpp"
#include "kvm/kvm.hpp"
#include "lightvm/abi.h"
#include "memory/guest_memory.hpp"
#include "monitor/config.hpp"

namespace lightvm {

// Where the guest kernel keeps its interrupt code and state (KernelHeader).
struct IrqLayout {
    uint64_t entry = 0, tail = 0, tail_end = 0, stack_top = 0, state = 0;
};

struct IrqStats {
    uint64_t raised = 0;      // sources raised by the monitor (timer expiries, doorbells)
    uint64_t injected = 0;    // KVM_INTERRUPTs
    uint64_t restarted = 0;   // vCPU found in the handler's tail: restarted at its entry
    uint64_t windows = 0;     // waits for an interrupt window
    uint64_t timers_armed = 0;
    abi::IrqState guest{};    // the guest's counters at the end of the run
};

// What to do with sources waiting in IrqState.pending, given where the
// vCPU stopped. Pure, for unit tests.
enum class IrqAction {
    Nothing,  // the guest's handler is running and will take them
    Restart,  // stopped in the handler's tail: set busy, rip = entry
    Inject,   // KVM_INTERRUPT now
    Wait,     // guest cannot take one now: request an interrupt window
};
IrqAction irq_action(uint32_t busy, bool rip_known, uint64_t rip, const IrqLayout& layout, bool ready);

// What Interrupts needs of its vCPU: abstract, so unit tests and the
// hypercall fuzzer can drive delivery without KVM.
class IrqCpu {
public:
    virtual ~IrqCpu() = default;
    virtual Result<kvm::Regs> get_regs() = 0;
    virtual Result<void> set_regs(const kvm::Regs&) = 0;
    virtual bool interrupt_ready() = 0;
    virtual void request_interrupt_window(bool on) = 0;
    virtual Result<void> inject_interrupt(uint8_t vector) = 0;
    virtual void set_immediate_exit(bool on) = 0;  // async-signal-safe: the timer signal handler calls it
};

// Adapter for a real vCPU.
class VcpuIrq final : public IrqCpu {
public:
    explicit VcpuIrq(kvm::Vcpu& vcpu) : m_vcpu(vcpu) {}
    Result<kvm::Regs> get_regs() override { return m_vcpu.get_regs(); }
    Result<void> set_regs(const kvm::Regs& r) override { return m_vcpu.set_regs(r); }
    bool interrupt_ready() override { return m_vcpu.interrupt_ready(); }
    void request_interrupt_window(bool on) override { m_vcpu.request_interrupt_window(on); }
    Result<void> inject_interrupt(uint8_t vector) override { return m_vcpu.inject_interrupt(vector); }
    void set_immediate_exit(bool on) override { m_vcpu.set_immediate_exit(on); }

private:
    kvm::Vcpu& m_vcpu;
};

// One per vCPU, made and used on that vCPU's thread (its host timers signal
// that thread); raise_remote is the one call from other threads.
class Interrupts {
public:
    Interrupts(GuestMemory& mem, IrqCpu& vcpu, const IrqLayout& layout, const IrqTestConfig& test);
    ~Interrupts();
    Interrupts(const Interrupts&) = delete;
    Interrupts& operator=(const Interrupts&) = delete;

    // Starts the host timers the test configuration asks for.
    Result<void> start();
    // A source for the guest; delivered by the next before_run().
    void raise(abi::IrqSource source);
    // From another vCPU's thread (kCpuKick): sources for the next
    // before_run(); the caller then interrupts this vCPU's KVM_RUN.
    void raise_remote(uint64_t sources);
    // Async-signal-safe, from this thread's timer signal handler.
    void on_timer_signal(bool guest_timer);
    // kHcTimer: arm (or cancel) the one-shot guest timer.
    Result<void> hc_timer(uint64_t arg_gpa);
    // Before every KVM_RUN: fired host timers become sources; sources are
    // handed to the guest. `last` is the exit just handled.
    Result<void> before_run(const kvm::Exit& last);
    // Snapshots: the sources raised on the host but not yet handed to the
    // guest (a fired timer included), and the guest timer's CLOCK_MONOTONIC
    // deadline (0: not armed). restore() raises and re-arms them before the
    // restored guest's first run, and makes that run return before the
    // guest's first instruction, so that the next before_run() hands them
    // over as at the exit the save was taken at.
    uint64_t undelivered() const;
    // kHcSleep: true when the guest must not wait. It sleeps with
    // interrupts masked and runs what it deferred after the sleep, so a
    // source it has not taken, or one injected while it was masked (the
    // guest deferred it), would otherwise wait as long as the sleep.
    bool take_sleep_wake();
    uint64_t timer_deadline() const;
    Result<void> restore(uint64_t sources, uint64_t deadline_ns);
    // Guest CLOCK_MONOTONIC - host CLOCK_MONOTONIC (VmState::clock_offset_ns):
    // the guest's deadlines are its own clock's, the host timer's the host's.
    void set_clock_offset(int64_t ns) { m_clock_offset = ns; }
    int64_t clock_offset() const { return m_clock_offset; }
    // The guest's counters, read at the end of the run.
    const IrqStats& finish();

private:
    Result<void> deliver(const kvm::Exit& last);
    int arm_timer(uint64_t deadline_ns);  // 0 or -errno
    Result<void> rearm_doorbell();

    GuestMemory& m_mem;
    IrqCpu& m_vcpu;
    IrqLayout m_layout;
    IrqTestConfig m_test;
    uint64_t m_new = 0;        // raised since the last before_run
    bool m_undelivered = false;  // IrqState.pending may hold sources nobody was told about
    bool m_maybe_deferred = false;  // injected while the guest was masked, not unmasked since
    bool guest_masked() const;
    // Host timers (timer_t; 0 is a valid id, hence the flags).
    void* m_timer = nullptr;     // the guest's one-shot timer, created on first use
    void* m_doorbell_timer = nullptr;
    bool m_have_timer = false, m_have_doorbell_timer = false;
    uint64_t m_deadline = 0;  // the guest timer's armed deadline, 0 when cancelled or delivered
    int64_t m_clock_offset = 0;
    std::atomic<bool> m_timer_fired{false}, m_doorbell_fired{false};
    std::atomic<uint64_t> m_remote{0};
    uint64_t m_doorbell_delay = 0, m_doorbell_handled = 0;  // the test doorbell's backoff
    IrqStats m_stats;
};

}  // namespace lightvm

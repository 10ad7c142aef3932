#include "monitor/interrupts.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace lightvm {

namespace {

// Host timers signal the vCPU thread, whose handler makes KVM_RUN return:
// the expiry is then turned into a source before the next entry.
int irq_signal() {
    return SIGRTMIN + 3;
}
constexpr int kGuestTimer = 1, kDoorbellTimer = 2;
// Each vCPU thread's interrupts: the timers signal the thread that armed
// them (SIGEV_THREAD_ID), whose handler finds its own vCPU here.
thread_local Interrupts* t_irq = nullptr;

void on_irq_signal(int, siginfo_t* si, void*) {
    if (Interrupts* irq = t_irq)
        irq->on_timer_signal(si->si_value.sival_int == kGuestTimer);
}

Result<timer_t> create_timer(int which) {
    // SA_RESTART: a host read the monitor is blocked in continues; KVM_RUN
    // still returns (immediate_exit), which is all the signal is for.
    struct sigaction sa{};
    sa.sa_sigaction = on_irq_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(irq_signal(), &sa, nullptr) < 0)
        return sys_error("sigaction");
    sigevent ev{};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = irq_signal();
    ev.sigev_value.sival_int = which;
    ev._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
    timer_t t{};
    if (::timer_create(CLOCK_MONOTONIC, &ev, &t) < 0)
        return sys_error("timer_create");
    return t;
}

timespec to_timespec(uint64_t ns) {
    return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

// The host's CLOCK_MONOTONIC for a guest deadline; 0 stays 0 (cancel), and
// one that maps before the host's clock began fires at once.
uint64_t host_deadline(uint64_t guest_ns, int64_t offset) {
    if (guest_ns == 0)
        return 0;
    const int64_t host = static_cast<int64_t>(guest_ns - static_cast<uint64_t>(offset));
    return host > 0 ? static_cast<uint64_t>(host) : 1;
}

}  // namespace

IrqAction irq_action(uint32_t busy, bool rip_known, uint64_t rip, const IrqLayout& layout, bool ready) {
    if (busy)
        return IrqAction::Nothing;
    // busy == 0 in the tail: the IST frame is still live, an injection
    // would overwrite it. The sources are in pending: run the handler again.
    if (rip_known && rip >= layout.tail && rip < layout.tail_end)
        return IrqAction::Restart;
    return ready ? IrqAction::Inject : IrqAction::Wait;
}

Interrupts::Interrupts(GuestMemory& mem, IrqCpu& vcpu, const IrqLayout& layout, const IrqTestConfig& test)
    : m_mem(mem), m_vcpu(vcpu), m_layout(layout), m_test(test) {
    t_irq = this;
}

Interrupts::~Interrupts() {
    if (t_irq == this)
        t_irq = nullptr;
    if (m_have_timer)
        ::timer_delete(static_cast<timer_t>(m_timer));
    if (m_have_doorbell_timer)
        ::timer_delete(static_cast<timer_t>(m_doorbell_timer));
}

Result<void> Interrupts::start() {
    if (!m_test.doorbell_period_ns)
        return {};
    timer_t t = TRY(create_timer(kDoorbellTimer));
    m_doorbell_timer = t;
    m_have_doorbell_timer = true;
    // One-shot, re-armed when the doorbell is handed over (rearm_doorbell).
    itimerspec its{{0, 0}, to_timespec(m_test.doorbell_period_ns)};
    if (::timer_settime(t, 0, &its, nullptr) < 0)
        return sys_error("timer_settime");
    return {};
}

void Interrupts::raise(abi::IrqSource source) {
    m_new |= 1ull << source;
    m_stats.raised++;
}

void Interrupts::on_timer_signal(bool guest_timer) {
    (guest_timer ? m_timer_fired : m_doorbell_fired).store(true);
    m_vcpu.set_immediate_exit(true);
}

void Interrupts::raise_remote(uint64_t sources) {
    m_remote.fetch_or(sources & ((1ull << abi::kIrqSources) - 1));
}

int Interrupts::arm_timer(uint64_t deadline_ns) {
    // Created on first use: programs that never ask pay nothing at boot.
    if (!m_have_timer) {
        auto t = create_timer(kGuestTimer);
        if (!t)
            return -EAGAIN;
        m_timer = *t;
        m_have_timer = true;
    }
    itimerspec its{};
    its.it_value = to_timespec(host_deadline(deadline_ns, m_clock_offset));
    if (deadline_ns == 0)
        m_timer_fired = false;  // cancelled: an expiry not yet delivered goes too
    else
        m_stats.timers_armed++;
    // A deadline in the past fires at once (as timer_settime does).
    if (::timer_settime(static_cast<timer_t>(m_timer), TIMER_ABSTIME, &its, nullptr) < 0)
        return -errno;
    m_deadline = deadline_ns;
    return 0;
}

Result<void> Interrupts::hc_timer(uint64_t arg_gpa) {
    auto hc = TRY(m_mem.read<abi::HcTimer>(arg_gpa));
    hc.result = arm_timer(hc.deadline_ns);
    return m_mem.write(arg_gpa, hc);
}

// The test doorbell is one-shot, re-armed here. A guest that handled none
// since the last one gets twice the delay (up to 100 ms): on a loaded host
// a delivery can take longer than the period, and a fixed rate would then
// leave the guest no time to run at all (a livelock, seen with two such
// VMs on two busy cores).
Result<void> Interrupts::rearm_doorbell() {
    const uint64_t handled = TRY(m_mem.read<uint64_t>(m_layout.state + offsetof(abi::IrqState, handled) +
                                                      abi::kIrqDoorbell * sizeof(uint64_t)));
    const uint64_t period = m_test.doorbell_period_ns;
    m_doorbell_delay = handled != m_doorbell_handled || !m_doorbell_delay ? period
                                                                        : std::min<uint64_t>(m_doorbell_delay * 2, 100'000'000);
    m_doorbell_handled = handled;
    itimerspec its{{0, 0}, to_timespec(m_doorbell_delay)};
    if (::timer_settime(static_cast<timer_t>(m_doorbell_timer), 0, &its, nullptr) < 0)
        return sys_error("timer_settime");
    return {};
}

uint64_t Interrupts::undelivered() const {
    uint64_t sources = m_new;
    if (m_timer_fired)
        sources |= 1ull << abi::kIrqTimer;
    if (m_doorbell_fired)
        sources |= 1ull << abi::kIrqDoorbell;
    return sources | m_remote.load();
}

bool Interrupts::take_sleep_wake() {
    auto pending = m_mem.read<uint64_t>(m_layout.state + offsetof(abi::IrqState, pending));
    const bool wake = m_new || m_maybe_deferred || (pending && *pending);
    m_maybe_deferred = false;  // the guest unmasks after this sleep and runs them
    return wake;
}

bool Interrupts::guest_masked() const {
    auto depth = m_mem.read<uint32_t>(m_layout.state + offsetof(abi::IrqState, masked_depth));
    return depth && *depth;
}

uint64_t Interrupts::timer_deadline() const { return m_timer_fired ? 0 : m_deadline; }

Result<void> Interrupts::restore(uint64_t sources, uint64_t deadline_ns) {
    m_new |= sources;
    // The snapshot's IrqState.pending may hold sources nobody was told about.
    m_undelivered = true;
    // The save was taken right after an Interrupted exit, before this
    // vCPU's sources were handed over; the run loops hand them over only
    // after an exit. So the first KVM_RUN returns at once (before any guest
    // instruction) and the loop resumes where the save left it. Without
    // that exit, a guest computing at CPL3 with no host timer armed (its
    // expiry is among these sources) never exits: the restored VM hung
    // (docs/design.md, "Snapshots"). KVM also writes kvm_run's readiness
    // fields only at an exit: before it they say nothing of this state.
    m_vcpu.set_immediate_exit(true);
    if (deadline_ns) {
        int r = arm_timer(deadline_ns);
        if (r < 0)
            return sys_error("timer_settime (restored guest timer)", -r);
    }
    return {};
}

Result<void> Interrupts::before_run(const kvm::Exit& last) {
    if (m_maybe_deferred && !guest_masked())
        m_maybe_deferred = false;  // unmasked since: what it deferred has run
    if (m_timer_fired.exchange(false)) {
        m_deadline = 0;
        raise(abi::kIrqTimer);
    }
    if (m_doorbell_fired.exchange(false)) {
        raise(abi::kIrqDoorbell);
        TRY(rearm_doorbell());
    }
    if (const uint64_t remote = m_remote.exchange(0)) {  // another vCPU's kCpuKick
        m_new |= remote;
        m_stats.raised++;
    }
    if (m_test.doorbell_on_exit && last.kind == kvm::ExitKind::Io)
        raise(abi::kIrqDoorbell);
    if (!m_new && !m_undelivered)
        return {};
    return deliver(last);
}

Result<void> Interrupts::deliver(const kvm::Exit& last) {
    const uint64_t pending_gpa = m_layout.state + offsetof(abi::IrqState, pending);
    const uint64_t busy_gpa = m_layout.state + offsetof(abi::IrqState, busy);
    uint64_t pending = TRY(m_mem.read<uint64_t>(pending_gpa)) | m_new;
    m_new = 0;
    m_undelivered = false;
    m_vcpu.request_interrupt_window(false);
    if (!pending)
        return {};
    TRY(m_mem.write<uint64_t>(pending_gpa, pending));
    uint32_t busy = TRY(m_mem.read<uint32_t>(busy_gpa));
    // At a hypercall the vCPU stopped at an `out`, never in the handler's
    // tail; only asynchronous stops need the registers.
    kvm::Regs regs{};
    bool rip_known = false;
    if (!busy && last.kind != kvm::ExitKind::Io) {
        regs = TRY(m_vcpu.get_regs());
        rip_known = true;
    }
    switch (irq_action(busy, rip_known, regs.rip, m_layout, m_vcpu.interrupt_ready())) {
    case IrqAction::Nothing:
        return {};
    case IrqAction::Restart:
        m_stats.restarted++;
        regs.rip = m_layout.entry;
        TRY(m_mem.write<uint32_t>(busy_gpa, 1));
        return m_vcpu.set_regs(regs);
    case IrqAction::Wait:
        m_stats.windows++;
        m_undelivered = true;
        m_vcpu.request_interrupt_window(true);
        return {};
    case IrqAction::Inject:
        break;
    }
    unsigned source = static_cast<unsigned>(__builtin_ctzll(pending));
    TRY(m_mem.write<uint32_t>(busy_gpa, 1));
    TRY(m_vcpu.inject_interrupt(static_cast<uint8_t>(abi::kIrqVectorBase + (source < abi::kIrqSources ? source : 0))));
    m_stats.injected++;
    if (guest_masked())
        m_maybe_deferred = true;
    return {};
}

const IrqStats& Interrupts::finish() {
    if (auto s = m_mem.read<abi::IrqState>(m_layout.state))
        m_stats.guest = *s;
    return m_stats;
}

}  // namespace lightvm

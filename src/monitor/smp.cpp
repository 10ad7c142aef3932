#include "monitor/smp.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "x86/cpuid.hpp"

namespace lightvm {

struct Smp::Cpu {
    uint32_t index = 0;
    kvm::Vcpu own;             // a started vCPU's
    kvm::Vcpu* vcpu = nullptr;  // own, or vCPU 0's
    std::optional<VcpuAccess> access;
    IrqLayout layout;
    // Its thread's interrupts (null until the thread made them, and after);
    // read and changed only under exits().
    Interrupts* irq = nullptr;
    uint64_t early_sources = 0;  // raised before irq existed
    UniqueFd wake;               // eventfd: a kick ends its sleep
    std::atomic<bool> kicked{false};
    std::atomic<bool> tlb{false};  // kCpuTlb posted: serve_tlb before it runs again
    uint64_t irq_state = 0;        // gpa of its IrqState
    pthread_t thread{};
    std::thread t;
    ExitStats exits;
    // Under exits(): where it is for quiesce() (parked at a safe point, in
    // its idle sleep, or out of its loop for good).
    bool parked = false, idle = false, held = false, gone = false;
    // Made by restore_cpu(): its interrupts come back on its own thread
    // (host timers signal the thread that made them).
    bool restored = false;
    uint64_t restored_sources = 0, restored_deadline = 0;
};

namespace {

UniqueFd make_wake_fd() { return UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)); }

timespec to_timespec(uint64_t ns) {
    constexpr uint64_t kMaxSeconds = uint64_t(INT64_MAX) / 2;
    const uint64_t sec = ns / 1000000000;
    return timespec{static_cast<time_t>(sec > kMaxSeconds ? kMaxSeconds : sec), static_cast<long>(ns % 1000000000)};
}

}  // namespace

Smp::Smp(kvm::Vm& vm, GuestMemory& mem, const GuestImage& image, bool fsgsbase, uint32_t cpus, Devices cpu0,
         Interrupts& irq0, kvm::Vcpu& vcpu0, Outcome& outcome, int kick_signal)
    : m_vm(vm), m_mem(mem), m_image(image), m_fsgsbase(fsgsbase), m_cpus(cpus), m_dev0(cpu0), m_outcome(outcome),
      m_kick_signal(kick_signal) {
    m_dev0.smp = this;
    auto c = std::make_unique<Cpu>();
    c->vcpu = &vcpu0;
    c->irq = &irq0;
    c->wake = make_wake_fd();
    c->thread = ::pthread_self();
    c->irq_state = image.irq.state;
    m_cpu[0] = std::move(c);
}

Smp::~Smp() { join(); }

Result<void> Smp::hypercall(uint32_t from, uint64_t arg_gpa) {
    auto hc = TRY(m_mem.read<abi::HcCpu>(arg_gpa));
    hc.result = 0;
    if (hc.op == abi::kCpuStart) {
        if (hc.cpu == 0 || hc.cpu >= m_cpus || hc.cpu >= m_image.max_cpus || m_cpu[hc.cpu])
            hc.result = -EINVAL;
        else if (auto r = start(hc.cpu); !r) {
            if (r.error().kind == ErrorKind::GuestFault)
                return tl::unexpected(r.error());
            hc.result = -EAGAIN;  // the host could not make it: the guest carries on with fewer
        }
    } else if (hc.op == abi::kCpuYield) {
        m_exits.unlock();
        ::sched_yield();
        m_exits.lock();
    } else if (hc.op == abi::kCpuTlb) {
        if (hc.cpu >= m_cpus || !m_cpu[hc.cpu] || hc.cpu == from) {
            hc.result = -EINVAL;
        } else {
            Cpu& c = *m_cpu[hc.cpu];
            c.tlb = true;
            // A vCPU asleep in sleep() wakes on its eventfd: the signal
            // alone is lost when it lands just before ppoll, and the asker
            // waits for the flush holding the kernel lock.
            const uint64_t one = 1;
            (void)!::write(c.wake.get(), &one, sizeof one);
            c.vcpu->set_immediate_exit(true);
            ::pthread_kill(c.thread, m_kick_signal);
        }
    } else if (hc.op == abi::kCpuKick) {
        if (hc.cpu >= m_cpus || !m_cpu[hc.cpu])
            hc.result = -EINVAL;
        else
            kick(hc.cpu, hc.sources);
    } else {
        hc.result = -EINVAL;
    }
    return m_mem.write(arg_gpa, hc);
}

Result<void> Smp::start(uint32_t k) {
    const abi::CpuEntries e = TRY(read_cpu_entries(m_mem, m_image, k));
    TRY(write_cpu_tables(m_mem, m_image, k, e));
    auto c = std::make_unique<Cpu>();
    c->index = k;
    c->own = TRY(m_vm.create_vcpu(k));
    c->vcpu = &c->own;
    TRY(c->own.set_cpuid(std::span<const kvm::CpuidEntry>(x86::guest_cpuid())));
    TRY(init_vcpu_state(c->own, m_image, m_fsgsbase, VcpuStart{k, e.syscall_entry, m_image.ap_entry, k, e.boot_stack_top}));
    c->layout = IrqLayout{e.irq_entry, e.irq_tail, e.irq_tail_end, e.irq_stack_top, e.irq_state};
    c->irq_state = e.irq_state;
    return launch(std::move(c));
}

// A made vCPU gets its thread (exits() held).
Result<void> Smp::launch(std::unique_ptr<Cpu> c) {
    const uint32_t k = c->index;
    c->access.emplace(c->own);
    c->wake = make_wake_fd();
    if (!c->wake.valid())
        return sys_error("eventfd");
    if (m_pause)  // started while a save waits (another vCPU's kCpuStart): it parks at once
        c->own.set_immediate_exit(true);
    Cpu& cpu = *c;
    m_cpu[k] = std::move(c);
    try {
        cpu.t = std::thread(&Smp::run_ap, this, k);
    } catch (const std::system_error& err) {
        m_cpu[k].reset();
        return make_error(ErrorKind::System, "vCPU thread", err.what());
    }
    cpu.thread = cpu.t.native_handle();  // before anyone can kick it: they hold exits(), as we do
    m_started++;
    return {};
}

bool Smp::all_safe() const {
    for (uint32_t k = 1; k < abi::kMaxCpus; ++k)
        if (const Cpu* c = m_cpu[k].get(); c && !c->parked && !c->idle && !c->held && !c->gone)
            return false;
    return true;
}

void Smp::wait_while_paused(std::unique_lock<std::mutex>& lock) {
    m_safe.notify_all();
    // A bounded wait: finish() may set m_done without the lock.
    while (m_pause && !m_done)
        m_resumed.wait_for(lock, std::chrono::milliseconds(50));
}

Result<void> Smp::quiesce(std::unique_lock<std::mutex>& lock) {
    lock.lock();
    m_pause = true;
    // Out of KVM_RUN: the next return is an Interrupted exit, after which
    // the vCPU parks (ap_loop). One asleep stays asleep: the signal would
    // cut its sleep short for nothing.
    for (uint32_t k = 1; k < abi::kMaxCpus; ++k) {
        Cpu* c = m_cpu[k].get();
        if (!c || c->idle || c->held || c->gone)
            continue;
        c->vcpu->set_immediate_exit(true);
        ::pthread_kill(c->thread, m_kick_signal);
    }
    while (!m_done && !all_safe())
        m_safe.wait_for(lock, std::chrono::milliseconds(50));
    if (m_done) {
        resume(lock);
        return make_error(ErrorKind::BadInput, "snapshot", "the guest ended while its vCPUs were being stopped");
    }
    return {};
}

void Smp::hold_for_save(Cpu& c, std::unique_lock<std::mutex>& lock) {
    m_ready_pending = true;
    c.held = true;
    m_safe.notify_all();
    // vCPU 0 out of KVM_RUN or its idle sleep: it saves at its next
    // Interrupted exit (vm_run.cpp).
    Cpu& c0 = *m_cpu[0];
    const uint64_t one = 1;
    (void)!::write(c0.wake.get(), &one, sizeof one);
    c0.vcpu->set_immediate_exit(true);
    ::pthread_kill(c0.thread, m_kick_signal);
    while (m_ready_pending && !m_done)
        m_resumed.wait_for(lock, std::chrono::milliseconds(50));
    c.held = false;
}

void Smp::ready_done() {
    std::lock_guard lock(m_exits);
    m_ready_pending = false;
    m_resumed.notify_all();
}

void Smp::resume(std::unique_lock<std::mutex>& lock) {
    m_pause = false;
    m_resumed.notify_all();
    lock.unlock();
}

std::vector<std::pair<kvm::Vcpu*, SmpCpuState>> Smp::quiesced_cpus() {
    std::vector<std::pair<kvm::Vcpu*, SmpCpuState>> out;
    for (uint32_t k = 1; k < abi::kMaxCpus; ++k) {
        Cpu* c = m_cpu[k].get();
        if (!c || c->gone)
            continue;
        SmpCpuState st;
        st.index = k;
        st.layout = c->layout;
        st.irq_pending = c->early_sources | (c->irq ? c->irq->undelivered() : 0);
        st.timer_deadline_ns = c->irq ? c->irq->timer_deadline() : 0;
        st.kicked = c->kicked;
        st.tlb = c->tlb;
        st.idle = c->idle;
        out.emplace_back(c->vcpu, st);
    }
    return out;
}

SmpCpuState Smp::cpu0_state() {
    SmpCpuState st;
    st.kicked = m_cpu[0]->kicked;
    st.tlb = m_cpu[0]->tlb;
    return st;
}

Result<void> Smp::restore_cpu(const SmpCpuState& st, kvm::Vcpu made) {
    std::lock_guard lock(m_exits);
    const uint32_t k = st.index;
    if (k >= m_cpus || k >= abi::kMaxCpus || (k && m_cpu[k]))
        return make_error(ErrorKind::BadInput, "snapshot", "vCPU " + std::to_string(k) + " beyond the VM's " +
                                                               std::to_string(m_cpus) + " or restored twice");
    if (k == 0) {
        m_cpu[0]->kicked = st.kicked;
        m_cpu[0]->tlb = st.tlb;
        if (st.tlb)  // served before vCPU 0 runs guest code again
            m_cpu[0]->vcpu->set_immediate_exit(true);
        return {};
    }
    auto c = std::make_unique<Cpu>();
    c->index = k;
    c->own = std::move(made);
    c->vcpu = &c->own;
    c->layout = st.layout;
    c->irq_state = st.layout.state;
    c->kicked = st.kicked;
    c->tlb = st.tlb;
    if (st.tlb)
        c->own.set_immediate_exit(true);
    c->restored = true;
    c->restored_sources = st.irq_pending;
    c->restored_deadline = st.timer_deadline_ns;
    return launch(std::move(c));
}

void Smp::kick(uint32_t k, uint64_t sources) {
    Cpu& c = *m_cpu[k];
    if (sources) {
        if (c.irq)
            c.irq->raise_remote(sources);
        else
            c.early_sources |= sources;
    }
    c.kicked = true;
    const uint64_t one = 1;
    (void)!::write(c.wake.get(), &one, sizeof one);
    if (sources) {  // out of KVM_RUN, so that its loop delivers them
        c.vcpu->set_immediate_exit(true);
        ::pthread_kill(c.thread, m_kick_signal);
    }
}

Result<void> Smp::sleep(uint32_t from, uint64_t arg_gpa) {
    auto hc = TRY(m_mem.read<abi::HcSleep>(arg_gpa));
    Cpu& c = *m_cpu[from];
    hc.result = 0;
    if (!c.kicked.exchange(false) && !c.tlb && !m_done) {  // a TLB request is served on the way back
        const timespec ts = to_timespec(hc.nanoseconds);
        pollfd p{c.wake.get(), POLLIN, 0};
        c.idle = true;  // a safe point for quiesce(): the `out` is replayed at a restore
        m_safe.notify_all();
        m_exits.unlock();  // other vCPUs' exits go on while this one sleeps
        const int n = ::ppoll(&p, 1, &ts, nullptr);
        const int err = errno;
        std::unique_lock lock(m_exits);
        if (m_pause)  // counted as asleep by a save in progress: it stays so
            wait_while_paused(lock);
        lock.release();
        c.idle = false;
        c.kicked = false;
        if (n < 0)
            hc.result = -err;  // a timeout or Ctrl-C: the run loop stops
    }
    uint64_t count;
    (void)!::read(c.wake.get(), &count, sizeof count);  // drained: the next sleep waits again
    return m_mem.write(arg_gpa, hc);
}

Result<void> Smp::serve_tlb(uint32_t k) {
    Cpu& c = *m_cpu[k];
    if (!c.tlb.exchange(false))
        return {};
    const uint64_t at = c.irq_state + offsetof(abi::IrqState, tlb_request);
    const uint32_t req = TRY(m_mem.read<uint32_t>(at));
    if (req == abi::kTlbReload || req == abi::kTlbLeave) {
        kvm::Sregs sregs = TRY(c.vcpu->get_sregs());
        if (req == abi::kTlbLeave)
            sregs.cr3 = m_image.cr3;  // the kernel's tables: the program's are being freed
        TRY(c.vcpu->set_sregs(sregs));  // a CR3 load: the TLB is flushed
    }
    return m_mem.write<uint32_t>(at, 0);
}

void Smp::finish() {
    m_done = true;
    m_safe.notify_all();
    m_resumed.notify_all();
    for (auto& c : m_cpu) {
        if (!c)
            continue;
        c->kicked = true;
        const uint64_t one = 1;
        (void)!::write(c->wake.get(), &one, sizeof one);
        c->vcpu->set_immediate_exit(true);
        ::pthread_kill(c->thread, m_kick_signal);
    }
}

void Smp::join() {
    if (!m_started)
        return;
    finish();
    for (uint32_t k = 1; k < abi::kMaxCpus; ++k) {
        if (!m_cpu[k] || !m_cpu[k]->t.joinable())
            continue;
        m_cpu[k]->t.join();
        m_ap_exits += m_cpu[k]->exits;
    }
}

void Smp::run_ap(uint32_t k) {
    Cpu& c = *m_cpu[k];
    VcpuIrq irq_cpu(*c.vcpu);
    Interrupts irq(m_mem, irq_cpu, c.layout, IrqTestConfig{});
    irq.set_clock_offset(m_cpu[0]->irq->clock_offset());  // one guest clock for every vCPU
    Result<void> r;
    {
        std::lock_guard lock(m_exits);
        c.irq = &irq;
        if (c.early_sources)
            irq.raise_remote(std::exchange(c.early_sources, 0));
        if (c.restored)
            r = irq.restore(c.restored_sources, c.restored_deadline);
    }
    if (r)
        r = ap_loop(c);
    std::lock_guard lock(m_exits);
    c.irq = nullptr;
    c.gone = true;
    m_safe.notify_all();
    if (!r && !m_error)
        m_error = r.error();  // a host failure: the VM ends with it
    if (!r)
        finish();
}

Result<void> Smp::ap_loop(Cpu& c) {
    Devices d = devices_for_vcpu(m_dev0, *c.access, c.irq, c.index);
    d.smp = this;
    while (!m_done) {
        const kvm::Exit exit = TRY(c.vcpu->run());
        // At once: a kick after this point makes the next KVM_RUN return
        // again, so none is lost between here and the flags checked below.
        if (exit.kind == kvm::ExitKind::Interrupted)
            c.vcpu->set_immediate_exit(false);
        {
            std::lock_guard lock(m_exits);
            if (m_done)
                break;
            auto handled = handle_exit(d, exit, m_outcome, c.exits);
            if (!handled) {
                if (handled.error().kind != ErrorKind::GuestFault)
                    return tl::unexpected(handled.error());
                m_outcome.killed(SIGKILL, "guest stopped: " + handled.error().to_string());
            }
            if (m_outcome.finished) {
                finish();
                break;
            }
        }
        if (std::exchange(d.ready_marked, false) && m_hold_ready) {
            std::unique_lock lock(m_exits);
            hold_for_save(c, lock);
            if (m_done)
                break;
        }
        {
            std::unique_lock lock(m_exits);
            TRY(serve_tlb(c.index));
            // A save in progress (quiesce): this is the safe point, the
            // exit handled and nothing yet handed to the guest.
            if (exit.kind == kvm::ExitKind::Interrupted && m_pause) {
                c.parked = true;
                wait_while_paused(lock);
                c.parked = false;
            }
        }
        TRY(c.irq->before_run(exit));
    }
    return {};
}

}  // namespace lightvm

#include "monitor/smp.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

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
    c->access.emplace(c->own);
    c->wake = make_wake_fd();
    if (!c->wake.valid())
        return sys_error("eventfd");
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
        m_exits.unlock();  // other vCPUs' exits go on while this one sleeps
        const int n = ::ppoll(&p, 1, &ts, nullptr);
        const int err = errno;
        m_exits.lock();
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
    {
        std::lock_guard lock(m_exits);
        c.irq = &irq;
        if (c.early_sources)
            irq.raise_remote(std::exchange(c.early_sources, 0));
    }
    auto r = ap_loop(c);
    std::lock_guard lock(m_exits);
    c.irq = nullptr;
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
        {
            std::lock_guard lock(m_exits);
            TRY(serve_tlb(c.index));
        }
        TRY(c.irq->before_run(exit));
    }
    return {};
}

}  // namespace lightvm

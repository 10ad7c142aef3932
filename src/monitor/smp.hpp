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
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/unique_fd.hpp"
#include "monitor/exit_handler.hpp"
#include "monitor/interrupts.hpp"
#include "monitor/layout.hpp"

namespace lightvm {

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

private:
    struct Cpu;
    Result<void> start(uint32_t k);
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
    std::atomic<bool> m_done{false};
    std::atomic<uint32_t> m_started{0};
    std::array<std::unique_ptr<Cpu>, abi::kMaxCpus> m_cpu;
    ExitStats m_ap_exits;
    std::optional<Error> m_error;
};

}  // namespace lightvm

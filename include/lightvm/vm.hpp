// lightvm's embedding API: one micro-VM, built in phases that a pool can
// hold apart. `lightvm run`, the guest tests and lightvmd's monitors all go
// through these calls; nothing else creates or loads a VM.
//
//   auto work = TRY(lightvm::Workload::prepare(config)); // no KVM: APP checked, --fs/--disk opened
//   auto vm   = TRY(lightvm::Vm::create({config.mem_size}));  // shell: KVM VM, vCPU, RAM,
//                                                         //   x86 state, guest kernel (booted
//                                                         //   too with ShellOptions::boot_kernel)
//   TRY(vm.load(std::move(work)));                        // app, argv/env, devices, boot page
//   ... confine the process here (seccomp): everything is open ...
//   RunReport r = TRY(vm.run());                          // until exit/fault/timeout/stop
//   // ~Vm tears the VM down (vm.leave_teardown_to_exit(): leave it to process exit)
//
// Rules:
// - A shell is created for one workload and never reused: load() on a Vm
//   that was already loaded fails. docs/design.md ("Shells: always fresh")
//   gives the measurement behind that decision.
// - One Vm runs at a time per process: request_stop() (monitor/vm.hpp) and
//   the --timeout timer are process-wide, as is KVM's signal kick.
// - Config types: VmConfig (monitor/config.hpp), RunReport
//   (monitor/run_report.hpp), Result (common/result.hpp): link lightvm_core.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.hpp"
#include "monitor/config.hpp"
#include "monitor/run_report.hpp"

namespace lightvm {

// What a shell is made for: a pool keeps shells per shape.
struct VmShape {
    uint64_t mem_size = 256ull << 20;  // rounded up to 2 MiB like VmConfig
    uint32_t vcpus = 1;                // only 1 today
};

// How a shell is made.
struct ShellOptions {
    // Boot the guest kernel now, up to where it needs its workload (one
    // exit, ~1 ms of guest time); load() writes the workload and run()
    // resumes it, so the boot is off the start path. Such a shell cannot
    // take a snapshot restore (its kernel already runs).
    bool boot_kernel = false;
    // With boot_kernel: host pages backed now where the guest's frames go
    // next, so its first touches there cost no host page fault.
    uint64_t prefault_bytes = 0;
};

struct WorkloadState;
struct VmState;

// Phase 0, no KVM: the app parsed and checked against the layout, the
// host resources named by the config (--fs shares, --disk files) opened
// and locked. Bad input fails here, the same way on hosts without KVM.
class Workload {
public:
    static Result<Workload> prepare(VmConfig config);
    Workload(Workload&&) noexcept;
    Workload& operator=(Workload&&) noexcept;
    ~Workload();
    const VmConfig& config() const;
    VmShape shape() const;

private:
    Workload();
    friend class Vm;
    std::unique_ptr<WorkloadState> m;
};

class ExecChannel;

class Vm {
public:
    // Phase 1, the shell: nothing app-specific.
    static Result<Vm> create(const VmShape& shape, const ShellOptions& options = {});
    // Phase 2: load the workload (shape must match: same memory size).
    Result<void> load(Workload work);
    // Phase 3: run the vCPU until the guest exits, faults, times out or is
    // stopped. Once per Vm.
    Result<RunReport> run();

    // Milestones in the report are relative to this CLOCK_MONOTONIC time.
    void set_time_base(uint64_t monotonic_ns);
    // Skip the teardown in ~Vm (KVM fds and guest RAM stay until the
    // process exits): takes 0.3-3 ms off a CLI's exit path.
    void leave_teardown_to_exit();
    // lightvm-oci exec: new processes in the running guest come through
    // this channel (monitor/exec_channel.hpp; borrowed, outlives run()).
    void set_exec_channel(ExecChannel* channel);

    const VmShape& shape() const;
    bool loaded() const;
    bool booted() const;  // made with ShellOptions::boot_kernel
    // The host directories the loaded workload's shares serve (borrowed
    // O_PATH fds): a sandbox confines the process's file access to them.
    struct ShareRoot {
        int fd;
        bool read_only;
        bool mapped;  // ownership kept in attributes: the host's owners never change
    };
    std::vector<ShareRoot> share_roots() const;
    // The loaded workload's sockets are host sockets (--net user|host|ns,
    // also a restored --net user snapshot): its sandbox must allow them.
    bool host_network() const;

    Vm(Vm&&) noexcept;
    Vm& operator=(Vm&&) noexcept;
    ~Vm();

private:
    Vm();
    std::unique_ptr<VmState> m;
};

// CLOCK_MONOTONIC in nanoseconds (the clock of every milestone).
uint64_t monotonic_ns();

}  // namespace lightvm

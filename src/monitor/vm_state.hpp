// The private state behind lightvm::Workload and lightvm::Vm
// (include/lightvm/vm.hpp), shared by the files that implement the phases:
// workload.cpp (prepare), shell.cpp (create, load), vm_run.cpp (run).
#pragma once

#include <optional>
#include <vector>

#include "devices/block.hpp"
#include "devices/console.hpp"
#include "devices/device.hpp"
#include "devices/fs.hpp"
#include "devices/net.hpp"
#include "devices/ram.hpp"
#include "devices/system.hpp"
#include "kvm/kvm.hpp"
#include "lightvm/vm.hpp"
#include "monitor/layout.hpp"
#include "snapshot/format.hpp"
#include "snapshot/working_set.hpp"

namespace lightvm {

struct WorkloadState {
    VmConfig config;
    MappedFile file;
    loader::ElfImage app;
    HostInfo host;
    std::optional<FsDevice> fs;
    std::vector<BlockDevice> disks;
    std::optional<NetDevice> net;  // -p listeners are opened (bound) in prepare
    uint64_t started_ns = 0;  // CLOCK_MONOTONIC, prepare() entered
    uint64_t checked_ns = 0;  // app checked, devices open
    // --restore: the decoded state file and its memory file (prepare_restore).
    std::optional<snapshot::Snapshot> restore;
    UniqueFd restore_mem;
    // --prefault with a PATH.ws: only these pages are backed before the
    // first instruction. --record-working-set: /proc/self/pagemap, opened
    // before the sandbox.
    std::optional<std::vector<snapshot::WsRange>> working_set;
    UniqueFd pagemap;
};

// Lives on the heap and never moves: RamDevice and the devices hold
// references into it.
struct VmState {
    enum class Phase { Shell, Loaded, Ran };
    Phase phase = Phase::Shell;
    VmShape shape;
    kvm::System sys;
    kvm::Vm vm;
    GuestMemory mem;
    kvm::Vcpu vcpu;
    std::optional<RamDevice> ram;
    GuestImage image;
    uint32_t tsc_khz = 0;
    bool fsgsbase = false;
    bool leave_teardown = false;
    bool booted = false;  // the kernel booted and waits in kHcPark (ShellOptions::boot_kernel)
    bool log_dirty = false;  // a live migration runs: new memslots log dirty pages too

    // From load() on.
    std::unique_ptr<WorkloadState> work;
    ClockReference clock;
    std::optional<Console> console;
    std::optional<SystemDevice> system;
    std::optional<VcpuAccess> cpu;
    bool restored = false;  // guest RAM is a private mapping of a snapshot's memory file
    // Guest CLOCK_MONOTONIC - host CLOCK_MONOTONIC: 0 for a booted guest,
    // set by a restore (monitor/vm_clock.hpp).
    int64_t clock_offset_ns = 0;
    // A restore of several vCPUs: the others (snapshot vcpus[1..]), made and
    // loaded before the sandbox, which allows no XSAVE or event writes;
    // Smp takes them at the start of the run.
    std::vector<kvm::Vcpu> restored_vcpus;
    ExecChannel* exec = nullptr;  // lightvm-oci exec (Vm::set_exec_channel)

    // Milestones, CLOCK_MONOTONIC ns (0: not reached).
    uint64_t time_base = 0;
    uint64_t created_ns = 0, kvm_vm_ns = 0, vm_created_ns = 0, image_ready_ns = 0;
};

}  // namespace lightvm

// The vCPU exit handler: a free function over (devices, exit), so unit
// tests can feed it made-up exits without KVM.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "devices/console.hpp"
#include "devices/system.hpp"
#include "kvm/kvm.hpp"
#include "lightvm/abi.h"

namespace lightvm {

struct ExitStats {
    uint64_t total = 0;
    std::array<uint64_t, abi::kHcCount> hypercalls{};
    uint64_t faults = 0;
    uint64_t interrupted = 0;
    uint64_t irq_window = 0;  // the guest became able to take an interrupt
    uint64_t other = 0;

    ExitStats& operator+=(const ExitStats& x) {
        total += x.total;
        for (size_t i = 0; i < hypercalls.size(); ++i)
            hypercalls[i] += x.hypercalls[i];
        faults += x.faults;
        interrupted += x.interrupted;
        irq_window += x.irq_window;
        other += x.other;
        return *this;
    }
};

class FsDevice;
class BlockDevice;
class RamDevice;
class Interrupts;
class NetDevice;
class ExecChannel;

// Several vCPUs (monitor/smp.hpp implements it): kHcCpu, and kHcSleep
// waiting without the exit lock for a deadline or a kick.
class VcpuHub {
public:
    virtual ~VcpuHub() = default;
    virtual Result<void> hypercall(uint32_t from, uint64_t arg_gpa) = 0;
    virtual Result<void> sleep(uint32_t from, uint64_t arg_gpa) = 0;
};

struct Devices {
    GuestMemory& mem;
    Console& console;
    SystemDevice& system;
    CpuAccess& cpu;
    FsDevice* fs = nullptr;                    // when the VM has --fs/--rootfs shares
    std::vector<BlockDevice>* disks = nullptr;  // --disk, in BootInfo.devices order
    RamDevice* ram = nullptr;                   // lazily registered RAM (kHcMemGrow)
    Interrupts* irq = nullptr;                  // guest timer (kHcTimer) and doorbells
    NetDevice* net = nullptr;                   // sockets (kHcNet)
    VcpuHub* smp = nullptr;                     // --cpus > 1: kHcCpu, and kHcSleep without the exit lock
    ExecChannel* exec = nullptr;                // lightvm-oci exec: kHcExec (monitor/exec_channel.hpp)
    uint32_t vcpu_index = 0;                    // which vCPU's exit this is (cpu, irq are its own)
    bool ready_marked = false;                  // kHcReady came: the run loop takes it (vCPU 0's only)
};

// The same devices seen from another vCPU: its registers and interrupts.
inline Devices devices_for_vcpu(const Devices& d, CpuAccess& cpu, Interrupts* irq, uint32_t index) {
    Devices out{d.mem, d.console, d.system, cpu, d.fs, d.disks, d.ram, irq};
    out.net = d.net;
    out.smp = d.smp;
    out.exec = d.exec;
    out.vcpu_index = index;
    return out;
}

// Handles one exit. An error means the guest broke the rules (or the host
// failed): the VM must stop and the error is reported in one line.
Result<void> handle_exit(Devices& devices, const kvm::Exit& exit, Outcome& outcome, ExitStats& stats);

const char* hypercall_name(unsigned nr);

}  // namespace lightvm

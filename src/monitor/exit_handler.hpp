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
};

class FsDevice;
class BlockDevice;
class RamDevice;
class Interrupts;
class NetDevice;

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
};

// Handles one exit. An error means the guest broke the rules (or the host
// failed): the VM must stop and the error is reported in one line.
Result<void> handle_exit(Devices& devices, const kvm::Exit& exit, Outcome& outcome, ExitStats& stats);

const char* hypercall_name(unsigned nr);

}  // namespace lightvm

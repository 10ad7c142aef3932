// What a finished VM reports: its outcome and the boot milestones.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "monitor/exit_handler.hpp"
#include "monitor/interrupts.hpp"

namespace lightvm {

struct RunStats {
    ExitStats exits;
    // Nanoseconds since the time base: run_vm()'s entry, or for the phase
    // API the earlier of Workload::prepare and Vm::create (Vm::set_time_base
    // overrides it, e.g. with the moment a request arrived).
    uint64_t prepare_ns = 0;       // Workload::prepare entered (a pooled start: the monitor has the request)
    uint64_t app_checked_ns = 0;   // APP mapped and validated, devices opened
    uint64_t kvm_vm_ns = 0;        // KVM_CREATE_VM returned
    uint64_t vm_created_ns = 0;    // KVM VM + vCPU + memory exist
    uint64_t image_ready_ns = 0;   // guest image and registers written
    uint64_t kernel_entry_ns = 0;  // guest kernel's first instruction (from the guest's TSC)
    uint64_t app_entry_ns = 0;     // jump to the application's entry point
    uint64_t finished_ns = 0;      // guest done, output drained
    uint64_t guest_syscalls = 0;   // handled inside the guest, no exit
    uint64_t memory_touched = 0;   // bytes of guest RAM resident on the host
    uint64_t memory_size = 0;
    uint32_t vcpus_started = 1;    // vCPU 0 and those the guest started (--cpus)
    IrqStats irq;                  // interrupts raised, injected, and the guest's counters
    std::array<uint64_t, 33> fs_requests{};  // share requests by FsOp (abi.h), batched ones included
    struct Unimplemented {
        uint32_t nr;
        uint64_t count;
    };
    std::vector<Unimplemented> unimplemented;  // system calls the guest answered ENOSYS
    uint64_t unimplemented_dropped = 0;        // calls to numbers beyond the list's room
};

struct RunReport {
    Outcome outcome;
    bool timed_out = false;
    int stopped_by = 0;  // host signal that stopped the VM (SIGINT/SIGTERM), or 0
    bool saved = false;         // --save: the VM was saved (and, with stop, ended there)
    uint64_t save_ns = 0;       // how long the save took (VM paused)
    uint64_t saved_bytes = 0;   // guest memory written to the memory file
    RunStats stats;
};

}  // namespace lightvm

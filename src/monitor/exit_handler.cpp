#include "monitor/exit_handler.hpp"

#include "monitor/exec_channel.hpp"

#include <cerrno>
#include <cinttypes>

#include "devices/block.hpp"
#include "devices/fs.hpp"
#include "devices/net.hpp"
#include "devices/ram.hpp"
#include "monitor/interrupts.hpp"
#include <cstdio>
#include <iterator>

namespace lightvm {

namespace {

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

Result<void> hostile(const std::string& what) {
    return make_error(ErrorKind::GuestFault, "", what);  // reported as "guest stopped: <what>"
}

// kHcCpu in a VM that runs one vCPU: -ENODEV, for good. A guest may ask
// legitimately: one restored from a snapshot of a VM allowed several vCPUs
// (it started only one, or it could not have been saved) believes it may
// start more; the guest then stops asking.
Result<void> no_other_vcpus(GuestMemory& mem, uint64_t arg) {
    auto hc = TRY(mem.read<abi::HcCpu>(arg));
    hc.result = -ENODEV;
    return mem.write(arg, hc);
}

Result<void> no_sleep(GuestMemory& mem, uint64_t arg) {
    auto hc = TRY(mem.read<abi::HcSleep>(arg));
    hc.result = 0;
    return mem.write(arg, hc);
}

Result<void> dispatch_hypercall(Devices& d, unsigned nr, uint64_t arg, Outcome& outcome) {
    switch (nr) {
    case abi::kHcExit:
        return d.system.hc_exit(arg, outcome);
    case abi::kHcConsoleFlush:
        return {};  // the drain at every exit already did the work
    case abi::kHcWrite:
        return d.console.hc_write(arg, outcome);
    case abi::kHcRead:
        return d.console.hc_read(arg);
    case abi::kHcSleep:
        // An interrupt the guest has not run yet (a forwarded host signal's
        // doorbell): the sleep would outlast it.
        if (d.irq && d.irq->take_sleep_wake())
            return no_sleep(d.mem, arg);
        return d.smp ? d.smp->sleep(d.vcpu_index, arg) : d.system.hc_sleep(arg);
    case abi::kHcCpu:
        if (!d.smp)
            return no_other_vcpus(d.mem, arg);
        return d.smp->hypercall(d.vcpu_index, arg);
    case abi::kHcSetFsBase:
        return d.system.hc_set_fs_base(arg, d.cpu);
    case abi::kHcFs:
        if (!d.fs)
            return hostile("file-system hypercall without any --fs share");
        return d.fs->hypercall(d.mem, arg);
    case abi::kHcStdinSeek:
        return d.console.hc_stdin_seek(arg);
    case abi::kHcTty:
        return d.console.hc_tty(arg);
    case abi::kHcMemGrow:
        if (!d.ram)
            return hostile("memory growth hypercall without lazy RAM");
        return d.ram->hypercall(arg);
    case abi::kHcMemRelease:
        if (!d.ram)
            return hostile("memory release hypercall without lazy RAM");
        return d.ram->release(arg);
    case abi::kHcFault:
        return d.system.hc_fault(arg, outcome, d.ram && d.ram->refused() ? d.ram->backed_bytes() : 0);
    case abi::kHcTimer:
        if (!d.irq)
            return hostile("timer hypercall without interrupts");
        return d.irq->hc_timer(arg);
    case abi::kHcNet:
        if (!d.net)
            return hostile("network hypercall without a network device");
        return d.net->hypercall(d.mem, arg);
    case abi::kHcReady:
        TRY(d.mem.read<abi::HcReady>(arg));  // a bad address is the guest's fault, as for any call
        d.ready_marked = true;  // the run loop saves here with --save-at-ready
        return {};
    case abi::kHcExec:
        if (!d.exec)
            return hostile("exec hypercall without an exec channel (lightvm-oci exec)");
        return d.exec->hypercall(d.mem, d.net, arg);
    case abi::kHcPark:  // Vm::create's boot loop takes the only legitimate one
        return hostile("park hypercall after the workload was loaded");
    case abi::kHcBlock: {
        auto req = TRY(d.mem.read<abi::HcBlock>(arg));
        if (!d.disks || req.device >= d.disks->size())
            return hostile("block request for device " + std::to_string(req.device) + ", which does not exist");
        return (*d.disks)[req.device].hypercall(d.mem, arg);
    }
    default:
        return hostile("unknown hypercall " + std::to_string(nr));
    }
}

}  // namespace

static Result<void> handle_one(Devices& d, const kvm::Exit& exit, Outcome& outcome, ExitStats& stats);

const char* hypercall_name(unsigned nr) {
    static const char* const names[] = {"exit", "console_flush", "write", "read", "sleep", "set_fs_base", "fs", "block",
                                        "mem_grow", "stdin_seek", "timer", "fault", "net", "cpu", "mem_release", "tty", "park", "ready",
                                        "exec"};
    static_assert(std::size(names) == abi::kHcCount, "name every hypercall");
    return nr < abi::kHcCount ? names[nr] : "unknown";
}

Result<void> handle_exit(Devices& d, const kvm::Exit& exit, Outcome& outcome, ExitStats& stats) {
    auto r = handle_one(d, exit, outcome, stats);
    // A device touched guest RAM whose file-backed page had vanished (the
    // SIGBUS guard gave it a zero page): whatever it read was not the
    // guest's. End the guest as Linux ends a process whose mapped file shrank.
    if (d.mem.take_lost_pages()) {
        stats.faults++;
        (void)d.system.lost_memory(d.cpu, outcome);
        return {};
    }
    return r;
}

static Result<void> handle_one(Devices& d, const kvm::Exit& exit, Outcome& outcome, ExitStats& stats) {
    stats.total++;
    // Output first: whatever else happens, what the guest printed is not lost.
    auto drained = d.console.drain(outcome);
    switch (exit.kind) {
    case kvm::ExitKind::Io: {
        if (exit.port == abi::kFaultPort && exit.io_out) {
            stats.faults++;
            TRY(drained);
            return d.system.fault(d.cpu, outcome);
        }
        if (exit.port < abi::kHypercallPortBase || exit.port >= abi::kHypercallPortEnd)
            return hostile(std::string(exit.io_out ? "write to" : "read from") + " I/O port " + hex(exit.port) +
                           " (not a lightvm device)");
        unsigned nr = exit.port - abi::kHypercallPortBase;
        if (!exit.io_out || exit.io_size != 4 || exit.io_count != 1)
            return hostile("malformed hypercall " + std::to_string(nr) + " (port " + hex(exit.port) + ", " +
                           (exit.io_out ? "out" : "in") + ", size " + std::to_string(exit.io_size) + ")");
        if (nr >= abi::kHcCount)
            return hostile("unknown hypercall " + std::to_string(nr));
        stats.hypercalls[nr]++;
        if (nr == abi::kHcFault)
            stats.faults++;  // the guest kernel's own fault report, counted as the stubs' are
        TRY(drained);
        if (outcome.finished)  // e.g. SIGPIPE while draining
            return {};
        auto r = dispatch_hypercall(d, nr, exit.io_value, outcome);
        if (!r && r.error().kind == ErrorKind::GuestFault)
            r.error().message = std::string("hypercall ") + hypercall_name(nr) + ": " + r.error().message;
        return r;
    }
    case kvm::ExitKind::Interrupted:
        stats.interrupted++;
        return drained;
    case kvm::ExitKind::IrqWindowOpen:  // Interrupts::before_run injects next
        stats.irq_window++;
        return drained;
    case kvm::ExitKind::Shutdown:
        stats.faults++;
        TRY(drained);
        return d.system.triple_fault(d.cpu, outcome);
    case kvm::ExitKind::Mmio:
        stats.other++;
        if (exit.mmio_addr < d.mem.size()) {  // RAM the guest never asked to have backed
            TRY(drained);
            return d.system.unbacked_access(exit.mmio_addr, exit.mmio_write, d.cpu, outcome);
        }
        return hostile(std::string("MMIO ") + (exit.mmio_write ? "write to " : "read from ") + hex(exit.mmio_addr) +
                       " (no device there)");
    case kvm::ExitKind::Hlt:
        stats.other++;
        return hostile("halted the CPU");
    case kvm::ExitKind::FailEntry:
        stats.other++;
        return make_error(ErrorKind::System, "KVM_RUN", "entry failed, hardware reason " + hex(exit.detail));
    case kvm::ExitKind::InternalError:
        // Only the guest's own instructions get here (an access KVM cannot
        // emulate, an exception it cannot deliver): a guest fault with its
        // report, like any other, so pending writes are applied too.
        stats.faults++;
        TRY(drained);
        return d.system.internal_error(exit.detail, d.cpu, outcome);
    case kvm::ExitKind::MemoryFault:
        // KVM_RUN failed with EFAULT: guest RAM whose host page is gone
        // (a file mapped into it shrank under the VM).
        stats.faults++;
        TRY(drained);
        return d.system.lost_memory(d.cpu, outcome);
    case kvm::ExitKind::Other:
        break;
    }
    stats.other++;
    return make_error(ErrorKind::System, "KVM_RUN", "unexpected exit reason " + std::to_string(exit.raw_reason));
}

}  // namespace lightvm

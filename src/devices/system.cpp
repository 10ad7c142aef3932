#include "devices/system.hpp"

#include <time.h>

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>

#include "lightvm/abi.h"

namespace lightvm {

const char* vector_name(unsigned v) {
    static const char* const names[32] = {
        "divide error (#DE)", "debug exception (#DB)", "NMI", "breakpoint (#BP)", "overflow (#OF)",
        "bound range exceeded (#BR)", "invalid opcode (#UD)", "device not available (#NM)",
        "double fault (#DF)", "coprocessor segment overrun", "invalid TSS (#TS)", "segment not present (#NP)",
        "stack-segment fault (#SS)", "general protection fault (#GP)", "page fault (#PF)", "reserved (15)",
        "x87 floating-point error (#MF)", "alignment check (#AC)", "machine check (#MC)",
        "SIMD floating-point exception (#XM)", "virtualization exception (#VE)", "control protection (#CP)",
    };
    return v < 32 && names[v] ? names[v] : "reserved exception";
}

int vector_signal(unsigned v) {
    switch (v) {
    case 0:
    case 7:
    case 16:
    case 19:
        return SIGFPE;
    case 1:
    case 3:
        return SIGTRAP;
    case 6:
        return SIGILL;
    case 17:
    case 18:
        return SIGBUS;
    default:
        return SIGSEGV;
    }
}

const char* signal_name(int sig) {
    switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    default: return "signal";
    }
}

Result<void> SystemDevice::hc_exit(uint64_t arg_gpa, Outcome& outcome) {
    auto hc = TRY(m_mem.read<abi::HcExit>(arg_gpa));
    if (hc.signal > 64)  // validate before touching the outcome
        return make_error(ErrorKind::GuestFault, "exit", "invalid signal " + std::to_string(hc.signal));
    outcome.finished = true;
    if (hc.signal != 0) {
        outcome.signal = static_cast<int>(hc.signal);
        outcome.status = 128 + outcome.signal;
    } else {
        outcome.status = hc.status & 0xff;
    }
    return {};
}

Result<void> SystemDevice::hc_sleep(uint64_t arg_gpa) {
    auto hc = TRY(m_mem.read<abi::HcSleep>(arg_gpa));
    timespec ts{static_cast<time_t>(hc.nanoseconds / 1000000000), static_cast<long>(hc.nanoseconds % 1000000000)};
    if (hc.nanoseconds / 1000000000 > static_cast<uint64_t>(INT64_MAX / 2))
        ts.tv_sec = INT64_MAX / 2;
    // A timeout or Ctrl-C interrupts the sleep (EINTR) and the run loop stops.
    int r = ::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
    hc.result = r == 0 ? 0 : -r;
    return m_mem.write(arg_gpa, hc);
}

Result<void> SystemDevice::hc_set_fs_base(uint64_t arg_gpa, CpuAccess& cpu) {
    auto hc = TRY(m_mem.read<abi::HcSetFsBase>(arg_gpa));
    if (hc.base >= (1ull << 47)) {
        hc.result = -EPERM;
    } else {
        auto s = TRY(cpu.sregs());
        s.fs.base = hc.base;
        TRY(cpu.set_sregs(s));
        hc.result = 0;
    }
    return m_mem.write(arg_gpa, hc);
}

namespace {

void page_fault_line(char* line, size_t size, uint64_t error, uint64_t rip, uint64_t addr) {
    std::snprintf(line, size, "guest %s at rip 0x%" PRIx64 ": %s of address 0x%" PRIx64 " (%s) -> %s", vector_name(14),
                  rip, (error & 16) ? "instruction fetch" : (error & 2) ? "write" : "read", addr,
                  (error & 1) ? "protection violation" : "not mapped", signal_name(SIGSEGV));
}

void kernel_stack_line(char* line, size_t size, uint64_t rip, uint64_t addr, uint64_t rsp) {
    std::snprintf(line, size,
                  "guest kernel stack overflow at rip 0x%" PRIx64 " (guard page 0x%" PRIx64 ", rsp 0x%" PRIx64 ") -> %s",
                  rip, addr & ~(abi::kPageSize - 1), rsp, signal_name(SIGSEGV));
}

}  // namespace

Result<void> SystemDevice::hc_fault(uint64_t arg_gpa, Outcome& outcome, uint64_t backed) {
    auto hc = TRY(m_mem.read<abi::HcFault>(arg_gpa));
    char line[256];
    switch (hc.kind) {
    case abi::kFaultAccess:
        page_fault_line(line, sizeof line, hc.error, hc.rip, hc.addr);
        outcome.killed(SIGSEGV, line);
        return {};
    case abi::kFaultPastEof:
        std::snprintf(line, sizeof line,
                      "guest page fault at rip 0x%" PRIx64 ": access to address 0x%" PRIx64
                      " past the end of the mapped file -> %s",
                      hc.rip, hc.addr, signal_name(SIGBUS));
        outcome.killed(SIGBUS, line);
        return {};
    case abi::kFaultOutOfMemory:
        if (backed)
            std::snprintf(line, sizeof line,
                          "guest out of memory: no free page for address 0x%" PRIx64 " at rip 0x%" PRIx64
                          " (the host could back only %" PRIu64 " of the %" PRIu64
                          " MiB of --mem: its free memory or lightvm's memory cgroup ran out) -> SIGKILL",
                          hc.addr, hc.rip, backed >> 20, m_mem.size() >> 20);
        else
            std::snprintf(line, sizeof line,
                          "guest out of memory: no free page for address 0x%" PRIx64 " at rip 0x%" PRIx64
                          " (all %" PRIu64 " MiB of --mem in use) -> SIGKILL",
                          hc.addr, hc.rip, m_mem.size() >> 20);
        outcome.killed(SIGKILL, line);
        return {};
    case abi::kFaultKernelStack:
        kernel_stack_line(line, sizeof line, hc.rip, hc.addr, hc.rsp);
        outcome.killed(SIGSEGV, line);
        return {};
    case abi::kFaultKernel:
        std::snprintf(line, sizeof line, "guest kernel page fault at rip 0x%" PRIx64 " (address 0x%" PRIx64 ") -> %s",
                      hc.rip, hc.addr, signal_name(SIGSEGV));
        outcome.killed(SIGSEGV, line);
        return {};
    default:
        return make_error(ErrorKind::GuestFault, "fault", "unknown fault kind " + std::to_string(hc.kind));
    }
}

Result<void> SystemDevice::fault(CpuAccess& cpu, Outcome& outcome) {
    auto regs = TRY(cpu.regs());
    auto sregs = TRY(cpu.sregs());
    struct Frame {
        uint64_t vector, error, rip, cs, rflags, rsp, ss;
    };
    // The frame is guest-controlled memory: read it through the checked view.
    auto frame = m_mem.read<Frame>(regs.rsp);
    if (!frame)
        return make_error(ErrorKind::GuestFault, "fault", "fault report with an invalid stack pointer");
    if (frame->vector >= 32)  // check the full 64 bits before narrowing: the frame is guest-written
        return make_error(ErrorKind::GuestFault, "fault",
                          "fault report with invalid vector " + std::to_string(frame->vector));
    unsigned vector = static_cast<unsigned>(frame->vector);
    int sig = vector_signal(vector);
    char line[256];
    auto in_kernel = [](uint64_t a) { return a >= abi::kKernelBase && a < abi::kKernelLimit; };
    if (vector == 14 && !(frame->error & 1) && in_kernel(frame->rip) && in_kernel(sregs.cr2)) {
        // The only unmapped pages inside the kernel image are stack guards.
        kernel_stack_line(line, sizeof line, frame->rip, sregs.cr2, frame->rsp);
    } else if (vector == 14) {
        page_fault_line(line, sizeof line, frame->error, frame->rip, sregs.cr2);
    } else if (vector == 13 && frame->error != 0) {
        std::snprintf(line, sizeof line, "guest %s at rip 0x%" PRIx64 " (selector 0x%" PRIx64 ") -> %s",
                      vector_name(vector), frame->rip, frame->error, signal_name(sig));
    } else {
        std::snprintf(line, sizeof line, "guest %s at rip 0x%" PRIx64 " -> %s", vector_name(vector), frame->rip,
                      signal_name(sig));
    }
    outcome.killed(sig, line);
    return {};
}

Result<void> SystemDevice::unbacked_access(uint64_t gpa, bool write, CpuAccess& cpu, Outcome& outcome) {
    auto regs = cpu.regs();
    char line[192];
    std::snprintf(line, sizeof line,
                  "guest %s of address 0x%" PRIx64 " at rip 0x%" PRIx64 ": memory never allocated -> SIGSEGV",
                  write ? "write" : "read", gpa, regs ? regs->rip : 0);
    outcome.killed(SIGSEGV, line);
    return {};
}

Result<void> SystemDevice::internal_error(uint64_t suberror, CpuAccess& cpu, Outcome& outcome) {
    auto regs = cpu.regs();
    char line[192];
    // Suberror 1: emulation failed (typically a vector access to RAM never
    // allocated); 3: an exception could not be delivered (a broken IDT).
    std::snprintf(line, sizeof line, "guest %s at rip 0x%" PRIx64 " (KVM internal error %" PRIu64 ") -> SIGSEGV",
                  suberror == 3 ? "exception could not be delivered" : "instruction could not be emulated",
                  regs ? regs->rip : 0, suberror);
    outcome.killed(SIGSEGV, line);
    return {};
}

Result<void> SystemDevice::lost_memory(CpuAccess& cpu, Outcome& outcome) {
    auto regs = cpu.regs();
    char line[192];
    std::snprintf(line, sizeof line, "guest memory access at rip 0x%" PRIx64 " hit a page that is no longer backed -> SIGBUS",
                  regs ? regs->rip : 0);
    outcome.killed(SIGBUS, line);
    return {};
}

Result<void> SystemDevice::triple_fault(CpuAccess& cpu, Outcome& outcome) {
    auto regs = cpu.regs();
    char line[128];
    std::snprintf(line, sizeof line, "guest triple fault (rip 0x%" PRIx64 ") -> SIGSEGV", regs ? regs->rip : 0);
    outcome.killed(SIGSEGV, line);
    return {};
}

}  // namespace lightvm

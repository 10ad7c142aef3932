// Thin RAII wrapper over /dev/kvm. The only module that includes
// <linux/kvm.h>; everything above speaks in these lightvm types.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace lightvm::kvm {

struct Regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
};

struct Segment {
    uint64_t base = 0;
    uint32_t limit = 0;
    uint16_t selector = 0;
    uint8_t type = 0, present = 0, dpl = 0, db = 0, s = 0, l = 0, g = 0, avl = 0;
};

struct DescriptorTable {
    uint64_t base = 0;
    uint16_t limit = 0;
};

struct Sregs {
    Segment cs, ds, es, fs, gs, ss, tr, ldt;
    DescriptorTable gdt, idt;
    uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, efer = 0;
};

enum class ExitKind {
    Io,             // port I/O: our hypercalls and fault reports
    Mmio,           // access to unmapped guest memory
    Hlt,
    Shutdown,       // triple fault
    FailEntry,      // hardware refused to enter the guest
    InternalError,  // KVM could not emulate something
    MemoryFault,    // KVM_RUN: EFAULT, guest RAM whose host page is gone (SIGBUS)
    Interrupted,    // KVM_RUN returned EINTR (timeout, signal)
    IrqWindowOpen,  // the guest can take an interrupt now (request_interrupt_window)
    Other,
};

struct Exit {
    ExitKind kind = ExitKind::Other;
    uint32_t raw_reason = 0;
    // Io
    bool io_out = false;
    uint16_t port = 0;
    uint8_t io_size = 0;
    uint32_t io_count = 0;
    uint32_t io_value = 0;  // the value written, for single OUTs of <= 4 bytes
    // Mmio
    uint64_t mmio_addr = 0;
    bool mmio_write = false;
    // FailEntry / InternalError detail
    uint64_t detail = 0;
};

struct CpuidEntry {
    uint32_t function, index;
    bool index_significant;
    uint32_t eax, ebx, ecx, edx;
};

struct Msr {
    uint32_t index;
    uint64_t value;
};

inline constexpr uint32_t kMsrTsc = 0x10;
inline constexpr uint32_t kMsrEfer = 0xc0000080;
inline constexpr uint32_t kMsrStar = 0xc0000081;
inline constexpr uint32_t kMsrLstar = 0xc0000082;
inline constexpr uint32_t kMsrCstar = 0xc0000083;
inline constexpr uint32_t kMsrSfmask = 0xc0000084;
inline constexpr uint32_t kMsrFsBase = 0xc0000100;
inline constexpr uint32_t kMsrGsBase = 0xc0000101;
inline constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

class Vcpu {
public:
    Vcpu() = default;
    Vcpu(Vcpu&&) noexcept;
    Vcpu& operator=(Vcpu&&) noexcept;
    ~Vcpu();

    Result<Regs> get_regs() const;
    Result<void> set_regs(const Regs&);
    Result<Sregs> get_sregs() const;
    Result<void> set_sregs(const Sregs&);
    Result<void> set_msrs(std::span<const Msr>);
    // Fills in the value of each MSR named by index.
    Result<void> get_msrs(std::span<Msr>) const;
    // Snapshots (src/snapshot): the FPU/SSE/AVX state as KVM's struct
    // kvm_xsave (kXsaveSize bytes) and the pending exception/interrupt/NMI
    // state as struct kvm_vcpu_events (kEventsSize bytes), both opaque above
    // this module; set_* refuse a blob of the wrong size.
    static constexpr size_t kXsaveSize = 4096;
    static constexpr size_t kEventsSize = 64;
    Result<std::vector<uint8_t>> get_xsave() const;
    Result<void> set_xsave(std::span<const uint8_t>);
    Result<std::vector<uint8_t>> get_events() const;
    Result<void> set_events(std::span<const uint8_t>);
    Result<void> set_cpuid(std::span<const CpuidEntry> entries);
    Result<uint32_t> tsc_khz() const;
    Result<Exit> run();

    // Async-signal-safe: make the next (or current, with a signal) KVM_RUN
    // return immediately with EINTR.
    void set_immediate_exit(bool on);

    // Interrupts without an in-kernel irqchip (KVM_INTERRUPT). Only between
    // KVM_RUNs: can the guest take one at the next entry (IF set, no
    // interrupt shadow)? Else ask for an IrqWindowOpen exit when it can.
    bool interrupt_ready() const;
    void request_interrupt_window(bool on);
    Result<void> inject_interrupt(uint8_t vector);

private:
    friend class Vm;
    UniqueFd m_fd;
    void* m_run = nullptr;
    size_t m_run_size = 0;
};

class Vm {
public:
    Result<void> set_memory(uint32_t slot, uint64_t gpa, uint64_t size, void* host, bool log_dirty = false);
    // KVM_GET_DIRTY_LOG: the pages of `slot` the guest wrote since the last
    // call (bit p = page p of the slot), cleared and write-protected again.
    // `bitmap` holds at least ceil(pages / 64) words.
    Result<void> get_dirty_log(uint32_t slot, std::span<uint64_t> bitmap);
    Result<Vcpu> create_vcpu(uint32_t id);
    // In-kernel LAPIC/IOAPIC/PIC. Not used by run_vm (bench/ measures its
    // cost and docs/design.md says why); must precede create_vcpu.
    Result<void> create_irqchip();
    int fd() const { return m_fd.get(); }

private:
    friend class System;
    UniqueFd m_fd;
    size_t m_run_size = 0;
};

class System {
public:
    static Result<System> open(const char* path = "/dev/kvm");
    Result<Vm> create_vm();

private:
    UniqueFd m_fd;
    size_t m_run_size = 0;
};

// The ioctl request numbers the vCPU loop and the devices use once the VM
// is built (KVM_RUN, register access, lazy memslots, the state reads of a
// snapshot): the sandbox's seccomp filter allows exactly these on any fd.
std::vector<unsigned long> run_loop_ioctls();

// Is /dev/kvm present and openable? Used by tests to SKIP loudly.
bool available(const char* path = "/dev/kvm");

// Is this KVM the kvm_pvm module (docs/platform.md)? There CPL3 guest code runs
// in the host's user half and CPUID never exits, so KVM_SET_CPUID2 has no
// effect (and costs ~0.1 ms); on hardware KVM it is required.
bool is_pvm();

}  // namespace lightvm::kvm

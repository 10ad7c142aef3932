// GDT, TSS (with the I/O permission bitmap that lets CPL3 code reach the
// hypercall ports), fault-reporting IDT with its CPL0 stubs, and the
// register state that starts the vCPU directly at CPL3 in long mode.
// Intel SDM Vol. 3A: 3.4.5 (segment descriptors), 7.7 (64-bit TSS),
// 6.14.1 (64-bit IDT gates), 18.5.2 (I/O permission bitmap).
#pragma once

#include <cstdint>

#include "common/result.hpp"
#include "kvm/kvm.hpp"
#include "memory/guest_memory.hpp"

namespace lightvm::x86 {

inline constexpr uint64_t kCr0Pe = 1ull << 0, kCr0Mp = 1ull << 1, kCr0Et = 1ull << 4, kCr0Ne = 1ull << 5,
                          kCr0Wp = 1ull << 16, kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr4Pae = 1ull << 5, kCr4Pge = 1ull << 7, kCr4Osfxsr = 1ull << 9,
                          kCr4Osxmmexcpt = 1ull << 10, kCr4Fsgsbase = 1ull << 16;
inline constexpr uint64_t kEferSce = 1ull << 0, kEferLme = 1ull << 8, kEferLma = 1ull << 10, kEferNxe = 1ull << 11;

// 64-bit TSS (SDM 7.7); the I/O bitmap follows at kTssIoBitmapOffset.
struct [[gnu::packed]] Tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss64) == 104);
inline constexpr uint32_t kTssIoBitmapOffset = sizeof(Tss64);

struct [[gnu::packed]] IdtGate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

// Byte size of the TSS including its I/O bitmap and the trailing 0xff.
uint32_t tss_size();

// Writes GDT, TSS (+bitmap allowing [port_lo, port_hi)), IDT and fault stubs
// at the fixed addresses of lightvm/abi.h.
Result<void> write_descriptors(GuestMemory& mem, uint16_t port_lo, uint16_t port_hi);

// Interrupt vectors abi::kIrqVectorBase.. (one per abi::IrqSource): trap
// gates (IF stays set) with DPL 0 (the app cannot `int` them) to CPL3 code
// at `entry`, on the stack TSS.IST[kIrqIst] = ist_top (never the interrupted
// stack: its red zone survives). Call after write_descriptors.
Result<void> write_interrupt_gates(GuestMemory& mem, uint64_t entry, uint64_t ist_top, uint32_t cpu = 0);

// Does the I/O bitmap in guest memory allow `port` from CPL3? (tests)
// Vector 3 (`int3`) to the guest kernel's CPL0 service on its own stack
// (KernelHeader.svc_entry/svc_stack_top, abi.h), an interrupt gate: no
// interrupt is delivered while CPL0 code runs.
Result<void> write_service_gate(GuestMemory& mem, uint64_t entry, uint64_t ist_top, uint32_t cpu = 0);

// Vector 14 to the guest kernel's page-fault stub, and TSS.RSP0 to its fault
// record (KernelHeader.pf_entry/fault_frame_top): every exception taken at
// CPL3 now pushes its frame there.
Result<void> write_page_fault_gate(GuestMemory& mem, uint64_t entry, uint64_t frame_top, uint32_t cpu = 0);
// CPU exceptions the guest kernel turns into signals (KernelHeader.trap_*):
// vector v in `vectors` goes to entry + v * abi::kTrapStubSize, a CPL0
// interrupt gate whose frame lands at TSS.RSP0 (write_page_fault_gate).
Result<void> write_trap_gates(GuestMemory& mem, uint64_t entry, uint64_t vectors, uint32_t cpu = 0);
// Another vCPU (SMP): its IDT and TSS start as copies of CPU 0's (fault
// stubs, I/O bitmap) at abi::idt_gpa(cpu)/tss_gpa(cpu); the gate writers
// above with `cpu` then point them at that CPU's own entry code and stacks.
Result<void> copy_cpu0_tables(GuestMemory& mem, uint32_t cpu);

Result<bool> io_port_allowed(const GuestMemory& mem, uint16_t port);

// Special registers for a vCPU that starts at CPL3 in 64-bit mode, with
// vCPU `cpu`'s IDT and TSS.
kvm::Sregs user_mode_sregs(uint64_t cr3, bool fsgsbase, uint32_t cpu = 0);

// Vectors for which the CPU pushes an error code (SDM Table 6-1).
bool vector_has_error_code(unsigned vector);

}  // namespace lightvm::x86

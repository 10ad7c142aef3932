#include "x86/descriptors.hpp"

#include <array>

#include "lightvm/abi.h"

namespace lightvm::x86 {

namespace {

// Flat descriptors with the accessed bit pre-set, so the CPU never needs to
// write the GDT. Values: SDM 3.4.5; L=1 for 64-bit code.
constexpr uint64_t kGdtKernelCode = 0x00af9b000000ffffull;
constexpr uint64_t kGdtKernelData = 0x00cf93000000ffffull;
constexpr uint64_t kGdtUserCode32 = 0x00cffb000000ffffull;
constexpr uint64_t kGdtUserData = 0x00cff3000000ffffull;
constexpr uint64_t kGdtUserCode64 = 0x00affb000000ffffull;

constexpr unsigned kIoBitmapPorts = 0x600;  // bitmap covers ports [0, 0x600)

kvm::Segment user_code() {
    return kvm::Segment{0, 0xffffffff, abi::kUserCs, 0xb, 1, 3, 0, 1, 1, 1, 0};
}
kvm::Segment user_data() {
    return kvm::Segment{0, 0xffffffff, abi::kUserDs, 0x3, 1, 3, 1, 1, 0, 1, 0};
}

}  // namespace

bool vector_has_error_code(unsigned v) {
    return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21 || v == 29 || v == 30;
}

uint32_t tss_size() {
    return kTssIoBitmapOffset + kIoBitmapPorts / 8 + 1;
}

Result<void> write_descriptors(GuestMemory& mem, uint16_t port_lo, uint16_t port_hi) {
    if (port_hi > kIoBitmapPorts || port_lo > port_hi)
        return make_error(ErrorKind::BadInput, "descriptors", "hypercall ports outside the I/O bitmap");

    // GDT: null, unused, kcode, kdata, ucode32, udata, ucode64, TSS (16 bytes).
    std::array<uint64_t, 9> gdt{0, 0, kGdtKernelCode, kGdtKernelData, kGdtUserCode32, kGdtUserData, kGdtUserCode64, 0, 0};
    const uint64_t tss_base = abi::kTssGpa;
    const uint64_t tss_limit = tss_size() - 1;
    gdt[7] = (tss_limit & 0xffff) | ((tss_base & 0xffffff) << 16) | (0x89ull << 40) |
             (((tss_limit >> 16) & 0xf) << 48) | (((tss_base >> 24) & 0xff) << 56);
    gdt[8] = tss_base >> 32;
    for (size_t i = 0; i < gdt.size(); ++i)
        TRY(mem.write<uint64_t>(abi::kGdtGpa + 8 * i, gdt[i]));

    // TSS: RSP0 is where faults taken at CPL3 push their frame.
    Tss64 tss{};
    tss.rsp[0] = abi::kFaultStackHi;
    tss.iomap_base = kTssIoBitmapOffset;
    TRY(mem.write(abi::kTssGpa, tss));
    auto bitmap = TRY(mem.span(abi::kTssGpa + kTssIoBitmapOffset, kIoBitmapPorts / 8 + 1));
    std::fill(bitmap.begin(), bitmap.end(), 0xff);  // deny everything, incl. the trailing byte
    for (unsigned port = port_lo; port < port_hi; ++port)
        bitmap[port / 8] &= static_cast<uint8_t>(~(1u << (port % 8)));

    // Fault stubs, one per vector, 16 bytes each:
    //   [push $0]  push $vector  mov $kFaultPort,%dx  out %al,%dx  hlt  jmp .-1
    // The monitor reads the frame (vector, error, rip, cs, rflags, rsp, ss)
    // from the stack at the fault-port exit and ends the VM.
    for (unsigned v = 0; v < 32; ++v) {
        std::array<uint8_t, abi::kFaultStubSize> stub;
        stub.fill(0xf4);  // hlt padding
        size_t n = 0;
        if (!vector_has_error_code(v)) {
            stub[n++] = 0x6a;
            stub[n++] = 0x00;
        }
        stub[n++] = 0x6a;
        stub[n++] = static_cast<uint8_t>(v);
        stub[n++] = 0x66;
        stub[n++] = 0xba;
        stub[n++] = abi::kFaultPort & 0xff;
        stub[n++] = abi::kFaultPort >> 8;
        stub[n++] = 0xee;
        stub[n++] = 0xf4;
        stub[n++] = 0xeb;
        stub[n++] = 0xfd;
        TRY(mem.write(abi::kFaultStubsGpa + v * abi::kFaultStubSize, stub));
    }

    // IDT: exceptions go to the stubs at CPL0 (interrupt gates). #BP and #OF
    // are DPL3 so `int3` in the app reports SIGTRAP instead of #GP.
    auto idt = TRY(mem.span(abi::kIdtGpa, 256 * sizeof(IdtGate)));
    std::fill(idt.begin(), idt.end(), 0);
    for (unsigned v = 0; v < 32; ++v) {
        uint64_t target = abi::kFaultStubsGpa + v * abi::kFaultStubSize;
        IdtGate gate{};
        gate.offset_lo = target & 0xffff;
        gate.selector = abi::kKernelCs;
        gate.type_attr = (v == 3 || v == 4) ? 0xee : 0x8e;
        gate.offset_mid = (target >> 16) & 0xffff;
        gate.offset_hi = static_cast<uint32_t>(target >> 32);
        TRY(mem.write(abi::kIdtGpa + v * sizeof(IdtGate), gate));
    }
    return {};
}

Result<void> write_interrupt_gates(GuestMemory& mem, uint64_t entry, uint64_t ist_top, uint32_t cpu) {
    if (ist_top % 16)
        return make_error(ErrorKind::BadInput, "descriptors", "interrupt stack not 16-byte aligned");
    auto tss = TRY(mem.read<Tss64>(abi::tss_gpa(cpu)));
    tss.ist[abi::kIrqIst - 1] = ist_top;
    TRY(mem.write(abi::tss_gpa(cpu), tss));
    for (unsigned s = 0; s < abi::kIrqSources; ++s) {
        IdtGate gate{};
        gate.offset_lo = entry & 0xffff;
        gate.selector = abi::kUserCs;
        gate.ist = static_cast<uint8_t>(abi::kIrqIst);
        gate.type_attr = 0x8f;  // present, DPL 0, 64-bit trap gate
        gate.offset_mid = (entry >> 16) & 0xffff;
        gate.offset_hi = static_cast<uint32_t>(entry >> 32);
        TRY(mem.write(abi::idt_gpa(cpu) + (abi::kIrqVectorBase + s) * sizeof(IdtGate), gate));
    }
    return {};
}

Result<void> write_service_gate(GuestMemory& mem, uint64_t entry, uint64_t ist_top, uint32_t cpu) {
    if (ist_top % 16)
        return make_error(ErrorKind::BadInput, "descriptors", "service stack not 16-byte aligned");
    auto tss = TRY(mem.read<Tss64>(abi::tss_gpa(cpu)));
    tss.ist[abi::kSvcIst - 1] = ist_top;
    TRY(mem.write(abi::tss_gpa(cpu), tss));
    IdtGate gate{};
    gate.offset_lo = entry & 0xffff;
    gate.selector = abi::kKernelCs;
    gate.ist = static_cast<uint8_t>(abi::kSvcIst);
    // Present, DPL 3 (`int3` from CPL3), 64-bit *interrupt* gate: IF is 0
    // while the CPL0 code runs (its iretq restores it), so the monitor
    // waits for the window instead of injecting there. With a trap gate an
    // interrupt taken in the service ran its CPL3 handler under PVM's
    // CPL0 emulation (~2.5 us an instruction here): a handler that re-arms
    // its 200 us timer never caught up and the guest hung (IrqTest).
    gate.type_attr = 0xee;
    gate.offset_mid = (entry >> 16) & 0xffff;
    gate.offset_hi = static_cast<uint32_t>(entry >> 32);
    return mem.write(abi::idt_gpa(cpu) + 3 * sizeof(IdtGate), gate);
}

Result<void> write_page_fault_gate(GuestMemory& mem, uint64_t entry, uint64_t frame_top, uint32_t cpu) {
    if (frame_top % 16)
        return make_error(ErrorKind::BadInput, "descriptors", "fault frame not 16-byte aligned");
    auto tss = TRY(mem.read<Tss64>(abi::tss_gpa(cpu)));
    tss.rsp[0] = frame_top;
    TRY(mem.write(abi::tss_gpa(cpu), tss));
    IdtGate gate{};
    gate.offset_lo = entry & 0xffff;
    gate.selector = abi::kKernelCs;
    gate.type_attr = 0x8e;  // present, DPL 0, 64-bit interrupt gate
    gate.offset_mid = (entry >> 16) & 0xffff;
    gate.offset_hi = static_cast<uint32_t>(entry >> 32);
    return mem.write(abi::idt_gpa(cpu) + 14 * sizeof(IdtGate), gate);
}

Result<void> write_trap_gates(GuestMemory& mem, uint64_t entry, uint64_t vectors, uint32_t cpu) {
    if (vectors & ~abi::kTrapVectorsAllowed)
        return make_error(ErrorKind::BadInput, "descriptors", "trap gate for a vector the kernel may not take");
    for (unsigned v = 0; v < 32; ++v) {
        if (!(vectors & (1ull << v)))
            continue;
        const uint64_t target = entry + v * abi::kTrapStubSize;
        IdtGate gate{};
        gate.offset_lo = target & 0xffff;
        gate.selector = abi::kKernelCs;
        gate.type_attr = 0x8e;  // present, DPL 0, 64-bit interrupt gate (as the monitor's stubs)
        gate.offset_mid = (target >> 16) & 0xffff;
        gate.offset_hi = static_cast<uint32_t>(target >> 32);
        TRY(mem.write(abi::idt_gpa(cpu) + v * sizeof(IdtGate), gate));
    }
    return {};
}

Result<void> copy_cpu0_tables(GuestMemory& mem, uint32_t cpu) {
    if (cpu == 0 || cpu >= abi::kMaxCpus)
        return make_error(ErrorKind::BadInput, "descriptors", "no CPU " + std::to_string(cpu));
    auto idt = TRY(mem.span(abi::kIdtGpa, 256 * sizeof(IdtGate)));
    TRY(mem.write_bytes(abi::idt_gpa(cpu), idt));
    auto tss = TRY(mem.span(abi::kTssGpa, tss_size()));
    return mem.write_bytes(abi::tss_gpa(cpu), tss);
}

Result<bool> io_port_allowed(const GuestMemory& mem, uint16_t port) {
    auto tss = TRY(mem.read<Tss64>(abi::kTssGpa));
    uint64_t byte = abi::kTssGpa + tss.iomap_base + port / 8;
    if (port >= kIoBitmapPorts)
        return false;  // beyond the TSS limit: denied
    uint8_t bits = TRY(mem.read<uint8_t>(byte));
    return (bits & (1u << (port % 8))) == 0;
}

kvm::Sregs user_mode_sregs(uint64_t cr3, bool fsgsbase, uint32_t cpu) {
    kvm::Sregs s;
    s.cs = user_code();
    s.ds = s.es = s.ss = s.fs = s.gs = user_data();
    // One GDT; each vCPU's TR caches its own TSS base (never reloaded).
    s.tr = kvm::Segment{abi::tss_gpa(cpu), tss_size() - 1, abi::kTssSel, 0xb, 1, 0, 0, 0, 0, 0, 0};
    s.ldt = kvm::Segment{0, 0, 0, 0x2, 1, 0, 0, 0, 0, 0, 0};
    s.gdt = {abi::kGdtGpa, 9 * 8 - 1};
    s.idt = {abi::idt_gpa(cpu), 256 * sizeof(IdtGate) - 1};
    s.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Pg;
    s.cr3 = cr3;
    s.cr4 = kCr4Pae | kCr4Pge | kCr4Osfxsr | kCr4Osxmmexcpt | (fsgsbase ? kCr4Fsgsbase : 0);
    s.efer = kEferSce | kEferLme | kEferLma | kEferNxe;
    return s;
}

}  // namespace lightvm::x86

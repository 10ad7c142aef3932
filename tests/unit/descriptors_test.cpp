// Tests for GDT, TSS + I/O bitmap, IDT, fault stubs and the CPL3 start state,
// decoded bit by bit as the CPU would (SDM Vol. 3A 3.4.5, 7.7, 6.14.1).
#include "x86/descriptors.hpp"

#include <array>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "lightvm/abi.h"

namespace lightvm::x86 {
namespace {

struct Descriptor {
    uint64_t raw;
    uint32_t base() const {
        return static_cast<uint32_t>(((raw >> 16) & 0xffffff) | (((raw >> 56) & 0xff) << 24));
    }
    uint32_t limit() const { return static_cast<uint32_t>((raw & 0xffff) | (((raw >> 48) & 0xf) << 16)); }
    unsigned type() const { return (raw >> 40) & 0xf; }
    bool s() const { return (raw >> 44) & 1; }
    unsigned dpl() const { return (raw >> 45) & 3; }
    bool present() const { return (raw >> 47) & 1; }
    bool l() const { return (raw >> 53) & 1; }
    bool db() const { return (raw >> 54) & 1; }
    bool g() const { return (raw >> 55) & 1; }
};

class Descriptors : public ::testing::Test {
protected:
    void SetUp() override {
        auto m = GuestMemory::create(1ull << 20);
        ASSERT_TRUE(m) << m.error().to_string();
        mem = std::move(*m);
        auto r = write_descriptors(mem, abi::kHypercallPortBase, abi::kHypercallPortEnd);
        ASSERT_TRUE(r) << r.error().to_string();
    }
    Descriptor gdt(uint16_t selector) const { return {*mem.read<uint64_t>(abi::kGdtGpa + (selector & ~7u))}; }
    IdtGate gate(unsigned v) const { return *mem.read<IdtGate>(abi::kIdtGpa + v * sizeof(IdtGate)); }
    const uint8_t* stub(unsigned v) const { return mem.host_base() + abi::kFaultStubsGpa + v * abi::kFaultStubSize; }

    GuestMemory mem;
};

TEST_F(Descriptors, NullDescriptors) {
    EXPECT_EQ(*mem.read<uint64_t>(abi::kGdtGpa), 0u);
    EXPECT_EQ(*mem.read<uint64_t>(abi::kGdtGpa + 8), 0u);
}

TEST_F(Descriptors, KernelCode) {
    auto d = gdt(abi::kKernelCs);
    EXPECT_TRUE(d.present());
    EXPECT_TRUE(d.s());
    EXPECT_EQ(d.dpl(), 0u);
    EXPECT_EQ(d.type(), 0xbu);  // execute/read, accessed
    EXPECT_TRUE(d.l());
    EXPECT_FALSE(d.db());  // L=1 requires D=0
}

TEST_F(Descriptors, KernelData) {
    auto d = gdt(abi::kKernelDs);
    EXPECT_TRUE(d.present());
    EXPECT_TRUE(d.s());
    EXPECT_EQ(d.dpl(), 0u);
    EXPECT_EQ(d.type(), 0x3u);  // read/write, accessed
    EXPECT_FALSE(d.l());
}

TEST_F(Descriptors, UserCode32) {
    auto d = gdt(abi::kUser32Cs);
    EXPECT_TRUE(d.present());
    EXPECT_EQ(d.dpl(), 3u);
    EXPECT_EQ(d.type(), 0xbu);
    EXPECT_FALSE(d.l());
    EXPECT_TRUE(d.db());
    EXPECT_TRUE(d.g());
    EXPECT_EQ(d.limit(), 0xfffffu);
    EXPECT_EQ(d.base(), 0u);
}

TEST_F(Descriptors, UserData) {
    auto d = gdt(abi::kUserDs);
    EXPECT_TRUE(d.present());
    EXPECT_TRUE(d.s());
    EXPECT_EQ(d.dpl(), 3u);
    EXPECT_EQ(d.type(), 0x3u);
    EXPECT_TRUE(d.db());
    EXPECT_TRUE(d.g());
    EXPECT_EQ(d.limit(), 0xfffffu);
}

TEST_F(Descriptors, UserCode64) {
    auto d = gdt(abi::kUserCs);
    EXPECT_TRUE(d.present());
    EXPECT_TRUE(d.s());
    EXPECT_EQ(d.dpl(), 3u);
    EXPECT_EQ(d.type(), 0xbu);
    EXPECT_TRUE(d.l());
    EXPECT_FALSE(d.db());
}

TEST_F(Descriptors, TssDescriptor) {
    auto lo = gdt(abi::kTssSel);
    uint64_t hi = *mem.read<uint64_t>(abi::kGdtGpa + abi::kTssSel + 8);
    EXPECT_TRUE(lo.present());
    EXPECT_FALSE(lo.s());  // system descriptor
    EXPECT_EQ(lo.type(), 0x9u);  // available 64-bit TSS
    EXPECT_EQ(lo.dpl(), 0u);
    EXPECT_FALSE(lo.g());  // byte granular
    const uint64_t base = lo.base() | (hi & 0xffffffff) << 32;
    EXPECT_EQ(base, abi::kTssGpa);
    EXPECT_EQ(lo.limit(), tss_size() - 1);
    EXPECT_EQ(hi >> 32, 0u);  // reserved upper half
}

TEST_F(Descriptors, TssContents) {
    auto tss = *mem.read<Tss64>(abi::kTssGpa);
    EXPECT_EQ(uint64_t{tss.rsp[0]}, abi::kFaultStackHi);
    EXPECT_EQ(uint64_t{tss.rsp[1]}, 0u);
    EXPECT_EQ(uint64_t{tss.rsp[2]}, 0u);
    for (size_t i = 0; i < 7; i++)
        EXPECT_EQ(uint64_t{tss.ist[i]}, 0u) << i;
    EXPECT_EQ(uint32_t{tss.iomap_base}, kTssIoBitmapOffset);
    EXPECT_EQ(tss_size(), sizeof(Tss64) + 0x600 / 8 + 1);
    // The byte after the bitmap must be all ones (SDM 18.5.2).
    EXPECT_EQ(*mem.read<uint8_t>(abi::kTssGpa + tss_size() - 1), 0xff);
}

TEST_F(Descriptors, IoBitmapAllowsExactlyHypercallPorts) {
    for (uint32_t port = 0; port <= 0xffff; port++) {
        auto allowed = io_port_allowed(mem, static_cast<uint16_t>(port));
        ASSERT_TRUE(allowed) << port;
        const bool want = port >= abi::kHypercallPortBase && port < abi::kHypercallPortEnd;
        ASSERT_EQ(*allowed, want) << std::hex << "port 0x" << port;
    }
    for (uint16_t port : {uint16_t{0}, uint16_t{0x4ff}, abi::kHypercallPortEnd, abi::kFaultPort, uint16_t{0xffff}})
        EXPECT_FALSE(*io_port_allowed(mem, port)) << port;
    EXPECT_TRUE(*io_port_allowed(mem, abi::kHypercallPortBase));
    EXPECT_TRUE(*io_port_allowed(mem, abi::kHypercallPortEnd - 1));
}

TEST_F(Descriptors, IdtGatesForExceptions) {
    for (unsigned v = 0; v < 32; v++) {
        IdtGate g = gate(v);
        const uint64_t target = g.offset_lo | uint64_t{g.offset_mid} << 16 | uint64_t{g.offset_hi} << 32;
        EXPECT_EQ(target, abi::kFaultStubsGpa + v * abi::kFaultStubSize) << v;
        EXPECT_EQ(g.selector, abi::kKernelCs) << v;
        EXPECT_EQ(g.ist, 0) << v;
        EXPECT_TRUE(g.type_attr & 0x80) << v;           // present
        EXPECT_EQ(g.type_attr & 0xf, 0xe) << v;         // 64-bit interrupt gate
        EXPECT_EQ(g.type_attr & 0x10, 0) << v;          // system
        const unsigned dpl = (g.type_attr >> 5) & 3;
        EXPECT_EQ(dpl, (v == 3 || v == 4) ? 3u : 0u) << v;
        EXPECT_EQ(g.reserved, 0u);
    }
    for (unsigned v = 32; v < 256; v++) {
        IdtGate g = gate(v);
        ASSERT_EQ(g.type_attr & 0x80, 0) << v;  // not present
    }
}

TEST_F(Descriptors, InterruptVectorsAreTrapGatesWithIstToCpl3) {
    const uint64_t entry = 0x123456789a, ist_top = 0x208000;
    auto r = write_interrupt_gates(mem, entry, ist_top);
    ASSERT_TRUE(r) << r.error().to_string();
    for (unsigned v = abi::kIrqVectorBase; v < abi::kIrqVectorBase + abi::kIrqSources; v++) {
        IdtGate g = gate(v);
        const uint64_t target = g.offset_lo | uint64_t{g.offset_mid} << 16 | uint64_t{g.offset_hi} << 32;
        EXPECT_EQ(target, entry) << v;
        EXPECT_EQ(g.selector, abi::kUserCs) << v;    // the guest kernel's CPL3 code
        EXPECT_EQ(g.ist, abi::kIrqIst) << v;         // never the interrupted stack (red zone)
        EXPECT_TRUE(g.type_attr & 0x80) << v;        // present
        EXPECT_EQ(g.type_attr & 0xf, 0xf) << v;      // trap gate: IF stays set
        EXPECT_EQ((g.type_attr >> 5) & 3, 0u) << v;  // DPL 0: `int $v` from the app is #GP
        EXPECT_EQ(g.reserved, 0u);
    }
    EXPECT_EQ(mem.read<Tss64>(abi::kTssGpa)->ist[abi::kIrqIst - 1], ist_top);
    EXPECT_EQ(mem.read<Tss64>(abi::kTssGpa)->rsp[0], abi::kFaultStackHi);  // faults unchanged
    for (unsigned v = 0; v < 32; v++)
        EXPECT_EQ(gate(v).selector, abi::kKernelCs) << v;
    for (unsigned v = abi::kIrqVectorBase + abi::kIrqSources; v < 256; v++)
        ASSERT_EQ(gate(v).type_attr & 0x80, 0) << v;
}

TEST_F(Descriptors, InterruptStackMustBeAligned) {
    auto r = write_interrupt_gates(mem, 0x100000, 0x208008);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("aligned"), std::string::npos) << r.error().message;
}

TEST(DescriptorsErrorCode, MatchesSdmTable) {
    std::vector<unsigned> with;
    for (unsigned v = 0; v < 32; v++)
        if (vector_has_error_code(v))
            with.push_back(v);
    EXPECT_EQ(with, (std::vector<unsigned>{8, 10, 11, 12, 13, 14, 17, 21, 29, 30}));
}

// Decodes one stub: [push $0] push $v; mov $port,%dx; out %al,%dx; hlt; jmp hlt.
struct DecodedStub {
    bool pushes_zero = false;
    unsigned vector = 0;
    uint16_t port = 0;
    uint64_t hlt_at = 0, jmp_target = 0;
    bool ok = false;
};

DecodedStub decode_stub(const uint8_t* p, uint64_t gpa) {
    DecodedStub d;
    size_t i = 0;
    if (p[0] == 0x6a && p[2] == 0x6a) {  // two push imm8
        if (p[1] != 0)
            return d;
        d.pushes_zero = true;
        i = 2;
    }
    if (p[i++] != 0x6a)
        return d;
    d.vector = p[i++];
    if (p[i++] != 0x66 || p[i++] != 0xba)  // mov imm16, %dx
        return d;
    d.port = static_cast<uint16_t>(p[i] | p[i + 1] << 8);
    i += 2;
    if (p[i++] != 0xee)  // out %al, %dx
        return d;
    if (p[i] != 0xf4)  // hlt
        return d;
    d.hlt_at = gpa + i++;
    if (p[i] != 0xeb)  // jmp rel8
        return d;
    d.jmp_target = gpa + i + 2 + static_cast<int8_t>(p[i + 1]);
    i += 2;
    if (i > abi::kFaultStubSize)
        return d;
    d.ok = true;
    return d;
}

TEST_F(Descriptors, StubWithoutErrorCode) {
    const uint64_t gpa = abi::kFaultStubsGpa + 6 * abi::kFaultStubSize;
    const std::array<uint8_t, 12> want{0x6a, 0x00, 0x6a, 0x06, 0x66, 0xba, 0xff, 0x05, 0xee, 0xf4, 0xeb, 0xfd};
    EXPECT_EQ(std::memcmp(stub(6), want.data(), want.size()), 0);
    auto d = decode_stub(stub(6), gpa);
    ASSERT_TRUE(d.ok);
    EXPECT_TRUE(d.pushes_zero);
    EXPECT_EQ(d.vector, 6u);
    EXPECT_EQ(d.port, abi::kFaultPort);
    EXPECT_EQ(d.jmp_target, d.hlt_at);
    // hlt padding to the end of the slot.
    for (size_t i = want.size(); i < abi::kFaultStubSize; i++)
        EXPECT_EQ(stub(6)[i], 0xf4) << i;
}

TEST_F(Descriptors, StubWithErrorCode) {
    const uint64_t gpa = abi::kFaultStubsGpa + 14 * abi::kFaultStubSize;
    const std::array<uint8_t, 10> want{0x6a, 0x0e, 0x66, 0xba, 0xff, 0x05, 0xee, 0xf4, 0xeb, 0xfd};
    EXPECT_EQ(std::memcmp(stub(14), want.data(), want.size()), 0);
    auto d = decode_stub(stub(14), gpa);
    ASSERT_TRUE(d.ok);
    EXPECT_FALSE(d.pushes_zero);
    EXPECT_EQ(d.vector, 14u);
    EXPECT_EQ(d.port, abi::kFaultPort);
    EXPECT_EQ(d.jmp_target, d.hlt_at);
}

TEST_F(Descriptors, AllStubsDecode) {
    for (unsigned v = 0; v < 32; v++) {
        const uint64_t gpa = abi::kFaultStubsGpa + v * abi::kFaultStubSize;
        auto d = decode_stub(stub(v), gpa);
        ASSERT_TRUE(d.ok) << v;
        EXPECT_EQ(d.vector, v);
        EXPECT_EQ(d.pushes_zero, !vector_has_error_code(v)) << v;
        EXPECT_EQ(d.port, abi::kFaultPort);
        EXPECT_EQ(d.jmp_target, d.hlt_at) << v;
    }
}

// Exceptions the guest kernel turns into signals: only the allowed vectors
// move to the kernel's stubs; the others keep the monitor's.
TEST_F(Descriptors, TrapGatesPointAtTheKernelStubs) {
    const uint64_t entry = 0x200000;
    ASSERT_TRUE(write_trap_gates(mem, entry, (1u << 0) | (1u << 13)));
    auto target = [&](unsigned v) {
        IdtGate g = gate(v);
        return g.offset_lo | (uint64_t{g.offset_mid} << 16) | (uint64_t{g.offset_hi} << 32);
    };
    EXPECT_EQ(target(0), entry);
    EXPECT_EQ(target(13), entry + 13 * abi::kTrapStubSize);
    EXPECT_EQ(gate(13).type_attr, 0x8e) << "DPL 0 interrupt gate, as the monitor's stubs";
    EXPECT_EQ(gate(13).selector, abi::kKernelCs);
    EXPECT_EQ(target(6), abi::kFaultStubsGpa + 6 * abi::kFaultStubSize) << "not asked for: unchanged";
    auto bad = write_trap_gates(mem, entry, 1u << 14);  // page faults have their own gate
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, ErrorKind::BadInput);
    EXPECT_FALSE(write_trap_gates(mem, entry, 1u << 3)) << "int3 is the CPL0 service";
}

TEST(DescriptorsArgs, RejectsPortsOutsideBitmap) {
    std::vector<uint8_t> buf(1 << 20);
    auto mem = GuestMemory::wrap(buf.data(), buf.size());
    auto r = write_descriptors(mem, 0x500, 0x601);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
    EXPECT_FALSE(write_descriptors(mem, 0x510, 0x500));
    EXPECT_TRUE(write_descriptors(mem, 0x5f0, 0x600));
    EXPECT_TRUE(*io_port_allowed(mem, 0x5ff));
    EXPECT_FALSE(*io_port_allowed(mem, 0x5ef));
    // Empty range: nothing allowed.
    ASSERT_TRUE(write_descriptors(mem, 0x500, 0x500));
    EXPECT_FALSE(*io_port_allowed(mem, 0x500));
}

TEST(DescriptorsArgs, MemoryTooSmall) {
    std::vector<uint8_t> buf(abi::kTssGpa);  // ends before the TSS
    auto mem = GuestMemory::wrap(buf.data(), buf.size());
    auto r = write_descriptors(mem, abi::kHypercallPortBase, abi::kHypercallPortEnd);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::GuestFault);
}

TEST(UserModeSregs, CodeSegmentIsCpl3LongMode) {
    auto s = user_mode_sregs(0x10000, false);
    EXPECT_EQ(s.cs.selector, abi::kUserCs);
    EXPECT_EQ(s.cs.selector & 3, 3);
    EXPECT_EQ(s.cs.dpl, 3);
    EXPECT_EQ(s.cs.l, 1);
    EXPECT_EQ(s.cs.db, 0);
    EXPECT_EQ(s.cs.present, 1);
    EXPECT_EQ(s.cs.s, 1);
    EXPECT_EQ(s.cs.type & 0x8, 0x8);  // code
    EXPECT_EQ(s.cs.base, 0u);
}

TEST(UserModeSregs, DataSegmentsAreCpl3) {
    auto s = user_mode_sregs(0x10000, false);
    for (const kvm::Segment* seg : {&s.ds, &s.es, &s.ss, &s.fs, &s.gs}) {
        EXPECT_EQ(seg->selector, abi::kUserDs);
        EXPECT_EQ(seg->dpl, 3);
        EXPECT_EQ(seg->present, 1);
        EXPECT_EQ(seg->s, 1);
        EXPECT_EQ(seg->type, 0x3);  // read/write data, accessed
        EXPECT_EQ(seg->base, 0u);
    }
    // SS.DPL must equal CPL.
    EXPECT_EQ(s.ss.dpl, s.cs.dpl);
}

TEST(UserModeSregs, TablesAndTaskRegister) {
    auto s = user_mode_sregs(0x10000, false);
    EXPECT_EQ(s.tr.selector, abi::kTssSel);
    EXPECT_EQ(s.tr.base, abi::kTssGpa);
    EXPECT_EQ(s.tr.limit, tss_size() - 1);
    EXPECT_EQ(s.tr.type, 0xb);  // busy 64-bit TSS
    EXPECT_EQ(s.tr.present, 1);
    EXPECT_EQ(s.tr.s, 0);
    EXPECT_EQ(s.gdt.base, abi::kGdtGpa);
    EXPECT_EQ(s.gdt.limit, 9 * 8 - 1);
    EXPECT_EQ(s.idt.base, abi::kIdtGpa);
    EXPECT_EQ(s.idt.limit, 256 * 16 - 1);
}

TEST(UserModeSregs, ControlRegisters) {
    auto s = user_mode_sregs(0x10000, false);
    EXPECT_EQ(s.cr3, 0x10000u);
    EXPECT_TRUE(s.cr0 & kCr0Pe);
    EXPECT_TRUE(s.cr0 & kCr0Pg);
    EXPECT_TRUE(s.cr0 & kCr0Wp);
    EXPECT_TRUE(s.cr4 & kCr4Pae);
    EXPECT_TRUE(s.cr4 & kCr4Osfxsr);
    EXPECT_FALSE(s.cr4 & kCr4Fsgsbase);
    EXPECT_TRUE(s.efer & kEferLme);
    EXPECT_TRUE(s.efer & kEferLma);
    EXPECT_TRUE(s.efer & kEferSce);  // syscall/sysret
    EXPECT_TRUE(s.efer & kEferNxe);

    auto f = user_mode_sregs(0x20000, true);
    EXPECT_EQ(f.cr3, 0x20000u);
    EXPECT_TRUE(f.cr4 & kCr4Fsgsbase);
    EXPECT_EQ(f.cr4 & ~kCr4Fsgsbase, s.cr4);
}

}  // namespace
}  // namespace lightvm::x86

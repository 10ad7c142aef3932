// Runtime checks of the host<->guest ABI layout (the header's static_asserts
// cover the basics; these check the whole map and the derived arithmetic).
#include "lightvm/abi.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "x86/descriptors.hpp"

namespace lightvm::abi {
namespace {

struct Region {
    std::string name;
    uint64_t lo, hi;  // [lo, hi)
};

std::vector<Region> fixed_regions() {
    return {
        {"boot info", kBootInfoGpa, kBootInfoGpa + kPageSize},
        {"gdt", kGdtGpa, kGdtGpa + 9 * 8},
        {"idt", kIdtGpa, kIdtGpa + 256 * 16},
        {"tss", kTssGpa, kTssGpa + x86::tss_size()},
        {"fault stubs", kFaultStubsGpa, kFaultStubsGpa + 32 * kFaultStubSize},
        {"page tables", kPageTablesGpa, kPageTablesEnd},
        {"fault stack", kFaultStackLo, kFaultStackHi},
        {"console", kConsoleGpa, kConsoleEnd},
        {"kernel", kKernelBase, kKernelLimit},
    };
}

TEST(AbiLayout, RegionsAreOrderedAndDisjoint) {
    auto regions = fixed_regions();
    // Page 0 stays free for the NULL guard.
    EXPECT_GE(regions.front().lo, kPageSize);
    for (size_t i = 0; i < regions.size(); i++) {
        EXPECT_LT(regions[i].lo, regions[i].hi) << regions[i].name;
        if (i > 0) {
            EXPECT_LE(regions[i - 1].hi, regions[i].lo) << regions[i - 1].name << " overlaps " << regions[i].name;
        }
    }
    EXPECT_LE(regions.back().hi, kAppMin);
}

TEST(AbiLayout, RegionsArePageAligned) {
    for (const auto& r : fixed_regions())
        EXPECT_EQ(r.lo % kPageSize, 0u) << r.name;
    EXPECT_EQ(kPageTablesEnd % kPageSize, 0u);
    EXPECT_EQ(kFaultStackHi % kPageSize, 0u);
    EXPECT_EQ(kConsoleEnd % kPageSize, 0u);
    EXPECT_EQ(kKernelLimit % kPageSize, 0u);
    EXPECT_EQ(kAppMin % kPageSize, 0u);
    EXPECT_EQ(kPieBase % kPageSize, 0u);
}

TEST(AbiLayout, SinglePageStructuresFitTheirPage) {
    // GDT, IDT and TSS each sit in their own page.
    EXPECT_LE(kGdtGpa + 9 * 8, kIdtGpa);
    EXPECT_LE(kIdtGpa + 256 * 16, kTssGpa);
    EXPECT_LE(kTssGpa + x86::tss_size(), kFaultStubsGpa);
    EXPECT_LE(sizeof(BootInfo), kPageSize);
    EXPECT_LE(kBootInfoGpa + sizeof(BootInfo), kGdtGpa);
}

TEST(AbiLayout, ConsoleGeometry) {
    EXPECT_NE(kConsoleDataSize, 0u);
    EXPECT_EQ(kConsoleDataSize & (kConsoleDataSize - 1), 0u);
    // Free-running u32 counters wrap correctly only if the size divides 2^32.
    EXPECT_EQ((uint64_t{1} << 32) % kConsoleDataSize, 0u);
    EXPECT_GE(kConsoleDataOffset, sizeof(ConsoleRing));
    // kConsoleEnd is spelled with literals in the header: keep it consistent.
    EXPECT_EQ(kConsoleEnd, kConsoleGpa + kConsoleDataOffset + kConsoleDataSize);
    EXPECT_LE(uint64_t{kConsoleMaxRecord} + 4, kConsoleDataSize);
    // A record header keeps the length in 24 bits.
    EXPECT_LE(kConsoleMaxRecord, 0xffffffu);
}

TEST(AbiLayout, MemoryLimits) {
    EXPECT_EQ(kMinMemSize % kHugePageSize, 0u);
    EXPECT_EQ(kMaxMemSize % kHugePageSize, 0u);
    EXPECT_LE(kMinMemSize, kMaxMemSize);
    // The smallest VM still has room for app, 1 MiB heap and the stack.
    EXPECT_LT(kAppMin + kStackSize + (1u << 20), kMinMemSize);
    // Page tables for kMaxMemSize: PML4, PDPT, PT0 and one PD per GiB.
    uint64_t gib = (kMaxMemSize + (1ull << 30) - 1) >> 30;
    EXPECT_LE((3 + gib) * kPageSize, kPageTablesEnd - kPageTablesGpa);
    EXPECT_LE(kKernelLimit, kAppMin);
    EXPECT_LT(kKernelBase, kKernelLimit);
}

TEST(AbiLayout, FaultStackIsUsable) {
    EXPECT_EQ(kFaultStackHi % 16, 0u);
    // Enough for the CPU frame plus the stub's two pushes many times over.
    EXPECT_GE(kFaultStackHi - kFaultStackLo, 7u * 8);
}

TEST(AbiHypercalls, PortRange) {
    EXPECT_LT(kHypercallPortBase, kHypercallPortEnd);
    EXPECT_LE(kHypercallPortEnd, kFaultPort);
    EXPECT_FALSE(kFaultPort >= kHypercallPortBase && kFaultPort < kHypercallPortEnd);
    EXPECT_LE(static_cast<unsigned>(kHcCount), unsigned{kHypercallPortEnd} - kHypercallPortBase);
    // Append-only: existing hypercall numbers never change.
    EXPECT_EQ(kHcExit, 0);
    EXPECT_EQ(kHcConsoleFlush, 1);
    EXPECT_EQ(kHcWrite, 2);
    EXPECT_EQ(kHcRead, 3);
    EXPECT_EQ(kHcSleep, 4);
    EXPECT_EQ(kHcSetFsBase, 5);
    EXPECT_GT(kHcCount, kHcSetFsBase);
}

TEST(AbiHypercalls, StructOffsets) {
    EXPECT_EQ(offsetof(HcExit, signal), 4u);
    EXPECT_EQ(offsetof(HcIo, len), 16u);
    EXPECT_EQ(offsetof(HcSleep, result), 8u);
    EXPECT_EQ(offsetof(HcSetFsBase, result), 8u);
    EXPECT_EQ(offsetof(KernelHeader, syscall_entry), 16u);
    EXPECT_EQ(offsetof(BootInfo, console_gpa), 152u);
    EXPECT_EQ(offsetof(BootInfo, stdio_mode), 524u);
}

TEST(AbiSelectors, PrivilegeLevels) {
    EXPECT_EQ(kKernelCs & 3, 0);
    EXPECT_EQ(kKernelDs & 3, 0);
    EXPECT_EQ(kTssSel & 3, 0);
    EXPECT_EQ(kUserCs & 3, 3);
    EXPECT_EQ(kUserDs & 3, 3);
    EXPECT_EQ(kUser32Cs & 3, 3);
    // All GDT selectors (TI = 0), inside the 9-entry GDT; the TSS takes two slots.
    for (uint16_t sel : {kKernelCs, kKernelDs, kUser32Cs, kUserDs, kUserCs, kTssSel}) {
        EXPECT_EQ(sel & 4, 0) << sel;
        EXPECT_LT(sel >> 3, 9) << sel;
    }
    EXPECT_EQ((kTssSel >> 3) + 1, 8);
}

// Same expression as the STAR MSR value in src/monitor/vm.cpp.
constexpr uint64_t kStar = (uint64_t(kUser32Cs & ~3) << 48) | (uint64_t(kKernelCs) << 32);

TEST(AbiSelectors, StarSyscallSelectors) {
    // SYSCALL: CS = STAR[47:32] & ~3, SS = STAR[47:32] + 8.
    uint16_t base = static_cast<uint16_t>(kStar >> 32);
    EXPECT_EQ(base & 0xfffc, 0x10);
    EXPECT_EQ(base + 8, 0x18);
    EXPECT_EQ(base & 0xfffc, kKernelCs);
    EXPECT_EQ(base + 8, kKernelDs);
}

TEST(AbiSelectors, StarSysretSelectors) {
    // 64-bit SYSRET: CS = STAR[63:48] + 16 | 3, SS = STAR[63:48] + 8 | 3.
    uint16_t base = static_cast<uint16_t>(kStar >> 48);
    EXPECT_EQ((base + 16) | 3, 0x33);
    EXPECT_EQ((base + 8) | 3, 0x2b);
    EXPECT_EQ((base + 16) | 3, kUserCs);
    EXPECT_EQ((base + 8) | 3, kUserDs);
    // 32-bit SYSRET: CS = STAR[63:48] | 3.
    EXPECT_EQ(base | 3, kUser32Cs);
    EXPECT_EQ(kStar & 0xffffffffu, 0u);  // the 32-bit SYSCALL EIP is unused
}

TEST(AbiBootInfo, MagicAndVersion) {
    EXPECT_EQ(kBootMagic, 0x4c564d31u);
    EXPECT_EQ(kKernelMagic, 0x4b4d564cu);
    EXPECT_GE(kAbiVersion, 1u);
    BootInfo b{};
    EXPECT_EQ(sizeof(b.exe_path), 256u);
    EXPECT_GE(sizeof(b.hostname), 65u);  // 64 bytes + NUL, as uname
    EXPECT_EQ(sizeof(b.devices) / sizeof(b.devices[0]), kMaxDevices);
}

}  // namespace
}  // namespace lightvm::abi

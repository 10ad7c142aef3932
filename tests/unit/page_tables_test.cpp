// Tests for the kernel's part of the guest page tables (low region,
// physmap): walked with translate() and decoded by hand, entry by entry.
#include "x86/page_tables.hpp"

#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "lightvm/abi.h"

namespace lightvm::x86 {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kTwoMiB = abi::kHugePageSize;
constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;
constexpr uint64_t kTableFlags = kPtePresent | kPteWritable | kPteUser;

// Guest memory only needs to hold the tables: translate() reads nothing else.
GuestMemory table_memory(uint8_t fill = 0) {
    auto m = GuestMemory::create(abi::kPageTablesEnd + 0x10000);
    EXPECT_TRUE(m) << m.error().to_string();
    if (!m)
        return {};
    std::memset(m->host_base(), fill, m->size());
    return std::move(*m);
}

uint64_t entry(const GuestMemory& mem, uint64_t table, uint64_t index) {
    auto v = mem.read<uint64_t>(table + 8 * index);
    EXPECT_TRUE(v);
    return v ? *v : 0;
}

class KernelMap : public ::testing::TestWithParam<uint64_t> {};

TEST_P(KernelMap, LowRegionIsIdentityMappedAndUserSpaceEmpty) {
    const uint64_t mem_size = GetParam();
    auto mem = table_memory(0xff);  // garbage first: the builder must clear what it uses
    auto cr3 = build_kernel_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, mem_size);
    ASSERT_TRUE(cr3) << cr3.error().to_string();
    EXPECT_EQ(*cr3, abi::kPageTablesGpa);
    for (uint64_t page = abi::kPageSize; page < abi::kAppMin; page += abi::kPageSize) {
        auto pa = translate(mem, *cr3, page + 0x7f8);
        ASSERT_TRUE(pa) << std::hex << page;
        ASSERT_EQ(*pa, page + 0x7f8);
    }
    // Page 0 and all of user space: nothing until the guest kernel maps it.
    for (uint64_t va : {uint64_t{0}, abi::kPageSize - 1, abi::kAppMin, abi::kAppMin + mem_size, 5 * kGiB,
                        abi::kUserMax - 1, abi::kPhysMapBase + mem_size, (uint64_t{1} << 47) - 1}) {
        auto pa = translate(mem, *cr3, va);
        EXPECT_FALSE(pa) << std::hex << "va 0x" << va << " -> 0x" << (pa ? *pa : 0);
        if (!pa) {
            EXPECT_EQ(pa.error().kind, ErrorKind::GuestFault);
        }
    }
}

TEST_P(KernelMap, PhysmapReachesEveryByteOfRam) {
    const uint64_t mem_size = GetParam();
    auto mem = table_memory();
    auto cr3 = build_kernel_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, mem_size);
    ASSERT_TRUE(cr3);
    std::mt19937_64 rng(mem_size);
    std::uniform_int_distribution<uint64_t> dist(0, mem_size - 1);
    for (int i = 0; i < 20000; i++) {
        uint64_t pa = i == 0 ? 0 : i == 1 ? mem_size - 1 : dist(rng);
        auto got = translate(mem, *cr3, abi::kPhysMapBase + pa);
        ASSERT_TRUE(got) << std::hex << pa;
        ASSERT_EQ(*got, pa);
    }
}

TEST_P(KernelMap, EveryLevelIsUserWritableAndLeavesAreGlobal) {
    const uint64_t mem_size = GetParam();
    auto mem = table_memory();
    auto cr3 = build_kernel_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, mem_size);
    ASSERT_TRUE(cr3);
    const unsigned phys_slot = (abi::kPhysMapBase >> 39) & 511;
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t e = entry(mem, *cr3, i);
        if (i == 0 || i == phys_slot)
            ASSERT_EQ(e & kTableFlags, kTableFlags) << i;
        else
            ASSERT_EQ(e, 0u) << "PML4[" << i << "]";
    }
    const uint64_t pd0 = entry(mem, entry(mem, *cr3, 0) & kAddrMask, 0) & kAddrMask;
    for (uint64_t e = 2; e < 512; e++)
        ASSERT_EQ(entry(mem, pd0, e), 0u) << "user PDE " << e;
    const uint64_t phys_pdpt = entry(mem, *cr3, phys_slot) & kAddrMask;
    uint64_t huge = 0;
    for (uint64_t g = 0; g < 512; g++) {
        uint64_t pdpte = entry(mem, phys_pdpt, g);
        if (g * kGiB >= mem_size) {
            ASSERT_EQ(pdpte, 0u);
            continue;
        }
        const uint64_t pd = pdpte & kAddrMask;
        EXPECT_GE(pd, abi::kPageTablesGpa);
        EXPECT_LT(pd, abi::kPageTablesEnd);
        for (uint64_t e = 0; e < 512; e++) {
            uint64_t pde = entry(mem, pd, e);
            if (g * kGiB + e * kTwoMiB >= mem_size) {
                ASSERT_EQ(pde, 0u);
                continue;
            }
            ASSERT_EQ(pde & (kTableFlags | kPteHuge | kPteGlobal), kTableFlags | kPteHuge | kPteGlobal);
            huge++;
        }
    }
    EXPECT_EQ(huge, mem_size / kTwoMiB);
}

INSTANTIATE_TEST_SUITE_P(Sizes, KernelMap,
                         ::testing::Values(16 * kMiB, 256 * kMiB, 1 * kGiB, 3 * kGiB + 2 * kMiB),
                         [](const auto& info) { return std::to_string(info.param >> 20) + "MiB"; });

TEST(KernelMapErrors, SizeMustBeMultipleOfTwoMiB) {
    auto mem = table_memory();
    for (uint64_t size : {uint64_t{0}, abi::kPageSize, kMiB, 3 * kMiB, 16 * kMiB + abi::kPageSize, kGiB - 1}) {
        auto r = build_kernel_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, size);
        ASSERT_FALSE(r) << size;
        EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
        EXPECT_NE(r.error().message.find("2 MiB"), std::string::npos) << r.error().message;
    }
}

TEST(KernelMapErrors, TablesRegionTooSmall) {
    auto mem = table_memory();
    const uint64_t base = abi::kPageTablesGpa, page = abi::kPageSize;
    // 16 MiB needs PML4, PDPT, PD, PT, physmap PDPT + 1 PD = 6 pages.
    auto r = build_kernel_map(mem, base, base + 5 * page, 16 * kMiB);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
    EXPECT_NE(r.error().message.find("16 MiB"), std::string::npos) << r.error().message;
    EXPECT_TRUE(build_kernel_map(mem, base, base + 6 * page, 16 * kMiB));
    // 3 GiB + 2 MiB needs 4 physmap PDs: 9 pages.
    EXPECT_FALSE(build_kernel_map(mem, base, base + 8 * page, 3 * kGiB + 2 * kMiB));
    EXPECT_TRUE(build_kernel_map(mem, base, base + 9 * page, 3 * kGiB + 2 * kMiB));
    EXPECT_FALSE(build_kernel_map(mem, base, base - page, 16 * kMiB));
}

TEST(KernelMapErrors, AboveFiveHundredTwelveGiB) {
    auto mem = table_memory();
    auto r = build_kernel_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, 513 * kGiB);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
}

TEST(KernelMapErrors, TablesOutsideGuestMemory) {
    auto mem = table_memory();
    const uint64_t past = mem.size() - abi::kPageSize;
    auto r = build_kernel_map(mem, past, past + 0x10000, 16 * kMiB);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::GuestFault);
}

TEST(Translate, HonoursHugeAndSmallPagesOfHandBuiltTables) {
    // A non-identity mapping proves translate() uses the entries, not the VA.
    auto mem = table_memory();
    const uint64_t pml4 = 0x10000, pdpt = 0x11000, pd = 0x12000, pt = 0x13000;
    ASSERT_TRUE(mem.write<uint64_t>(pml4, pdpt | kTableFlags));
    ASSERT_TRUE(mem.write<uint64_t>(pdpt, pd | kTableFlags));
    ASSERT_TRUE(mem.write<uint64_t>(pdpt + 8, (5 * kGiB) | kTableFlags | kPteHuge));  // 1 GiB page
    ASSERT_TRUE(mem.write<uint64_t>(pd + 8, (0x40000000ull + 0x600000) | kTableFlags | kPteHuge));
    ASSERT_TRUE(mem.write<uint64_t>(pd, pt | kTableFlags));
    ASSERT_TRUE(mem.write<uint64_t>(pt + 8 * 3, 0x777000 | kTableFlags));
    EXPECT_EQ(*translate(mem, pml4, 0x3abc), 0x777abcu);
    EXPECT_EQ(*translate(mem, pml4, 0x212345), 0x40612345u);
    EXPECT_EQ(*translate(mem, pml4, kGiB + 0x123456), 5 * kGiB + 0x123456);
    EXPECT_FALSE(translate(mem, pml4, 0x4000));
    EXPECT_FALSE(translate(mem, pml4, 2 * kGiB));
    // A table pointer outside guest memory is an error, not a crash.
    ASSERT_TRUE(mem.write<uint64_t>(pd + 16, 0x7ffff000ull | kTableFlags));
    EXPECT_FALSE(translate(mem, pml4, 0x400000));
}

}  // namespace
}  // namespace lightvm::x86

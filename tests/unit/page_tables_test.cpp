// Tests for the identity-mapped long-mode page tables: walked with
// translate() and decoded by hand, entry by entry.
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

class IdentityMap : public ::testing::TestWithParam<uint64_t> {};

TEST_P(IdentityMap, TranslatesEveryHugeBoundaryToItself) {
    const uint64_t map_size = GetParam();
    auto mem = table_memory(0xff);  // garbage first: the builder must clear what it uses
    auto cr3 = build_identity_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, map_size);
    ASSERT_TRUE(cr3) << cr3.error().to_string();
    EXPECT_EQ(*cr3, abi::kPageTablesGpa);
    for (uint64_t a = kTwoMiB; a < map_size; a += kTwoMiB) {
        for (uint64_t va : {a, a + 0x1234, a + kTwoMiB - 1, a - 1}) {
            auto pa = translate(mem, *cr3, va);
            ASSERT_TRUE(pa) << std::hex << "va 0x" << va << ": " << pa.error().to_string();
            ASSERT_EQ(*pa, va) << std::hex << "va 0x" << va;
        }
    }
}

TEST_P(IdentityMap, TranslatesEverySmallPageToItself) {
    const uint64_t map_size = GetParam();
    auto mem = table_memory();
    auto cr3 = build_identity_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, map_size);
    ASSERT_TRUE(cr3);
    for (uint64_t page = abi::kPageSize; page < kTwoMiB; page += abi::kPageSize) {
        auto pa = translate(mem, *cr3, page + 0x7f8);
        ASSERT_TRUE(pa) << std::hex << page;
        ASSERT_EQ(*pa, page + 0x7f8);
    }
}

TEST_P(IdentityMap, RandomAddressesMapToThemselves) {
    const uint64_t map_size = GetParam();
    auto mem = table_memory();
    auto cr3 = build_identity_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, map_size);
    ASSERT_TRUE(cr3);
    std::mt19937_64 rng(map_size);
    std::uniform_int_distribution<uint64_t> dist(abi::kPageSize, map_size - 1);
    for (int i = 0; i < 20000; i++) {
        uint64_t va = dist(rng);
        auto pa = translate(mem, *cr3, va);
        ASSERT_TRUE(pa) << std::hex << va;
        ASSERT_EQ(*pa, va);
    }
}

TEST_P(IdentityMap, PageZeroAndEndAreUnmapped) {
    const uint64_t map_size = GetParam();
    auto mem = table_memory(0xff);
    auto cr3 = build_identity_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, map_size);
    ASSERT_TRUE(cr3);
    for (uint64_t va : {uint64_t{0}, uint64_t{8}, abi::kPageSize - 1, map_size, map_size + 0x1000,
                        map_size + kTwoMiB - 1, map_size + kGiB, uint64_t{512} * kGiB, (uint64_t{1} << 47) - 1}) {
        auto pa = translate(mem, *cr3, va);
        EXPECT_FALSE(pa) << std::hex << "va 0x" << va << " -> 0x" << (pa ? *pa : 0);
        if (!pa) {
            EXPECT_EQ(pa.error().kind, ErrorKind::GuestFault);
        }
    }
    EXPECT_EQ(*translate(mem, *cr3, abi::kPageSize), abi::kPageSize);
    EXPECT_EQ(*translate(mem, *cr3, map_size - 1), map_size - 1);
}

TEST_P(IdentityMap, EveryLevelIsUserWritable) {
    const uint64_t map_size = GetParam();
    auto mem = table_memory();
    auto cr3 = build_identity_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, map_size);
    ASSERT_TRUE(cr3);
    const uint64_t gib = (map_size + kGiB - 1) / kGiB;

    uint64_t pml4e = entry(mem, *cr3, 0);
    EXPECT_EQ(pml4e & kTableFlags, kTableFlags);
    EXPECT_EQ(pml4e & kPteHuge, 0u);
    for (uint64_t i = 1; i < 512; i++)
        ASSERT_EQ(entry(mem, *cr3, i), 0u) << "PML4[" << i << "]";

    const uint64_t pdpt = pml4e & kAddrMask;
    uint64_t huge_pages = 0, present_pds = 0;
    for (uint64_t g = 0; g < 512; g++) {
        uint64_t pdpte = entry(mem, pdpt, g);
        if (g >= gib) {
            ASSERT_EQ(pdpte, 0u) << "PDPT[" << g << "]";
            continue;
        }
        ASSERT_EQ(pdpte & kTableFlags, kTableFlags) << g;
        ASSERT_EQ(pdpte & kPteHuge, 0u) << g;
        const uint64_t pd = pdpte & kAddrMask;
        // Tables stay inside their region.
        EXPECT_GE(pd, abi::kPageTablesGpa);
        EXPECT_LT(pd, abi::kPageTablesEnd);
        for (uint64_t e = 0; e < 512; e++) {
            const uint64_t addr = g * kGiB + e * kTwoMiB;
            const uint64_t pde = entry(mem, pd, e);
            if (addr >= map_size) {
                ASSERT_EQ(pde, 0u) << std::hex << addr;
                continue;
            }
            present_pds++;
            ASSERT_EQ(pde & kTableFlags, kTableFlags) << std::hex << addr;
            if (addr == 0) {
                ASSERT_EQ(pde & kPteHuge, 0u);
                const uint64_t pt = pde & kAddrMask;
                EXPECT_EQ(entry(mem, pt, 0), 0u);  // page 0: not present
                for (uint64_t i = 1; i < 512; i++) {
                    uint64_t pte = entry(mem, pt, i);
                    ASSERT_EQ(pte & kTableFlags, kTableFlags) << i;
                    ASSERT_EQ(pte & kAddrMask, i * abi::kPageSize) << i;
                }
            } else {
                ASSERT_NE(pde & kPteHuge, 0u) << std::hex << addr;
                ASSERT_EQ(pde & kAddrMask, addr);
                huge_pages++;
            }
        }
    }
    EXPECT_EQ(present_pds, map_size / kTwoMiB);
    EXPECT_EQ(huge_pages, map_size / kTwoMiB - 1);
}

INSTANTIATE_TEST_SUITE_P(Sizes, IdentityMap,
                         ::testing::Values(16 * kMiB, 256 * kMiB, 1 * kGiB, 3 * kGiB + 2 * kMiB),
                         [](const auto& info) { return std::to_string(info.param >> 20) + "MiB"; });

TEST(IdentityMapErrors, SizeMustBeMultipleOfTwoMiB) {
    auto mem = table_memory();
    for (uint64_t size : {uint64_t{0}, abi::kPageSize, kMiB, 3 * kMiB, 16 * kMiB + abi::kPageSize, kGiB - 1}) {
        auto r = build_identity_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, size);
        ASSERT_FALSE(r) << size;
        EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
        EXPECT_NE(r.error().message.find("2 MiB"), std::string::npos) << r.error().message;
    }
}

TEST(IdentityMapErrors, TablesRegionTooSmall) {
    auto mem = table_memory();
    const uint64_t base = abi::kPageTablesGpa, page = abi::kPageSize;
    // 16 MiB needs PML4 + PDPT + PT0 + 1 PD = 4 pages.
    auto r = build_identity_map(mem, base, base + 3 * page, 16 * kMiB);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
    EXPECT_NE(r.error().message.find("16 MiB"), std::string::npos) << r.error().message;
    EXPECT_TRUE(build_identity_map(mem, base, base + 4 * page, 16 * kMiB));
    // 3 GiB + 2 MiB needs 4 PDs: 7 pages.
    EXPECT_FALSE(build_identity_map(mem, base, base + 6 * page, 3 * kGiB + 2 * kMiB));
    EXPECT_TRUE(build_identity_map(mem, base, base + 7 * page, 3 * kGiB + 2 * kMiB));
    // An inverted region is not "huge".
    EXPECT_FALSE(build_identity_map(mem, base, base - page, 16 * kMiB));
}

TEST(IdentityMapErrors, AboveFiveHundredTwelveGiB) {
    auto mem = table_memory();
    auto r = build_identity_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, 513 * kGiB);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
}

TEST(IdentityMapErrors, TablesOutsideGuestMemory) {
    auto mem = table_memory();
    const uint64_t past = mem.size() - abi::kPageSize;
    auto r = build_identity_map(mem, past, past + 0x10000, 16 * kMiB);
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

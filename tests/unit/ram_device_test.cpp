// Lazy RAM registration: which slots get registered, growth direction and
// doubling, bounds checks. No KVM: the register callback records slots.
#include <gtest/gtest.h>

#include <vector>

#include "devices/ram.hpp"
#include "lightvm/abi.h"

using namespace lightvm;

namespace {

constexpr uint64_t kMiB = 1ull << 20;

struct Slot {
    uint32_t id;
    uint64_t gpa, size;
};

struct RamFixture : ::testing::Test {
    GuestMemory mem = std::move(*GuestMemory::create(1024 * kMiB));
    std::vector<Slot> slots;
    RamDevice ram{mem, [this](uint32_t id, uint64_t gpa, uint64_t size) -> Result<void> {
                      slots.push_back({id, gpa, size});
                      return {};
                  }};
    static constexpr uint64_t kArg = 0x2000;

    lightvm::abi::HcMemGrow grow(uint64_t start, uint64_t end) {
        lightvm::abi::HcMemGrow hc{start, end, 0, 0, 0};
        EXPECT_TRUE(mem.write(kArg, hc));
        EXPECT_TRUE(ram.hypercall(kArg));
        return *mem.read<lightvm::abi::HcMemGrow>(kArg);
    }
    // Slots never overlap and together cover exactly what ram says is backed.
    void check_consistent() {
        uint64_t total = 0;
        for (size_t i = 0; i < slots.size(); ++i) {
            total += slots[i].size;
            for (size_t j = 0; j < i; ++j) {
                bool disjoint = slots[i].gpa + slots[i].size <= slots[j].gpa || slots[j].gpa + slots[j].size <= slots[i].gpa;
                EXPECT_TRUE(disjoint) << "slots " << i << " and " << j << " overlap";
            }
        }
        EXPECT_EQ(total, ram.low_end() + (mem.size() - ram.high_start()));
    }
};

}  // namespace

TEST_F(RamFixture, BootRegistersOnlyTheEnds) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    ASSERT_EQ(slots.size(), 2u);
    EXPECT_EQ(slots[0].gpa, 0u);
    EXPECT_EQ(slots[0].size, 20 * kMiB);
    EXPECT_EQ(slots[1].gpa, 1000 * kMiB);
    EXPECT_EQ(slots[1].size, 24 * kMiB);
    EXPECT_TRUE(ram.backed(0x1000));
    EXPECT_FALSE(ram.backed(500 * kMiB));
    EXPECT_TRUE(ram.backed(1023 * kMiB));
    check_consistent();
}

TEST_F(RamFixture, SmallGuestsAreRegisteredWhole) {
    GuestMemory small = std::move(*GuestMemory::create(64 * kMiB));
    std::vector<Slot> s;
    RamDevice r(small, [&](uint32_t id, uint64_t gpa, uint64_t size) -> Result<void> {
        s.push_back({id, gpa, size});
        return {};
    });
    ASSERT_TRUE(r.boot(10 * kMiB, 40 * kMiB));
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].size, 64 * kMiB);
    EXPECT_EQ(r.low_end(), 64 * kMiB);
}

TEST_F(RamFixture, HighRegionGrowsDownAndAtLeastDoubles) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    auto hc = grow(999 * kMiB, 1000 * kMiB);  // just below the high region
    EXPECT_EQ(hc.result, 0);
    EXPECT_LE(hc.high_start, 999 * kMiB);
    EXPECT_LE(hc.high_start, 1000 * kMiB - 24 * kMiB);  // doubled
    EXPECT_EQ(hc.high_start, ram.high_start());
    check_consistent();
}

TEST_F(RamFixture, LowRegionGrowsUpForBrk) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    auto hc = grow(20 * kMiB, 21 * kMiB);
    EXPECT_EQ(hc.result, 0);
    EXPECT_GE(hc.low_end, 40 * kMiB);
    check_consistent();
}

TEST_F(RamFixture, AlreadyBackedRangeCostsNothing) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    size_t before = slots.size();
    auto hc = grow(1 * kMiB, 2 * kMiB);
    EXPECT_EQ(hc.result, 0);
    EXPECT_EQ(slots.size(), before);
}

TEST_F(RamFixture, WholeMiddleRangeFillsTheGapWithoutOverlap) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    auto hc = grow(20 * kMiB, 1000 * kMiB);
    EXPECT_EQ(hc.result, 0);
    EXPECT_TRUE(hc.low_end >= 1000 * kMiB || hc.high_start <= 20 * kMiB || hc.low_end == hc.high_start);
    for (uint64_t a = 0; a < mem.size(); a += 16 * kMiB)
        EXPECT_TRUE(ram.backed(a)) << a;
    check_consistent();
}

TEST_F(RamFixture, BadRangesAreEnomemNotCrashes) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    EXPECT_EQ(grow(5, 5).result, -ENOMEM);
    EXPECT_EQ(grow(10 * kMiB, 5 * kMiB).result, -ENOMEM);
    EXPECT_EQ(grow(0, 2048 * kMiB).result, -ENOMEM);
    EXPECT_EQ(grow(UINT64_MAX - 10, UINT64_MAX).result, -ENOMEM);
    check_consistent();
}

TEST_F(RamFixture, ArgumentOutsideGuestMemoryIsAGuestFault) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    auto r = ram.hypercall(mem.size() - 8);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::GuestFault);
}

TEST_F(RamFixture, RestoreRegistersTheSavedRegionsOnTop) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    ASSERT_TRUE(ram.restore(100 * kMiB, 900 * kMiB));
    EXPECT_EQ(ram.low_end(), 100 * kMiB);
    EXPECT_EQ(ram.high_start(), 900 * kMiB);
    ASSERT_EQ(slots.size(), 4u);
    EXPECT_EQ(slots[2].gpa, 20 * kMiB);
    EXPECT_EQ(slots[3].gpa, 900 * kMiB);
    check_consistent();
    // Already covered: nothing more to register.
    ASSERT_TRUE(ram.restore(20 * kMiB, 1000 * kMiB));
    EXPECT_EQ(slots.size(), 4u);
}

TEST_F(RamFixture, RestoreRefusesBadRegions) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    EXPECT_FALSE(ram.restore(600 * kMiB, 500 * kMiB));      // crossed
    EXPECT_FALSE(ram.restore(20 * kMiB, 2048 * kMiB));      // beyond RAM
    EXPECT_FALSE(ram.restore(20 * kMiB + 4096, 1000 * kMiB));  // not 2 MiB aligned
    EXPECT_EQ(slots.size(), 2u);
}

// Issue 13, bug 6: growth is granted only as far as the host can back it
// now, less RamDevice::kReserve; the guest gets ENOMEM beyond that.
TEST_F(RamFixture, GrowthStopsAtWhatTheHostCanBack) {
    uint64_t host_free = 100 * kMiB;
    ram.set_host_limit([&host_free] { return std::optional<uint64_t>(host_free); });
    ASSERT_TRUE(ram.boot(20 * kMiB, 1024 * kMiB));
    // Doubling would register 40 MiB; 68 MiB of room allows all of it.
    auto hc = grow(20 * kMiB, 22 * kMiB);
    EXPECT_EQ(hc.result, 0);
    EXPECT_EQ(ram.low_end(), 40 * kMiB);
    // The host filled up: 40 MiB free, 8 MiB of room. A doubling (80 MiB)
    // is cut to the room, but what the guest asked for is granted.
    host_free = 40 * kMiB;
    hc = grow(40 * kMiB, 42 * kMiB);
    EXPECT_EQ(hc.result, 0);
    EXPECT_EQ(ram.low_end(), 48 * kMiB);
    // Nothing left beyond the reserve: refused, nothing registered.
    host_free = RamDevice::kReserve + kMiB;
    size_t before = slots.size();
    hc = grow(48 * kMiB, 50 * kMiB);
    EXPECT_EQ(hc.result, -ENOMEM);
    EXPECT_EQ(hc.low_end, 48 * kMiB);
    EXPECT_EQ(slots.size(), before);
    EXPECT_EQ(ram.refused(), 1u);
    // Memory came back: growth resumes.
    host_free = 1024 * kMiB;
    hc = grow(48 * kMiB, 50 * kMiB);
    EXPECT_EQ(hc.result, 0);
    EXPECT_EQ(ram.low_end(), 96 * kMiB);
    check_consistent();
}

TEST_F(RamFixture, HighRegionGrowthIsLimitedToo) {
    uint64_t host_free = RamDevice::kReserve + 6 * kMiB;
    ram.set_host_limit([&host_free] { return std::optional<uint64_t>(host_free); });
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    // The high region (24 MiB) would double by 24 MiB; 6 MiB of room
    // grants the 4 MiB the range needs and the rest of the room.
    auto hc = grow(996 * kMiB, 998 * kMiB);
    EXPECT_EQ(hc.result, 0);
    EXPECT_EQ(ram.high_start(), 994 * kMiB);
    // A range larger than the room is refused whole.
    hc = grow(900 * kMiB, 994 * kMiB);
    EXPECT_EQ(hc.result, -ENOMEM);
    EXPECT_EQ(ram.high_start(), 994 * kMiB);
    check_consistent();
}

TEST_F(RamFixture, UnknownHostMemoryRefusesNothing) {
    ram.set_host_limit([] { return std::optional<uint64_t>(); });
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    auto hc = grow(500 * kMiB, 502 * kMiB);
    EXPECT_EQ(hc.result, 0);
    check_consistent();
}

// A live migration turns on every slot's dirty log: regions() lists exactly
// what was registered, in order, and a released range is marked as written
// by the host (it reads as zero now: the target must hear of it).
TEST_F(RamFixture, RegionsMatchTheRegisteredSlots) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    grow(900 * kMiB, 1000 * kMiB);
    ASSERT_EQ(ram.regions().size(), slots.size());
    for (size_t i = 0; i < slots.size(); ++i) {
        EXPECT_EQ(ram.regions()[i].slot, slots[i].id);
        EXPECT_EQ(ram.regions()[i].gpa, slots[i].gpa);
        EXPECT_EQ(ram.regions()[i].size, slots[i].size);
    }
}

TEST_F(RamFixture, ReleaseIsMarkedAsAHostWrite) {
    ASSERT_TRUE(ram.boot(20 * kMiB, 1000 * kMiB));
    mem.track_host_writes(true);
    (void)mem.take_host_writes();
    lightvm::abi::HcMemRelease hc{4 * kMiB, 4 * kMiB + 8192, 0};
    ASSERT_TRUE(mem.write(kArg, hc));
    (void)mem.take_host_writes();  // the argument page itself
    ASSERT_TRUE(ram.release(kArg));
    auto marked = mem.take_host_writes();
    const uint64_t page = 4 * kMiB / 4096;
    EXPECT_TRUE(marked[page / 64] >> (page % 64) & 1);
    EXPECT_TRUE(marked[(page + 1) / 64] >> ((page + 1) % 64) & 1);
    EXPECT_FALSE(marked[(page + 2) / 64] >> ((page + 2) % 64) & 1);
}

// Hosted tests of the guest kernel's frame allocator (mm/frames.cpp):
// random allocation and release, checked against a bitmap of its own.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "guest_mm_fixture.hpp"

namespace lightvm::guest {
namespace {

constexpr uint64_t kPg = 4096;

struct Owned {
    std::vector<bool> used;
    uint64_t base;
    bool take(uint64_t gpa, uint64_t pages) {
        for (uint64_t k = 0; k < pages; ++k) {
            uint64_t i = (gpa - base) / kPg + k;
            if (i >= used.size())
                used.resize(i + 1);
            if (used[i])
                return false;
            used[i] = true;
        }
        return true;
    }
    void drop(uint64_t gpa, uint64_t pages) {
        for (uint64_t k = 0; k < pages; ++k)
            used[(gpa - base) / kPg + k] = false;
    }
};

TEST(Frames, RandomAllocationNeverHandsOutAFrameTwice) {
    testing::GuestMm mm;
    std::mt19937 rng(7);
    Owned owned{{}, 0};
    std::vector<std::pair<uint64_t, uint64_t>> blocks;  // (gpa, pages) freed as one
    std::vector<uint64_t> singles;                       // split frames, freed one by one
    uint64_t free0 = frames_free();
    for (int step = 0; step < 20000; ++step) {
        int op = static_cast<int>(rng() % 4);
        if (op == 0) {
            unsigned order = rng() % 6;
            uint64_t g = frame_alloc(order);
            if (!g)
                continue;
            ASSERT_TRUE(owned.take(g, 1ull << order)) << "step " << step;
            ASSERT_EQ(g % (kPg << order), 0u);  // buddy blocks are size-aligned
            blocks.push_back({g, 1ull << order});
        } else if (op == 1) {
            unsigned order = rng() % 6;
            uint64_t g = frame_alloc_split(order);
            if (!g)
                continue;
            ASSERT_TRUE(owned.take(g, 1ull << order)) << "step " << step;
            for (uint64_t k = 0; k < (1ull << order); ++k)
                singles.push_back(g + k * kPg);
        } else if (op == 2 && !blocks.empty()) {
            size_t i = rng() % blocks.size();
            frame_unref(blocks[i].first);
            owned.drop(blocks[i].first, blocks[i].second);
            blocks.erase(blocks.begin() + static_cast<long>(i));
        } else if (op == 3 && !singles.empty()) {
            size_t i = rng() % singles.size();
            frame_unref(singles[i]);
            owned.drop(singles[i], 1);
            singles.erase(singles.begin() + static_cast<long>(i));
        }
    }
    for (auto& b : blocks)
        frame_unref(b.first);
    for (auto g : singles)
        frame_unref(g);
    EXPECT_EQ(frames_free(), free0);
}


// Freed memory beyond what the allocator keeps for reuse (32 MiB here) goes
// back to the host in whole 2 MiB blocks; what comes back reads as zero.
TEST(Frames, FreeMemoryBeyondTheReserveGoesBackToTheHost) {
    testing::GuestMm mm;
    std::vector<uint64_t> blocks;
    for (uint64_t g; (g = frame_alloc(kMaxOrder)) != 0;) {
        std::memset(phys_to_virt(g), 0xab, kPg << kMaxOrder);
        blocks.push_back(g);
    }
    ASSERT_GE(blocks.size(), 20u);
    EXPECT_EQ(testing::mm_stubs().released, 0u);
    for (uint64_t g : blocks)
        frame_unref(g);
    const uint64_t total = blocks.size() * (kPg << kMaxOrder), keep = 32ull << 20;
    EXPECT_EQ(testing::mm_stubs().released, total - keep);
    // Everything comes back zeroed: the released blocks by the host, the
    // kept ones by the allocator.
    for (size_t k = 0; k < blocks.size(); ++k) {
        uint64_t g = frame_alloc(kMaxOrder);
        ASSERT_NE(g, 0u);
        const auto* p = static_cast<const uint8_t*>(phys_to_virt(g));
        for (uint64_t b = 0; b < (kPg << kMaxOrder); b += 512)
            ASSERT_EQ(p[b], 0) << "block " << k;
    }
}

}  // namespace
}  // namespace lightvm::guest

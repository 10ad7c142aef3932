// The working-set file (snapshot/working_set.hpp): what pagemap says becomes
// ranges, ranges round-trip, and every damaged or foreign file is refused.
#include <gtest/gtest.h>

#include "snapshot/working_set.hpp"

namespace lightvm::snapshot {
namespace {

constexpr uint64_t kPresent = 1ull << 63, kFile = 1ull << 61;
constexpr uint64_t kTag = 0x1234abcd, kMem = 64ull << 20;

TEST(WorkingSet, PagemapBecomesRangesOfOneKind) {
    // pages: 0 absent, 1-2 read, 3 written, 4 written, 5 absent, 6 read
    const uint64_t e[] = {0, kPresent | kFile, kPresent | kFile, kPresent, kPresent, 0, kPresent | kFile};
    const std::vector<WsRange> want = {{4096, 2, 0}, {3 * 4096, 2, kWritten}, {6 * 4096, 1, 0}};
    EXPECT_EQ(ws_from_pagemap(e), want);
    EXPECT_TRUE(ws_from_pagemap({}).empty());
}

TEST(WorkingSet, RoundTrips) {
    const std::vector<WsRange> r = {{0, 1, kWritten}, {8192, 10, 0}, {kMem - 4096, 1, 0}};
    auto back = ws_decode(ws_encode(r, kTag), kTag, kMem);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, r);
    auto empty = ws_decode(ws_encode({}, kTag), kTag, kMem);
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
}

std::string error_of(const std::vector<uint8_t>& bytes, uint64_t tag = kTag) {
    auto r = ws_decode(bytes, tag, kMem);
    return r ? "" : r.error().to_string();
}

TEST(WorkingSet, DamagedOrForeignFilesAreRefused) {
    const auto good = ws_encode({{4096, 2, 0}, {16384, 1, kWritten}}, kTag);
    EXPECT_EQ(error_of(good, kTag + 1), "working set: recorded from another snapshot");
    for (size_t n = 0; n < good.size(); ++n)
        EXPECT_NE(error_of({good.begin(), good.begin() + static_cast<long>(n)}), "") << "truncated to " << n;
    for (size_t i = 0; i < good.size(); ++i) {
        auto bad = good;
        bad[i] ^= 0x40;
        EXPECT_NE(error_of(bad), "") << "byte " << i << " flipped";
    }
    EXPECT_EQ(error_of(std::vector<uint8_t>(good.size(), 0)), "working set: not a lightvm working-set file (bad magic)");
}

TEST(WorkingSet, RangesMustBeSortedAlignedAndInsideMemory) {
    auto refused = [](std::vector<WsRange> r) { return !ws_decode(ws_encode(r, kTag), kTag, kMem); };
    EXPECT_TRUE(refused({{8192, 1, 0}, {4096, 1, 0}}));   // out of order
    EXPECT_TRUE(refused({{4096, 2, 0}, {8192, 1, 0}}));   // overlapping
    EXPECT_TRUE(refused({{100, 1, 0}}));                  // unaligned
    EXPECT_TRUE(refused({{4096, 0, 0}}));                 // empty
    EXPECT_TRUE(refused({{kMem - 4096, 2, 0}}));          // past the end
    EXPECT_TRUE(refused({{kMem, 1, 0}}));
    EXPECT_TRUE(refused({{0, 1, 4}}));                    // unknown flag
    EXPECT_FALSE(refused({{0, static_cast<uint32_t>(kMem / 4096), kWritten}}));
}

}  // namespace
}  // namespace lightvm::snapshot

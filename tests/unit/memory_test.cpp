// Hosted tests of the guest kernel's virtual memory (guest/kernel/mm/):
// mmap family and brk over real page tables and frames laid in a host
// buffer, checked through the user-access layer the syscalls use.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstring>

#include "guest_mm_fixture.hpp"
#include "kernel/errno.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"

namespace lightvm::guest {
namespace {

constexpr uint64_t kPg = 4096;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr int kAnon = MAP_PRIVATE | MAP_ANONYMOUS;
constexpr int kRW = PROT_READ | PROT_WRITE;

class MemoryTest : public ::testing::Test {
protected:
    testing::GuestMm m_mm;

    static void fill(uint64_t addr, uint64_t len, uint8_t v) {
        std::vector<uint8_t> b(len, v);
        ASSERT_EQ(copy_to_user(addr, b.data(), len), 0);
    }
    static bool all(uint64_t addr, uint64_t len, uint8_t v) {
        std::vector<uint8_t> b(len);
        if (copy_from_user(b.data(), addr, len) != 0)
            return false;
        for (auto c : b)
            if (c != v)
                return false;
        return true;
    }
};

TEST_F(MemoryTest, AnonymousMappingsAreZeroedWritableAndGiveTheirFramesBack) {
    uint64_t free0 = frames_free();
    long a = mem_mmap(0, 3 * kPg + 5, kRW, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    EXPECT_EQ(a % kPg, 0);
    EXPECT_GE(static_cast<uint64_t>(a), kUserMin);
    EXPECT_TRUE(all(a, 4 * kPg, 0));
    fill(a, 4 * kPg, 0x5a);
    EXPECT_TRUE(all(a, 4 * kPg, 0x5a));
    EXPECT_FALSE(access_ok(a + 4 * kPg, 1));  // only what was asked for, rounded to pages
    EXPECT_LT(frames_free(), free0);
    EXPECT_EQ(mem_munmap(a, 4 * kPg), 0);
    EXPECT_FALSE(access_ok(a, 1));
    // Everything back except the page tables, which stay for the address space's life.
    EXPECT_GE(frames_free() + 4, free0);
    long b = mem_mmap(0, 4 * kPg, kRW, kAnon, nullptr, 0);
    ASSERT_GT(b, 0);
    EXPECT_TRUE(all(b, 4 * kPg, 0));  // reused frames were zeroed
}

TEST_F(MemoryTest, HugeProtNoneReservationsCostNoFramesAndCommitOnMprotect) {
    uint64_t free0 = frames_free();
    long r64 = mem_mmap(0, 64 * kGiB, PROT_NONE, kAnon | MAP_NORESERVE, nullptr, 0);
    long r1t = mem_mmap(0, 1024 * kGiB, PROT_NONE, kAnon | MAP_NORESERVE, nullptr, 0);
    ASSERT_GT(r64, 0);
    ASSERT_GT(r1t, 0);
    EXPECT_GE(frames_free() + 8, free0);
    EXPECT_FALSE(access_ok(r1t, 1));
    EXPECT_EQ(mem_mprotect(r1t + 512 * kGiB, 16 * kMiB, kRW), 0);
    fill(r1t + 512 * kGiB, 16 * kMiB, 7);
    EXPECT_TRUE(all(r1t + 512 * kGiB + 16 * kMiB - kPg, kPg, 7));
    EXPECT_FALSE(access_ok(r1t + 512 * kGiB + 16 * kMiB, 1));
    EXPECT_EQ(mem_munmap(r1t, 1024 * kGiB), 0);
    EXPECT_EQ(mem_munmap(r64, 64 * kGiB), 0);
}

TEST_F(MemoryTest, MprotectTakesWriteAwayAndFlushesOnce) {
    long a = mem_mmap(0, 8 * kPg, kRW, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    fill(a, 8 * kPg, 1);
    int loads = testing::mm_stubs().root_loads, pages = testing::mm_stubs().pages_flushed;
    EXPECT_EQ(mem_mprotect(a + 2 * kPg, 4 * kPg, PROT_READ), 0);
    EXPECT_EQ(testing::mm_stubs().pages_flushed, pages + 4);  // a few pages: one by one
    EXPECT_EQ(testing::mm_stubs().root_loads, loads);
    EXPECT_EQ(mem_mprotect(a, 8 * kPg, PROT_READ | PROT_WRITE), 0);  // adding rights: nothing stale
    EXPECT_EQ(testing::mm_stubs().pages_flushed, pages + 4);
    long big = mem_mmap(0, 64 * kPg, kRW, kAnon | MAP_POPULATE, nullptr, 0);
    ASSERT_GT(big, 0);
    EXPECT_EQ(mem_munmap(big, 64 * kPg), 0);  // many pages: one CR3 reload
    EXPECT_EQ(testing::mm_stubs().root_loads, loads + 1);
    EXPECT_EQ(mem_mprotect(a + 2 * kPg, 4 * kPg, PROT_READ), 0);
    EXPECT_TRUE(access_ok(a + 2 * kPg, 4 * kPg));
    EXPECT_FALSE(access_ok_write(a + 2 * kPg, 1));
    EXPECT_TRUE(access_ok_write(a + kPg, kPg));
    EXPECT_TRUE(access_ok_write(a + 6 * kPg, 2 * kPg));
    EXPECT_EQ(mem_mprotect(a + 2 * kPg, kPg, PROT_NONE), 0);
    EXPECT_FALSE(access_ok(a + 2 * kPg, 1));
    EXPECT_EQ(mem_mprotect(a + 2 * kPg, kPg, kRW), 0);
    EXPECT_TRUE(all(a + 2 * kPg, kPg, 1));  // PROT_NONE kept the data
    EXPECT_EQ(mem_mprotect(a + 1, kPg, PROT_READ), -err::kInval);
    EXPECT_EQ(mem_mprotect(a + 8 * kPg, kPg, PROT_READ), -err::kNoMem);
}

TEST_F(MemoryTest, MunmapOfAMiddleRangeSplitsTheMapping) {
    long a = mem_mmap(0, 10 * kPg, kRW, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    fill(a, 10 * kPg, 3);
    EXPECT_EQ(mem_munmap(a + 3 * kPg, 4 * kPg), 0);
    EXPECT_TRUE(all(a, 3 * kPg, 3));
    EXPECT_TRUE(all(a + 7 * kPg, 3 * kPg, 3));
    EXPECT_FALSE(access_ok(a + 3 * kPg, 1));
    EXPECT_FALSE(access_ok(a + 7 * kPg - 1, 1));
    EXPECT_EQ(mem_munmap(a + 1, kPg), -err::kInval);
    EXPECT_EQ(mem_munmap(a, 0), -err::kInval);
    EXPECT_EQ(mem_munmap(a + 3 * kPg, kPg), 0);  // unmapping nothing is fine
}

TEST_F(MemoryTest, FixedMappingsReplaceOrRefuse) {
    long a = mem_mmap(0, 4 * kPg, kRW, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    fill(a, 4 * kPg, 9);
    EXPECT_EQ(mem_mmap(a + kPg, kPg, kRW, kAnon | MAP_FIXED_NOREPLACE, nullptr, 0), -err::kExist);
    EXPECT_EQ(mem_mmap(a + kPg, kPg, kRW, kAnon | MAP_FIXED, nullptr, 0), a + static_cast<long>(kPg));
    EXPECT_TRUE(all(a + kPg, kPg, 0));
    EXPECT_TRUE(all(a, kPg, 9));
    EXPECT_EQ(mem_mmap(a + 1, kPg, kRW, kAnon | MAP_FIXED, nullptr, 0), -err::kInval);
    EXPECT_EQ(mem_mmap(kPg, kPg, kRW, kAnon | MAP_FIXED, nullptr, 0), -err::kPerm);
    EXPECT_EQ(mem_mmap(0, 0, kRW, kAnon, nullptr, 0), -err::kInval);
    EXPECT_EQ(mem_mmap(0, kPg, kRW, MAP_ANONYMOUS, nullptr, 0), -err::kInval);
}

TEST_F(MemoryTest, BrkGrowsAndShrinksButNotIntoAMapping) {
    uint64_t start = m_mm.as().brk;
    EXPECT_EQ(mem_brk(0), start);
    EXPECT_EQ(mem_brk(start + 10 * kPg + 1), start + 10 * kPg + 1);
    fill(start, 11 * kPg, 4);
    EXPECT_EQ(mem_brk(start + kPg), start + kPg);
    EXPECT_FALSE(access_ok(start + kPg, 1));
    ASSERT_EQ(mem_mmap(start + 4 * kPg, kPg, kRW, kAnon | MAP_FIXED, nullptr, 0), static_cast<long>(start + 4 * kPg));
    EXPECT_EQ(mem_brk(start + 8 * kPg), start + kPg);  // refused
    EXPECT_EQ(mem_brk(start + 4 * kPg), start + 4 * kPg);
    EXPECT_TRUE(all(start + kPg, 3 * kPg, 0));  // regrown pages are fresh
}

TEST_F(MemoryTest, MremapGrowsInPlaceMovesKeepingDataOrShrinks) {
    long a = mem_mmap(0, 2 * kPg, kRW, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    fill(a, 2 * kPg, 6);
    long g = mem_mremap(a, 2 * kPg, 4 * kPg, 0, 0);
    if (g > 0) {
        EXPECT_EQ(g, a);
        EXPECT_TRUE(all(a, 2 * kPg, 6));
        EXPECT_TRUE(all(a + 2 * kPg, 2 * kPg, 0));
    }
    long blocker = mem_mmap(a + 4 * kPg, kPg, kRW, kAnon | MAP_FIXED, nullptr, 0);
    ASSERT_EQ(blocker, a + 4 * static_cast<long>(kPg));
    EXPECT_EQ(mem_mremap(a, 4 * kPg, 8 * kPg, 0, 0), -err::kNoMem);
    long m = mem_mremap(a, 4 * kPg, 8 * kPg, MREMAP_MAYMOVE, 0);
    ASSERT_GT(m, 0);
    EXPECT_NE(m, a);
    EXPECT_TRUE(all(m, 2 * kPg, 6));
    EXPECT_TRUE(all(m + 4 * kPg, 4 * kPg, 0));
    EXPECT_FALSE(access_ok(a, 1));
    EXPECT_EQ(mem_mremap(m, 8 * kPg, kPg, 0, 0), m);
    EXPECT_FALSE(access_ok(m + kPg, 1));
    EXPECT_EQ(mem_mremap(m + 1, kPg, kPg, 0, 0), -err::kInval);
    EXPECT_EQ(mem_mremap(a, kPg, 2 * kPg, MREMAP_MAYMOVE, 0), -err::kFault);
}

TEST_F(MemoryTest, MadviseDontneedGivesZerosBack) {
    long a = mem_mmap(0, 4 * kPg, kRW, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    fill(a, 4 * kPg, 0xee);
    EXPECT_EQ(mem_madvise(a + kPg, 2 * kPg, MADV_DONTNEED), 0);
    EXPECT_TRUE(all(a, kPg, 0xee));
    EXPECT_TRUE(all(a + kPg, 2 * kPg, 0));
    EXPECT_TRUE(all(a + 3 * kPg, kPg, 0xee));
    EXPECT_EQ(mem_madvise(a + 8 * kPg, kPg, MADV_DONTNEED), -err::kNoMem);
}

TEST_F(MemoryTest, FileMappingsReadTheFileAtTheirOffset) {
    auto& file = testing::mm_stubs().file;
    file.resize(3 * kPg + 100);
    for (size_t i = 0; i < file.size(); ++i)
        file[i] = static_cast<uint8_t>(i / kPg + 1);
    auto* fake = reinterpret_cast<OpenFile*>(0x1000);
    long a = mem_mmap(0, 4 * kPg, PROT_READ, MAP_PRIVATE, fake, kPg);
    ASSERT_GT(a, 0);
    EXPECT_EQ(testing::mm_stubs().file_refs, 1);
    EXPECT_TRUE(all(a, kPg, 2));
    EXPECT_TRUE(all(a + 2 * kPg, 100, 4));
    EXPECT_TRUE(all(a + 2 * kPg + 100, kPg - 100, 0));  // past the end of the file
    EXPECT_FALSE(access_ok_write(a, 1));
    EXPECT_EQ(mem_munmap(a, kPg), 0);
    EXPECT_EQ(testing::mm_stubs().file_refs, 1);
    EXPECT_EQ(mem_munmap(a, 4 * kPg), 0);
    EXPECT_EQ(testing::mm_stubs().file_refs, 0);
}

TEST_F(MemoryTest, RunningOutOfFramesIsEnomemAndLeaksNothing) {
    uint64_t free0 = frames_free();
    // A large mapping is only address space until touched; populating it
    // at once (MAP_POPULATE) needs the frames now.
    long lazy = mem_mmap(0, 128 * kMiB, kRW, kAnon, nullptr, 0);
    ASSERT_GT(lazy, 0);
    EXPECT_GE(frames_free() + 1, free0);  // the VMA list's first page at most
    std::vector<uint8_t> big(80 * kMiB, 1);
    EXPECT_EQ(copy_to_user(lazy, big.data(), big.size()), -err::kFault);  // the kernel cannot back it
    EXPECT_EQ(mem_munmap(lazy, 128 * kMiB), 0);
    EXPECT_EQ(mem_mmap(0, 128 * kMiB, kRW, kAnon | MAP_POPULATE, nullptr, 0), -err::kNoMem);
    // Every data frame is back; page tables made on the way stay with the
    // address space (one per 2 MiB populated, ~60 MiB here).
    EXPECT_GE(frames_free() + 40, free0);
    long a = mem_mmap(0, 16 * kMiB, kRW, kAnon, nullptr, 0);
    EXPECT_GT(a, 0);
}

TEST_F(MemoryTest, ManyMappingsAndUnmapsKeepEveryPageWhereItWas) {
    std::vector<long> maps;
    for (int i = 0; i < 300; ++i) {
        long a = mem_mmap(0, (i % 5 + 1) * kPg, kRW, kAnon, nullptr, 0);
        ASSERT_GT(a, 0) << i;
        fill(a, kPg, static_cast<uint8_t>(i));
        maps.push_back(a);
    }
    for (int i = 0; i < 300; i += 2)
        ASSERT_EQ(mem_munmap(maps[i], (i % 5 + 1) * kPg), 0);
    for (int i = 1; i < 300; i += 2)
        ASSERT_TRUE(all(maps[i], kPg, static_cast<uint8_t>(i))) << i;
    EXPECT_EQ(m_mm.as().nvma, 150u);
}

}  // namespace
}  // namespace lightvm::guest

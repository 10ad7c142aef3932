// Hosted tests of the guest kernel's 2 MiB entries (guest/kernel/mm/):
// large private anonymous memory is mapped by one PD entry per 2 MiB, and
// every operation that changes part of one first turns it into 512 4 KiB
// entries over the same frames, so nothing a program wrote moves or leaks.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <vector>

#include "guest_mm_fixture.hpp"
#include "kernel/errno.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"

namespace lightvm::guest {
namespace {

constexpr uint64_t kPg = 4096;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t k2M = 2 * kMiB;
constexpr int kAnon = MAP_PRIVATE | MAP_ANONYMOUS;
constexpr int kRW = PROT_READ | PROT_WRITE;

class HugePageTest : public ::testing::Test {
protected:
    testing::GuestMm m_mm;

    AddressSpace& as() { return m_mm.as(); }
    bool huge_at(uint64_t va, AddressSpace* in = nullptr) {
        uint64_t* e = pt_pde((in ? in : &as())->root, va, false);
        return e && (*e & pte::kPresent) && (*e & pte::kHuge);
    }
    // A 2 MiB-aligned anonymous mapping of `len` (reserved with room to
    // align, the rest unmapped).
    uint64_t aligned_map(uint64_t len, int flags = kAnon) {
        long a = mem_mmap(0, len + k2M, kRW, flags | MAP_NORESERVE, nullptr, 0);
        EXPECT_GT(a, 0);
        uint64_t at = (static_cast<uint64_t>(a) + k2M - 1) & ~(k2M - 1);
        if (at > static_cast<uint64_t>(a)) {
            EXPECT_EQ(mem_munmap(a, at - a), 0);
        }
        if (at + len < static_cast<uint64_t>(a) + len + k2M) {
            EXPECT_EQ(mem_munmap(at + len, a + len + k2M - (at + len)), 0);
        }
        return at;
    }
    // Writes a pattern that differs per page.
    static void stamp(uint64_t addr, uint64_t len) {
        for (uint64_t off = 0; off < len; off += kPg) {
            uint64_t v = addr + off;
            ASSERT_EQ(copy_to_user(addr + off, &v, sizeof v), 0);
        }
    }
    static bool stamped(uint64_t addr, uint64_t len) {
        for (uint64_t off = 0; off < len; off += kPg) {
            uint64_t v = 0;
            if (copy_from_user(&v, addr + off, sizeof v) != 0 || v != addr + off)
                return false;
        }
        return true;
    }
};

TEST_F(HugePageTest, AFaultInLargeAnonymousMemoryMapsTwoMiBWithOneEntry) {
    uint64_t a = aligned_map(8 * kMiB);
    uint64_t resident0 = as().resident;
    ASSERT_EQ(as_fault(as(), a + 2 * k2M + 123, true, false), 0);
    EXPECT_TRUE(huge_at(a + 2 * k2M));
    EXPECT_FALSE(huge_at(a + k2M));  // only the 2 MiB around the fault
    EXPECT_EQ(as().resident - resident0, 512u);
    uint64_t gpa = 0;
    ASSERT_TRUE(as_translate(as(), a + 2 * k2M + 5 * kPg + 7, &gpa));
    EXPECT_EQ(gpa % k2M, 5 * kPg + 7);  // one 2 MiB-aligned block behind it
    stamp(a, 8 * kMiB);
    EXPECT_TRUE(stamped(a, 8 * kMiB));
}

TEST_F(HugePageTest, SmallMappingsTheStackAndMadvNoHugePageKeepFourKiBEntries) {
    uint64_t a = aligned_map(4 * kMiB);
    ASSERT_EQ(mem_madvise(a, 4 * kMiB, MADV_NOHUGEPAGE), 0);
    ASSERT_EQ(as_fault(as(), a, true, false), 0);
    EXPECT_FALSE(huge_at(a));
    ASSERT_EQ(mem_madvise(a, 4 * kMiB, MADV_HUGEPAGE), 0);
    ASSERT_EQ(as_fault(as(), a + k2M, true, false), 0);
    EXPECT_TRUE(huge_at(a + k2M));
    // A mapping smaller than 2 MiB never gets one, wherever it lies.
    long small = mem_mmap(0, k2M - kPg, kRW, kAnon | MAP_NORESERVE, nullptr, 0);
    ASSERT_GT(small, 0);
    ASSERT_EQ(as_fault(as(), small, true, false), 0);
    EXPECT_FALSE(huge_at(small));
}

TEST_F(HugePageTest, MunmapOfOnePageSplitsTheEntryAndKeepsTheRest) {
    uint64_t a = aligned_map(4 * kMiB);
    stamp(a, 4 * kMiB);
    ASSERT_TRUE(huge_at(a));
    uint64_t free0 = frames_free();
    ASSERT_EQ(mem_munmap(a + 7 * kPg, kPg), 0);
    EXPECT_FALSE(huge_at(a));
    EXPECT_FALSE(access_ok(a + 7 * kPg, 1));
    EXPECT_TRUE(stamped(a, 7 * kPg));
    EXPECT_TRUE(stamped(a + 8 * kPg, 4 * kMiB - 8 * kPg));
    EXPECT_TRUE(huge_at(a + k2M));  // the other 2 MiB is untouched
    // The page went back; the split took at most one table frame.
    EXPECT_GE(frames_free(), free0);
}

TEST_F(HugePageTest, MprotectOfAWholeEntryKeepsItPartOfOneSplitsIt) {
    uint64_t a = aligned_map(4 * kMiB);
    stamp(a, 4 * kMiB);
    ASSERT_EQ(mem_mprotect(a, k2M, PROT_READ), 0);
    EXPECT_TRUE(huge_at(a));
    EXPECT_FALSE(*pt_pde(as().root, a, false) & pte::kWrite);
    EXPECT_NE(copy_to_user(a, "x", 1), 0);  // read-only now
    ASSERT_EQ(mem_mprotect(a + k2M + kPg, kPg, PROT_READ), 0);
    EXPECT_FALSE(huge_at(a + k2M));
    EXPECT_NE(copy_to_user(a + k2M + kPg, "x", 1), 0);
    EXPECT_EQ(copy_to_user(a + k2M, "x", 1), 0);
    EXPECT_TRUE(stamped(a + kPg, k2M - kPg));
    EXPECT_TRUE(stamped(a + k2M + kPg, k2M - kPg));
}

TEST_F(HugePageTest, ProtNoneKeepsTheFramesInFourKiBEntries) {
    uint64_t a = aligned_map(2 * kMiB);
    stamp(a, 2 * kMiB);
    ASSERT_EQ(mem_mprotect(a, k2M, PROT_NONE), 0);
    EXPECT_FALSE(huge_at(a));
    EXPECT_FALSE(access_ok(a, 1));
    ASSERT_EQ(mem_mprotect(a, k2M, kRW), 0);
    EXPECT_TRUE(stamped(a, 2 * kMiB));
}

TEST_F(HugePageTest, MadvDontneedOfPartGivesZerosThereOnly) {
    uint64_t a = aligned_map(4 * kMiB);
    stamp(a, 4 * kMiB);
    ASSERT_EQ(mem_madvise(a + kPg, kPg, MADV_DONTNEED), 0);
    ASSERT_EQ(mem_madvise(a + k2M, k2M, MADV_DONTNEED), 0);
    uint64_t v = 1;
    ASSERT_EQ(copy_from_user(&v, a + kPg, sizeof v), 0);
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(stamped(a, kPg));
    EXPECT_TRUE(stamped(a + 2 * kPg, k2M - 2 * kPg));
    ASSERT_EQ(copy_from_user(&v, a + k2M + 99 * kPg, sizeof v), 0);
    EXPECT_EQ(v, 0u);
}

TEST_F(HugePageTest, MremapMovesTheDataOfHugeEntries) {
    uint64_t a = aligned_map(4 * kMiB);
    stamp(a, 4 * kMiB);
    std::vector<uint64_t> before(4 * kMiB / kPg);
    for (uint64_t i = 0; i < before.size(); ++i)
        ASSERT_EQ(copy_from_user(&before[i], a + i * kPg, 8), 0);
    uint64_t to = aligned_map(4 * kMiB);
    long b = mem_mremap(a, 4 * kMiB, 4 * kMiB, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    ASSERT_EQ(b, static_cast<long>(to));
    EXPECT_FALSE(access_ok(a, 1));
    for (uint64_t i = 0; i < before.size(); ++i) {
        uint64_t v = 0;
        ASSERT_EQ(copy_from_user(&v, b + i * kPg, 8), 0);
        ASSERT_EQ(v, before[i]) << i;
    }
}

TEST_F(HugePageTest, ForkCopiesHugeEntriesAndTheParentKeepsItsData) {
    uint64_t a = aligned_map(4 * kMiB);
    stamp(a, 4 * kMiB);
    AddressSpace* child = as_fork(as());
    ASSERT_NE(child, nullptr);
    EXPECT_FALSE(huge_at(a));  // the parent's entries are 4 KiB now
    EXPECT_TRUE(stamped(a, 4 * kMiB));
    uint64_t cg = 0;
    ASSERT_TRUE(as_translate(*child, a + 3 * kPg, &cg));
    uint64_t v = 0;
    memcpy(&v, phys_to_virt(cg), 8);
    EXPECT_EQ(v, a + 3 * kPg);
    as_put(child);
}

TEST_F(HugePageTest, TearDownFreesEveryFrameOfHugeEntries) {
    uint64_t free0 = frames_free();
    {
        AddressSpace* other = as_create();
        ASSERT_NE(other, nullptr);
        other->mmap_top = as().mmap_top;
        AddressSpace* mine = &as();
        Process* p = current_process();
        p->mm = other;
        uint64_t a = aligned_map(8 * kMiB);
        stamp(a, 8 * kMiB);
        EXPECT_TRUE(huge_at(a + 3 * k2M, other));
        p->mm = mine;
        as_put(other);
    }
    // Everything back but tables kept for reuse (the root and a few).
    EXPECT_GE(frames_free() + pt_tables_cached() + 8, free0);
}

TEST_F(HugePageTest, OutOfTwoMiBBlocksFallsBackToSmallPages) {
    uint64_t a = aligned_map(2 * kMiB);
    // Take every frame, then give 300 single ones back: fewer than a
    // 2 MiB block's worth is free, so no block can form.
    while (frame_alloc(kMaxOrder)) {
        // (the fixture's next RAM starts over: nothing to give back)
    }
    std::vector<uint64_t> singles;
    while (uint64_t f = frame_alloc(0))
        singles.push_back(f);
    for (int i = 0; i < 300 && !singles.empty(); ++i) {
        frame_unref(singles.back());
        singles.pop_back();
    }
    EXPECT_EQ(as_fault(as(), a, true, false), 0);
    EXPECT_FALSE(huge_at(a));
    EXPECT_TRUE(access_ok(a, kPg));
    for (uint64_t f : singles)
        frame_unref(f);
}

}  // namespace
}  // namespace lightvm::guest

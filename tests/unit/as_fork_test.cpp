// Hosted tests of fork's address-space copy and of address-space teardown
// (guest/kernel/mm/as_lifetime.cpp): copy-on-write sharing, both sides
// seeing their own writes, shared mappings staying shared, and every frame
// coming back when the copies die.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <vector>

#include "guest_mm_fixture.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/page_table.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/uaccess.hpp"

namespace lightvm::guest {
namespace {

constexpr uint64_t kPg = 4096;
constexpr int kRW = PROT_READ | PROT_WRITE;

class AsForkTest : public ::testing::Test {
protected:
    testing::GuestMm m_mm;

    // Runs fn with `as` as the current address space.
    template <typename F>
    void in(AddressSpace* as, F fn) {
        AddressSpace* saved = current_process()->mm;
        current_process()->mm = as;
        testing::mm_stubs().loaded_root = as->root;
        fn();
        current_process()->mm = saved;
        testing::mm_stubs().loaded_root = saved->root;
    }
    static uint8_t peek(uint64_t a) {
        uint8_t v = 0xee;
        EXPECT_EQ(copy_from_user(&v, a, 1), 0);
        return v;
    }
    static void poke(uint64_t a, uint8_t v) { ASSERT_EQ(copy_to_user(a, &v, 1), 0); }
    static uint64_t frame_of(AddressSpace& as, uint64_t va) {
        uint64_t gpa = 0;
        EXPECT_TRUE(as_translate(as, va, &gpa));
        return gpa & ~(kPg - 1);
    }
};

TEST_F(AsForkTest, PrivatePagesAreCopiedWithinTheBudget) {
    long a = mem_mmap(0, 4 * kPg, kRW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, nullptr, 0);
    ASSERT_GT(a, 0);
    poke(a, 1);
    AddressSpace* child = as_fork(m_mm.as(), 2);  // two pages copied, the others copy-on-write
    ASSERT_NE(child, nullptr);
    int copied = 0, shared = 0;
    for (uint64_t off = 0; off < 4 * kPg; off += kPg) {
        bool same = frame_of(*child, a + off) == frame_of(m_mm.as(), a + off);
        (same ? shared : copied)++;
    }
    EXPECT_EQ(copied, 2);
    EXPECT_EQ(shared, 2);
    in(child, [&] { EXPECT_EQ(peek(a), 1); });
    as_put(child);
}

TEST_F(AsForkTest, PrivatePagesAreSharedCopyOnWrite) {
    long a = mem_mmap(0, 4 * kPg, kRW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, nullptr, 0);
    ASSERT_GT(a, 0);
    poke(a, 1);
    poke(a + kPg, 2);
    AddressSpace* child = as_fork(m_mm.as(), 0);
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(frame_of(*child, a), frame_of(m_mm.as(), a));  // shared until written
    EXPECT_EQ(frame_refs(frame_of(m_mm.as(), a)), 2u);
    in(child, [&] {
        EXPECT_EQ(peek(a), 1);
        poke(a, 9);  // the child's copy
        EXPECT_EQ(peek(a), 9);
    });
    EXPECT_EQ(peek(a), 1);  // the parent's page is unchanged
    EXPECT_NE(frame_of(*child, a), frame_of(m_mm.as(), a));
    poke(a + kPg, 7);  // the parent writes: its own copy
    in(child, [&] { EXPECT_EQ(peek(a + kPg), 2); });
    as_put(child);
}

TEST_F(AsForkTest, SharedMappingsStayShared) {
    long a = mem_mmap(0, 2 * kPg, kRW, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, nullptr, 0);
    ASSERT_GT(a, 0);
    AddressSpace* child = as_fork(m_mm.as());
    ASSERT_NE(child, nullptr);
    in(child, [&] { poke(a, 42); });
    EXPECT_EQ(peek(a), 42);
    as_put(child);
    EXPECT_EQ(peek(a), 42);
}

TEST_F(AsForkTest, EveryFrameComesBackWhenTheCopiesDie) {
    long a = mem_mmap(0, 64 * kPg, kRW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, nullptr, 0);
    ASSERT_GT(a, 0);
    const uint64_t free0 = frames_free();
    for (int round = 0; round < 4; ++round) {
        AddressSpace* child = as_fork(m_mm.as(), round % 2 ? 0 : kForkCopyPages);  // copy-on-write and copies
        ASSERT_NE(child, nullptr);
        in(child, [&] {
            for (uint64_t off = 0; off < 64 * kPg; off += kPg)
                poke(a + off, 3);  // every page copied
            EXPECT_GT(mem_mmap(0, 16 * kPg, kRW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, nullptr, 0), 0);
        });
        as_put(child);
        // The parent's pages are its own again (one reference each).
        EXPECT_EQ(frame_refs(frame_of(m_mm.as(), a)), 1u);
    }
    EXPECT_EQ(frames_free() + pt_tables_cached(), free0);  // dead tables wait in the cache
}

TEST_F(AsForkTest, AnEmptyAddressSpaceGivesBackItsTables) {
    const uint64_t free0 = frames_free();
    AddressSpace* fresh = as_create();
    ASSERT_NE(fresh, nullptr);
    in(fresh, [&] {
        EXPECT_GT(mem_mmap(0x40000000, 8 * kPg, kRW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_FIXED, nullptr, 0), 0);
        EXPECT_GT(mem_mmap(0x7e0000000000, 8 * kPg, kRW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_FIXED, nullptr, 0), 0);
    });
    as_put(fresh);
    EXPECT_EQ(frames_free() + pt_tables_cached(), free0);
    EXPECT_GE(pt_tables_cached(), 5u);  // root, two PDPTs, PDs, PTs: all cached as zeros
    for (uint32_t n = pt_tables_cached(); n; --n) {
        uint64_t t = pt_table_alloc();
        auto* w = static_cast<const uint64_t*>(phys_to_virt(t));
        for (int i = 0; i < 512; ++i)
            ASSERT_EQ(w[i], 0u) << "table " << t << " entry " << i;
    }
}

}  // namespace
}  // namespace lightvm::guest

// Hosted tests of the guest kernel's address-space bookkeeping
// (guest/kernel/mm/memory.cpp): brk, mmap, munmap, mremap, mprotect over an
// address space laid on a real host buffer, checked together with the
// user-access layer (an unmapped range is EFAULT for syscalls).
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "kernel/errno.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/task.hpp"

namespace lightvm::guest {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPages = 256;

// Pages [0, 16): the program image (user memory, not managed); [16, 256):
// brk and mmap.
class MemoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_mem = static_cast<uint8_t*>(std::aligned_alloc(kPage, kPages * kPage));
        std::memset(m_mem, 0, kPages * kPage);  // fresh guest RAM is zero (the kernel relies on it)
        m_as = new AddressSpace{};
        m_process.mm = m_as;
        m_task.process = &m_process;
        m_saved = this_cpu().current;
        this_cpu().current = &m_task;
        address_space_init(*m_as, page(0), page(kPages), page(16), page(kPages));
        memory_set_backed(~0ull, ~0ull);  // all RAM backed: no hypercall
    }
    void TearDown() override {
        this_cpu().current = m_saved;
        delete m_as;
        std::free(m_mem);
    }
    uint64_t page(uint64_t n) const { return reinterpret_cast<uint64_t>(m_mem) + n * kPage; }
    bool zero(uint64_t addr, uint64_t len) const {
        auto* p = reinterpret_cast<const uint8_t*>(addr);
        for (uint64_t i = 0; i < len; ++i)
            if (p[i])
                return false;
        return true;
    }
    static constexpr int kAnon = MAP_PRIVATE | MAP_ANONYMOUS;

    uint8_t* m_mem = nullptr;
    AddressSpace* m_as = nullptr;
    Process m_process{};
    Task m_task{};
    Task* m_saved = nullptr;
};

TEST_F(MemoryTest, MmapHandsOutZeroedPagesTopDownAndMunmapTakesThemBack) {
    long a = mem_mmap(0, 3 * kPage, PROT_READ | PROT_WRITE, kAnon);
    ASSERT_GT(a, 0);
    EXPECT_EQ(static_cast<uint64_t>(a), page(kPages - 3));
    EXPECT_TRUE(zero(a, 3 * kPage));
    EXPECT_TRUE(access_ok(a, 3 * kPage));
    std::memset(reinterpret_cast<void*>(a), 0xEE, 3 * kPage);  // used memory, given back, handed out again
    ASSERT_EQ(mem_munmap(a, 3 * kPage), 0);
    ASSERT_EQ(mem_mmap(0, 3 * kPage, PROT_READ | PROT_WRITE, kAnon), a);
    EXPECT_TRUE(zero(a, 3 * kPage)) << "reused pages must read as zero";
    EXPECT_EQ(mem_used(), 3 * kPage);
    long b = mem_mmap(0, 100, PROT_READ, kAnon);  // rounded up to a page
    EXPECT_EQ(static_cast<uint64_t>(b), page(kPages - 4));

    EXPECT_EQ(mem_munmap(a + kPage, kPage), 0);  // a hole in the middle
    EXPECT_FALSE(access_ok(a + kPage, 1));
    EXPECT_TRUE(access_ok(a, kPage));
    EXPECT_TRUE(access_ok(a + 2 * kPage, kPage));
    EXPECT_EQ(mem_used(), 3 * kPage);
    EXPECT_EQ(mem_munmap(a + kPage, kPage), 0) << "unmapping free memory is fine";
    EXPECT_EQ(mem_mprotect(a + kPage, kPage, PROT_READ), -err::kNoMem) << "as Linux: ENOMEM for unmapped";
}

TEST_F(MemoryTest, FixedMappingsReplaceOrRefuse) {
    long a = mem_mmap(page(100), 2 * kPage, PROT_READ | PROT_WRITE, kAnon | MAP_FIXED);
    ASSERT_EQ(static_cast<uint64_t>(a), page(100));
    std::memset(reinterpret_cast<void*>(a), 7, 2 * kPage);
    EXPECT_EQ(mem_mmap(page(101), kPage, PROT_READ, kAnon | MAP_FIXED_NOREPLACE), -err::kExist);
    EXPECT_EQ(static_cast<uint64_t>(mem_mmap(page(101), kPage, PROT_READ, kAnon | MAP_FIXED)), page(101));
    EXPECT_TRUE(zero(page(101), kPage)) << "MAP_FIXED over a mapping: the new one reads as zero";
    EXPECT_EQ(reinterpret_cast<uint8_t*>(a)[0], 7);
    EXPECT_EQ(mem_mmap(page(100) + 1, kPage, PROT_READ, kAnon | MAP_FIXED), -err::kInval);
    EXPECT_EQ(mem_mmap(page(kPages - 1), 2 * kPage, PROT_READ, kAnon | MAP_FIXED), -err::kNoMem);
    EXPECT_EQ(mem_mmap(0, 0, PROT_READ, kAnon), -err::kInval);
    EXPECT_EQ(mem_mmap(0, kPage, PROT_READ, MAP_ANONYMOUS), -err::kInval) << "neither shared nor private";
}

TEST_F(MemoryTest, BrkGrowsAndShrinksButNotIntoAMapping) {
    uint64_t start = mem_brk(0);
    EXPECT_EQ(start, page(16));
    EXPECT_FALSE(access_ok(start, 1)) << "nothing above the break yet";
    EXPECT_EQ(mem_brk(start + 5000), start + 5000);
    EXPECT_TRUE(access_ok(start, 5000));
    std::memset(reinterpret_cast<void*>(start), 0xEE, 5000);
    EXPECT_EQ(mem_brk(start), start);
    EXPECT_EQ(mem_brk(start + 5000), start + 5000);
    EXPECT_TRUE(zero(start, 5000)) << "memory given back by brk reads as zero when it grows again";
    ASSERT_EQ(static_cast<uint64_t>(mem_mmap(page(20), kPage, PROT_READ, kAnon | MAP_FIXED)), page(20));
    EXPECT_EQ(mem_brk(page(21)), start + 5000) << "refused: it would run into the mapping";
    EXPECT_EQ(mem_brk(start), start);
    EXPECT_FALSE(access_ok(start, 1));
    EXPECT_EQ(mem_brk(page(10)), start) << "below the start: unchanged";
}

TEST_F(MemoryTest, MremapGrowsInPlaceMovesOrShrinks) {
    long a = mem_mmap(page(50), kPage, PROT_READ | PROT_WRITE, kAnon | MAP_FIXED);
    std::memcpy(reinterpret_cast<void*>(a), "data", 5);
    EXPECT_EQ(mem_mremap(a, kPage, 3 * kPage, 0, 0), a) << "room above: in place";
    EXPECT_TRUE(access_ok(a, 3 * kPage));
    mem_mmap(page(53), kPage, PROT_READ, kAnon | MAP_FIXED);  // now a neighbour blocks growth
    EXPECT_EQ(mem_mremap(a, 3 * kPage, 5 * kPage, 0, 0), -err::kNoMem);
    long b = mem_mremap(a, 3 * kPage, 5 * kPage, MREMAP_MAYMOVE, 0);
    ASSERT_GT(b, 0);
    EXPECT_NE(b, a);
    EXPECT_STREQ(reinterpret_cast<const char*>(b), "data");
    EXPECT_FALSE(access_ok(a, 1)) << "the old range is gone";
    EXPECT_EQ(mem_mremap(b, 5 * kPage, kPage, 0, 0), b);
    EXPECT_FALSE(access_ok(b + kPage, 1));
    EXPECT_EQ(mem_mremap(b, kPage, 2 * kPage, MREMAP_FIXED | MREMAP_MAYMOVE, page(200)), -err::kInval);
}

TEST_F(MemoryTest, ManyMappingsAndUnmapsKeepTheBookkeepingExact) {
    // Every other page of 200 mappings unmapped, then everything: used is
    // exact throughout and the whole range is free again at the end.
    long base = mem_mmap(0, 200 * kPage, PROT_READ | PROT_WRITE, kAnon);
    ASSERT_GT(base, 0);
    for (uint64_t i = 0; i < 200; i += 2)
        ASSERT_EQ(mem_munmap(base + i * kPage, kPage), 0);
    EXPECT_EQ(mem_used(), 100 * kPage);
    EXPECT_EQ(m_as->nfree, 100);
    EXPECT_EQ(mem_munmap(base, 200 * kPage), 0);
    EXPECT_EQ(mem_used(), 0u);
    EXPECT_EQ(m_as->nfree, 1);
    EXPECT_EQ(static_cast<uint64_t>(mem_mmap(0, 240 * kPage, PROT_READ, kAnon)), page(16));
}

}  // namespace
}  // namespace lightvm::guest

// Hosted tests of the guest kernel's user-memory access layer
// (guest/kernel/mm/uaccess.cpp), built for the host: an address space is
// laid over a real host buffer, so copies really happen.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "kernel/errno.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/task.hpp"

namespace lightvm::guest {
namespace {

constexpr uint64_t kPage = 4096;

// Pages [0, 16) of a host buffer: [0, 2) "kernel", [2, 16) user; of the
// managed range [4, 12), pages [6, 8) are unmapped (free).
class UaccessTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_mem = static_cast<uint8_t*>(std::aligned_alloc(kPage, 16 * kPage));
        ASSERT_NE(m_mem, nullptr);
        std::memset(m_mem, 0xAA, 16 * kPage);
        m_as = new AddressSpace{};
        m_as->user_lo = page(2);
        m_as->user_hi = page(16);
        m_as->lo = page(4);
        m_as->hi = page(12);
        m_as->free[0] = {page(6), page(8)};
        m_as->nfree = 1;
        m_process.mm = m_as;
        m_task.process = &m_process;
        m_saved = this_cpu().current;
        this_cpu().current = &m_task;
    }
    void TearDown() override {
        this_cpu().current = m_saved;
        delete m_as;
        std::free(m_mem);
    }
    uint64_t page(uint64_t n) const { return reinterpret_cast<uint64_t>(m_mem) + n * kPage; }

    uint8_t* m_mem = nullptr;
    AddressSpace* m_as = nullptr;
    Process m_process{};
    Task m_task{};
    Task* m_saved = nullptr;
};

TEST_F(UaccessTest, RangesInsideMappedUserMemoryAreValid) {
    EXPECT_TRUE(access_ok(page(2), kPage));
    EXPECT_TRUE(access_ok(page(4), 2 * kPage));       // ends exactly at the hole
    EXPECT_TRUE(access_ok(page(8), 8 * kPage));       // from the hole's end to user_hi
    EXPECT_TRUE(access_ok(page(6) - 1, 1));
    EXPECT_TRUE(access_ok(page(5), 0));
}

TEST_F(UaccessTest, KernelUnmappedAndOverflowingRangesAreRefused) {
    EXPECT_FALSE(access_ok(page(0), 1));              // kernel memory
    EXPECT_FALSE(access_ok(page(2) - 1, 2));          // starts in the kernel, ends in user memory
    EXPECT_FALSE(access_ok(page(6), 1));              // unmapped
    EXPECT_FALSE(access_ok(page(5), kPage + 1));      // runs into the hole
    EXPECT_FALSE(access_ok(page(7) + 10, 2 * kPage)); // starts inside the hole
    EXPECT_FALSE(access_ok(page(15), kPage + 1));     // past user_hi
    EXPECT_FALSE(access_ok(page(3), ~0ull));          // addr + len overflows
    EXPECT_FALSE(access_ok(~0ull - 10, 20));
    EXPECT_FALSE(access_ok(0, 8));                    // NULL
}

TEST_F(UaccessTest, CopiesMoveDataOnlyWhenTheWholeRangeIsValid) {
    const char msg[] = "hello, user";
    ASSERT_EQ(copy_to_user(page(3), msg, sizeof msg), 0);
    char back[sizeof msg] = {};
    ASSERT_EQ(copy_from_user(back, page(3), sizeof msg), 0);
    EXPECT_STREQ(back, msg);

    char guard[8];
    std::memset(guard, 'g', sizeof guard);
    EXPECT_EQ(copy_from_user(guard, page(6) - 4, sizeof guard), -err::kFault);
    EXPECT_EQ(std::memcmp(guard, "gggggggg", 8), 0) << "nothing copied on EFAULT";
    EXPECT_EQ(copy_to_user(page(6) - 4, msg, 8), -err::kFault);
    EXPECT_EQ(m_mem[6 * kPage - 4], 0xAA) << "nothing written on EFAULT";
    EXPECT_EQ(clear_user(page(9), 16), 0);
    EXPECT_EQ(m_mem[9 * kPage + 15], 0);
    EXPECT_EQ(clear_user(page(1), 16), -err::kFault);
}

TEST_F(UaccessTest, StringsStopAtTheirNulOrAtInvalidMemory) {
    char* end_of_mapped = reinterpret_cast<char*>(page(6));
    std::memcpy(end_of_mapped - 4, "abc", 4);        // NUL is the last mapped byte
    EXPECT_EQ(strnlen_user(page(6) - 4, 4096), 3);
    end_of_mapped[-1] = 'd';                          // now it runs into the hole
    EXPECT_EQ(strnlen_user(page(6) - 4, 4096), -err::kFault);
    EXPECT_EQ(strnlen_user(page(6) - 4, 4), -err::kNameTooLong);  // no NUL within max: checked first

    std::memcpy(reinterpret_cast<char*>(page(10)), "/etc/passwd", 12);
    char buf[16];
    EXPECT_EQ(strncpy_from_user(buf, page(10), sizeof buf), 11);
    EXPECT_STREQ(buf, "/etc/passwd");
    EXPECT_EQ(strncpy_from_user(buf, page(10), 11), -err::kNameTooLong);  // needs 12 with its NUL
    EXPECT_EQ(strncpy_from_user(buf, page(1), sizeof buf), -err::kFault);
}

TEST_F(UaccessTest, UserPtrReadsAndWritesTypedValues) {
    UserPtr<uint64_t> p(page(11));
    EXPECT_EQ(p.write(0x1122334455667788ull), 0);
    uint64_t v = 0;
    EXPECT_EQ(p.read(v), 0);
    EXPECT_EQ(v, 0x1122334455667788ull);
    EXPECT_EQ((p + 1).addr(), page(11) + 8);
    EXPECT_EQ(UserPtr<uint64_t>(page(6)).read(v), -err::kFault);
}

TEST_F(UaccessTest, ManyHolesAgreeWithALinearScan) {
    // 200 one-page holes in a 1000-page range: the binary search must agree
    // with the obvious scan for every start and length tried.
    AddressSpace& as = *m_as;
    as.user_lo = 0x400000;
    as.user_hi = 0x400000 + 1000 * kPage;
    as.nfree = 0;
    for (uint64_t i = 0; i < 200; ++i) {
        uint64_t start = 0x400000 + (i * 5 + 2) * kPage;
        as.free[as.nfree++] = {start, start + kPage};
    }
    auto linear = [&](uint64_t a, uint64_t len) {
        if (a < as.user_lo || a > as.user_hi || len > as.user_hi - a)
            return false;
        for (int i = 0; i < as.nfree; ++i)
            if (len && as.free[i].start < a + len && a < as.free[i].end)
                return false;
        return true;
    };
    for (uint64_t a = 0x3ff000; a < 0x400000 + 1001 * kPage; a += 1536)
        for (uint64_t len : {uint64_t{0}, uint64_t{1}, uint64_t{100}, kPage, 3 * kPage, 7 * kPage})
            ASSERT_EQ(user_range_valid(as, a, len), linear(a, len)) << std::hex << a << " " << len;
}

}  // namespace
}  // namespace lightvm::guest

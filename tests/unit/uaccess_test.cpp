// Hosted tests of the guest kernel's user-memory access layer
// (guest/kernel/mm/uaccess.cpp) over real page tables (guest_mm_fixture.hpp).
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
constexpr int kAnon = MAP_PRIVATE | MAP_ANONYMOUS;

class UaccessTest : public ::testing::Test {
protected:
    testing::GuestMm m_mm;
};

TEST_F(UaccessTest, KernelUnmappedAndOverflowingRangesAreRefused) {
    long a = mem_mmap(0, 2 * kPg, PROT_READ | PROT_WRITE, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    EXPECT_TRUE(access_ok(a, 2 * kPg));
    EXPECT_TRUE(access_ok(a, 0));
    EXPECT_FALSE(access_ok(a, 2 * kPg + 1));
    EXPECT_FALSE(access_ok(0x1000, 8));                // the kernel's low region
    EXPECT_FALSE(access_ok(abi::kPhysMapBase, 8));     // the physmap
    EXPECT_FALSE(access_ok(a, ~0ull));                 // wraps
    EXPECT_FALSE(access_ok(~0ull - 4, 8));
    char buf[16] = "hello";
    EXPECT_EQ(copy_to_user(a + 2 * kPg - 3, buf, 6), -err::kFault);  // runs off the end: nothing copied
    EXPECT_EQ(copy_from_user(buf, 0x1000, 4), -err::kFault);
}

TEST_F(UaccessTest, CopiesCrossPagesThatAreNotPhysicallyContiguous) {
    // Interleave two mappings' frames, then free one: the survivor's pages
    // are every other frame.
    long a = mem_mmap(0, kPg, PROT_READ | PROT_WRITE, kAnon, nullptr, 0);
    long b = mem_mmap(0, kPg, PROT_READ | PROT_WRITE, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    ASSERT_GT(b, 0);
    long c = mem_mmap(0, 3 * kPg, PROT_READ | PROT_WRITE, kAnon, nullptr, 0);
    ASSERT_GT(c, 0);
    std::vector<uint8_t> in(3 * kPg), out(3 * kPg);
    for (size_t i = 0; i < in.size(); ++i)
        in[i] = static_cast<uint8_t>(i * 7);
    ASSERT_EQ(copy_to_user(c + 10, in.data(), in.size() - 10), 0);
    ASSERT_EQ(copy_from_user(out.data(), c + 10, out.size() - 10), 0);
    EXPECT_EQ(std::memcmp(in.data(), out.data(), in.size() - 10), 0);
    // phys_extent never reports more than is contiguous.
    uint64_t gpa, total = 0;
    for (uint64_t at = c; at < static_cast<uint64_t>(c) + 3 * kPg;) {
        uint64_t n = phys_extent(reinterpret_cast<void*>(at), c + 3 * kPg - at, &gpa);
        ASSERT_GT(n, 0u);
        for (uint64_t k = 0; k < n; k += kPg) {
            uint64_t g;
            ASSERT_TRUE(as_translate(m_mm.as(), at + k, &g));
            EXPECT_EQ(g, gpa + k);
        }
        at += n;
        total += n;
    }
    EXPECT_EQ(total, 3 * kPg);
}

TEST_F(UaccessTest, StringsStopAtTheirNulOrAtInvalidMemory) {
    long a = mem_mmap(0, kPg, PROT_READ | PROT_WRITE, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    const char msg[] = "path/to/file";
    ASSERT_EQ(copy_to_user(a + kPg - sizeof msg, msg, sizeof msg), 0);
    EXPECT_EQ(strnlen_user(a + kPg - sizeof msg, 100), static_cast<long>(sizeof msg - 1));
    char out[64];
    EXPECT_EQ(strncpy_from_user(out, a + kPg - sizeof msg, sizeof out), static_cast<long>(sizeof msg - 1));
    EXPECT_STREQ(out, msg);
    EXPECT_EQ(strncpy_from_user(out, a + kPg - sizeof msg, 4), -err::kNameTooLong);
    // No NUL before the mapping ends.
    char x = 'x';
    ASSERT_EQ(copy_to_user(a + kPg - 1, &x, 1), 0);
    EXPECT_EQ(strnlen_user(a + kPg - 1, 100), -err::kFault);
}

TEST_F(UaccessTest, WritesNeedWritablePages) {
    long a = mem_mmap(0, 2 * kPg, PROT_READ, kAnon, nullptr, 0);
    ASSERT_GT(a, 0);
    int v = 5;
    EXPECT_EQ(copy_to_user(a, &v, sizeof v), -err::kFault);
    EXPECT_EQ(UserPtr<int>(a).read(v), 0);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(clear_user(a, 8), -err::kFault);
}

}  // namespace
}  // namespace lightvm::guest

// Host tests for the freestanding guest libraries: TextBuffer, ChaCha20 and
// the strace formatter. These files are compiled unchanged into the guest
// kernel, so the tests exercise exactly the guest code.
#include <gtest/gtest.h>

#include <stdint.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "lib/chacha20.hpp"
#include "lib/format.hpp"
#include "trace/strace.hpp"

namespace lightvm::guest {
namespace {

// ---------------------------------------------------------------- TextBuffer

std::string build(size_t cap, void (*fill)(TextBuffer&), bool* truncated = nullptr) {
    std::vector<char> storage(cap + 16, '#');  // '#' canaries past cap
    TextBuffer tb(cap ? storage.data() : nullptr, cap);
    fill(tb);
    for (size_t i = cap; i < storage.size(); ++i) EXPECT_EQ(storage[i], '#') << "overflow at cap " << cap;
    if (truncated) *truncated = tb.truncated();
    if (cap == 0) {
        EXPECT_EQ(tb.size(), 0u);
        return {};
    }
    EXPECT_LT(tb.size(), cap);
    EXPECT_EQ(tb.data()[tb.size()], '\0');
    EXPECT_EQ(std::strlen(tb.data()), tb.size());
    return std::string(tb.data(), tb.size());
}

void fill_mixed(TextBuffer& tb) {
    tb.str("fd=").dec(-42).ch(' ').udec(1234567890123ull).str(" h=").hex(0xdeadbeef).str(" m=").oct(0644);
    tb.str("xyz", 2).dec(INT64_MIN);
}

TEST(TextBuffer, FormatsNumbers) {
    char buf[128];
    TextBuffer tb(buf, sizeof buf);
    tb.dec(0).ch(',').dec(-1).ch(',').dec(INT64_MAX).ch(',').dec(INT64_MIN);
    EXPECT_STREQ(buf, "0,-1,9223372036854775807,-9223372036854775808");
    TextBuffer tb2(buf, sizeof buf);
    tb2.udec(UINT64_MAX).ch(',').hex(0).ch(',').hex(0x1f).ch(',').hex(UINT64_MAX);
    EXPECT_STREQ(buf, "18446744073709551615,0x0,0x1f,0xffffffffffffffff");
    TextBuffer tb3(buf, sizeof buf);
    tb3.oct(0).ch(',').oct(07).ch(',').oct(0644).ch(',').oct(01777);
    EXPECT_STREQ(buf, "000,007,0644,01777");
    EXPECT_FALSE(tb3.truncated());
}

TEST(TextBuffer, DecInt64MinAlone) {
    char buf[21];  // exactly 20 chars + NUL
    TextBuffer tb(buf, sizeof buf);
    tb.dec(INT64_MIN);
    EXPECT_STREQ(buf, "-9223372036854775808");
    EXPECT_FALSE(tb.truncated());
    char small[20];
    TextBuffer tb2(small, sizeof small);
    tb2.dec(INT64_MIN);
    EXPECT_TRUE(tb2.truncated());
    EXPECT_STREQ(small, "-922337203685477580");
}

TEST(TextBuffer, StrVariants) {
    char buf[32];
    TextBuffer tb(buf, sizeof buf);
    tb.str("ab").str(nullptr).str("cdef", 2).str("", 0).ch('!');
    EXPECT_STREQ(buf, "abcd!");
    EXPECT_EQ(tb.size(), 5u);
}

TEST(TextBuffer, TruncatesSafelyAtEveryCapacity) {
    const std::string full = build(256, fill_mixed);
    ASSERT_GT(full.size(), 40u);
    for (size_t cap = 0; cap <= full.size() + 2; ++cap) {
        bool truncated = false;
        const std::string got = build(cap, fill_mixed, &truncated);
        const size_t expect_len = cap == 0 ? 0 : std::min(full.size(), cap - 1);
        EXPECT_EQ(got, full.substr(0, expect_len)) << "cap " << cap;
        EXPECT_EQ(truncated, full.size() > expect_len) << "cap " << cap;
    }
}

TEST(TextBuffer, NullStorageIsHarmless) {
    TextBuffer tb(nullptr, 0);
    tb.str("hello").dec(5).quoted(reinterpret_cast<const uint8_t*>("x"), 1, 4);
    EXPECT_EQ(tb.size(), 0u);
    EXPECT_TRUE(tb.truncated());
}

TEST(TextBuffer, QuotedEscapes) {
    const uint8_t data[] = {'a', 'b', '\n', 0x01, '"', '\\', '\t', '\r', 0x00, 0x7f, 0xff, ' ', '~'};
    char buf[128];
    TextBuffer tb(buf, sizeof buf);
    tb.quoted(data, sizeof data, 64);
    EXPECT_STREQ(buf, R"("ab\n\x01\"\\\t\r\x00\x7f\xff ~")");
}

TEST(TextBuffer, QuotedLimitsShownBytes) {
    const uint8_t data[] = "0123456789";
    char buf[64];
    {
        TextBuffer tb(buf, sizeof buf);
        tb.quoted(data, 10, 4);
        EXPECT_STREQ(buf, R"("0123"...)");
    }
    {
        TextBuffer tb(buf, sizeof buf);
        tb.quoted(data, 4, 4);
        EXPECT_STREQ(buf, R"("0123")");
    }
    {
        TextBuffer tb(buf, sizeof buf);
        tb.quoted(data, 0, 4);
        EXPECT_STREQ(buf, R"("")");
    }
}

void fill_quoted(TextBuffer& tb) {
    static const uint8_t data[] = {'h', 'i', 0x01, '\n', 0xfe, 'z', 0x00};
    tb.quoted(data, sizeof data, 6);
}

TEST(TextBuffer, QuotedNeverEmitsPartialEscape) {
    const std::string full = build(128, fill_quoted);
    EXPECT_EQ(full, R"("hi\x01\n\xfez"...)");
    for (size_t cap = 0; cap <= full.size() + 1; ++cap) {
        bool truncated = false;
        const std::string got = build(cap, fill_quoted, &truncated);
        EXPECT_EQ(full.compare(0, got.size(), got), 0) << "not a prefix at cap " << cap;
        EXPECT_EQ(truncated, got.size() < full.size());
        // A cut never lands inside an escape: the kept part ends on a whole token.
        // (the trailing "..." is plain text and may be cut anywhere)
        static const size_t kBoundaries[] = {0, 1, 2, 3, 7, 9, 13, 14, 15, 16, 17, 18};
        bool on_boundary = false;
        for (size_t b : kBoundaries) on_boundary |= got.size() == b;
        EXPECT_TRUE(on_boundary) << "cap " << cap << " got " << got;
    }
}

// ---------------------------------------------------------------- ChaCha20

std::string to_hex(const uint8_t* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 0xf];
    }
    return s;
}

TEST(ChaCha20, Rfc8439Section232BlockVector) {
    uint32_t key[8];
    for (uint32_t i = 0; i < 8; ++i) {
        const uint32_t b = 4 * i;  // key bytes 00 01 02 ... 1f, read little-endian
        key[i] = b | (b + 1) << 8 | (b + 2) << 16 | (b + 3) << 24;
    }
    const uint32_t nonce[3] = {0x09000000, 0x4a000000, 0x00000000};  // 00:00:00:09:00:00:00:4a:00:00:00:00
    uint8_t out[64];
    chacha20_block(key, 1, nonce, out);
    EXPECT_EQ(to_hex(out, 64),
              "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
              "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
}

TEST(ChaCha20, Rfc8439AppendixA1ZeroKeyVector) {
    const uint32_t key[8] = {};
    const uint32_t nonce[3] = {};
    uint8_t out[64];
    chacha20_block(key, 0, nonce, out);
    EXPECT_EQ(to_hex(out, 64),
              "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
              "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
}

std::array<uint8_t, 32> test_seed(uint8_t base) {
    std::array<uint8_t, 32> s{};
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(base + i * 7);
    return s;
}

std::vector<uint8_t> draw(ChaCha20Rng& rng, size_t n) {
    std::vector<uint8_t> v(n + 8, 0xa5);  // canaries after n
    rng.fill(v.data(), n);
    for (size_t i = n; i < v.size(); ++i) EXPECT_EQ(v[i], 0xa5) << "fill(" << n << ") overran";
    v.resize(n);
    return v;
}

const size_t kFillSizes[] = {0, 1, 31, 32, 33, 63, 64, 65, 4095, 4096, 4097, 1 << 20};

TEST(ChaCha20Rng, DeterministicFromSeed) {
    const auto seed = test_seed(1);
    ChaCha20Rng a;
    ChaCha20Rng b;
    EXPECT_FALSE(a.seeded());
    a.seed(seed.data());
    b.seed(seed.data());
    EXPECT_TRUE(a.seeded());
    for (size_t n : kFillSizes) EXPECT_EQ(draw(a, n), draw(b, n)) << "size " << n;
}

TEST(ChaCha20Rng, MatchesFastKeyErasureConstruction) {
    // fill() = bytes 32..63 of block 0 then blocks 1..; bytes 0..31 of block 0
    // become the next key and are never output.
    const auto seed = test_seed(9);
    uint32_t key[8];
    for (int i = 0; i < 8; ++i)
        key[i] = seed[4 * i] | seed[4 * i + 1] << 8 | seed[4 * i + 2] << 16 | static_cast<uint32_t>(seed[4 * i + 3]) << 24;
    const uint32_t nonce[3] = {};
    uint8_t b0[64];
    uint8_t b1[64];
    chacha20_block(key, 0, nonce, b0);
    chacha20_block(key, 1, nonce, b1);

    ChaCha20Rng rng;
    rng.seed(seed.data());
    const auto out = draw(rng, 40);
    EXPECT_EQ(0, std::memcmp(out.data(), b0 + 32, 32));
    EXPECT_EQ(0, std::memcmp(out.data() + 32, b1, 8));

    uint32_t next[8];
    for (int i = 0; i < 8; ++i)
        next[i] = b0[4 * i] | b0[4 * i + 1] << 8 | b0[4 * i + 2] << 16 | static_cast<uint32_t>(b0[4 * i + 3]) << 24;
    uint8_t c0[64];
    chacha20_block(next, 0, nonce, c0);
    const auto out2 = draw(rng, 16);
    EXPECT_EQ(0, std::memcmp(out2.data(), c0 + 32, 16));
}

TEST(ChaCha20Rng, OutputsDifferAcrossCallsAndSeeds) {
    ChaCha20Rng a;
    a.seed(test_seed(1).data());
    const auto first = draw(a, 64);
    const auto second = draw(a, 64);
    EXPECT_NE(first, second);

    ChaCha20Rng b;
    b.seed(test_seed(1).data());
    draw(b, 0);  // even an empty request advances the key
    EXPECT_NE(draw(b, 64), first);

    a.seed(test_seed(2).data());
    const auto reseeded = draw(a, 64);
    EXPECT_NE(reseeded, first);
    EXPECT_NE(reseeded, second);
    a.seed(test_seed(1).data());
    EXPECT_EQ(draw(a, 64), first);  // seeding replaces the state entirely
}

TEST(ChaCha20Rng, LargeFillLooksRandom) {
    ChaCha20Rng rng;
    rng.seed(test_seed(3).data());
    const auto big = draw(rng, 1 << 20);
    size_t counts[256] = {};
    for (uint8_t b : big) ++counts[b];
    // Expect 4096 per value; +-20% is > 15 standard deviations.
    for (size_t v = 0; v < 256; ++v) {
        EXPECT_GT(counts[v], 3276u) << v;
        EXPECT_LT(counts[v], 4916u) << v;
    }
    // Chunk boundaries (re-key points) must not repeat data.
    EXPECT_NE(0, std::memcmp(big.data(), big.data() + 4096, 4096));
    for (size_t n : {size_t{1}, size_t{63}, size_t{65}}) {
        const auto v = draw(rng, n);
        bool all_equal = true;
        for (uint8_t b : v) all_equal &= b == v[0];
        if (n > 1) {
            EXPECT_FALSE(all_equal) << n;
        }
    }
}

// ---------------------------------------------------------------- strace

struct Memory {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end)
    int calls = 0;

    void allow(const void* p, size_t n) {
        const auto a = reinterpret_cast<uint64_t>(p);
        ranges.emplace_back(a, a + n);
    }
    static bool readable(uint64_t addr, uint64_t len, void* ctx) {
        auto* self = static_cast<Memory*>(ctx);
        ++self->calls;
        for (const auto& [b, e] : self->ranges)
            if (addr >= b && addr <= e && len <= e - addr) return true;
        return false;
    }
};

uint64_t addr_of(const void* p) { return reinterpret_cast<uint64_t>(p); }

std::string trace(const SyscallRecord& rec, Memory* mem = nullptr) {
    char buf[1024];
    const size_t n = format_syscall(buf, sizeof buf, rec, mem ? &Memory::readable : nullptr, mem);
    EXPECT_EQ(n, std::strlen(buf));
    return std::string(buf, n);
}

std::string trace_entry(const SyscallRecord& rec, Memory* mem = nullptr) {
    char buf[1024];
    const size_t n = format_syscall_entry(buf, sizeof buf, rec, mem ? &Memory::readable : nullptr, mem);
    return std::string(buf, n);
}

TEST(Strace, Names) {
    EXPECT_STREQ(syscall_name(0), "read");
    EXPECT_STREQ(syscall_name(1), "write");
    EXPECT_STREQ(syscall_name(9), "mmap");
    EXPECT_STREQ(syscall_name(59), "execve");
    EXPECT_STREQ(syscall_name(60), "exit");
    EXPECT_STREQ(syscall_name(158), "arch_prctl");
    EXPECT_STREQ(syscall_name(231), "exit_group");
    EXPECT_STREQ(syscall_name(257), "openat");
    EXPECT_STREQ(syscall_name(318), "getrandom");
    EXPECT_STREQ(syscall_name(334), "rseq");
    EXPECT_STREQ(syscall_name(424), "pidfd_send_signal");
    EXPECT_STREQ(syscall_name(435), "clone3");
    EXPECT_STREQ(syscall_name(450), "set_mempolicy_home_node");
    EXPECT_STREQ(syscall_name(462), "mseal");
    EXPECT_EQ(syscall_name(336), nullptr);
    EXPECT_EQ(syscall_name(423), nullptr);
    EXPECT_EQ(syscall_name(9999), nullptr);
    EXPECT_EQ(syscall_name(UINT64_MAX), nullptr);

    // Every slot of the two contiguous ranges is named, and names are unique.
    std::vector<std::string> seen;
    for (uint64_t nr = 0; nr < 1000; ++nr) {
        const char* name = syscall_name(nr);
        if (nr <= 335 || (nr >= 424 && nr <= 462)) {
            EXPECT_NE(name, nullptr) << nr;
        }
        if (!name) continue;
        for (const auto& s : seen) EXPECT_NE(s, name) << nr;
        seen.emplace_back(name);
    }
}

TEST(Strace, Errnos) {
    EXPECT_STREQ(errno_name(1), "EPERM");
    EXPECT_STREQ(errno_name(2), "ENOENT");
    EXPECT_STREQ(errno_text(2), "No such file or directory");
    EXPECT_STREQ(errno_name(11), "EAGAIN");
    EXPECT_STREQ(errno_name(25), "ENOTTY");
    EXPECT_STREQ(errno_name(34), "ERANGE");
    EXPECT_STREQ(errno_name(38), "ENOSYS");
    EXPECT_STREQ(errno_text(38), "Function not implemented");
    EXPECT_STREQ(errno_name(95), "EOPNOTSUPP");
    EXPECT_STREQ(errno_name(110), "ETIMEDOUT");
    EXPECT_STREQ(errno_name(133), "EHWPOISON");
    EXPECT_STREQ(errno_name(512), "ERESTARTSYS");
    EXPECT_EQ(errno_name(0), nullptr);
    EXPECT_EQ(errno_name(-2), nullptr);
    EXPECT_EQ(errno_name(41), nullptr);
    EXPECT_EQ(errno_name(134), nullptr);
    EXPECT_EQ(errno_name(4095), nullptr);
    for (int64_t e = 1; e <= 133; ++e)
        if (errno_name(e)) {
            EXPECT_NE(errno_text(e), nullptr) << e;
        }
}

TEST(Strace, Write) {
    Memory mem;
    const char msg[] = "hello\n";
    mem.allow(msg, 6);
    EXPECT_EQ(trace({1, {1, addr_of(msg), 6}, 6}, &mem), "write(1, \"hello\\n\", 6) = 6\n");
}

TEST(Strace, WriteLongBufferIsCut) {
    Memory mem;
    const std::string text(100, 'z');
    mem.allow(text.data(), text.size());
    EXPECT_EQ(trace({1, {2, addr_of(text.data()), 100}, 100}, &mem),
              "write(2, \"" + std::string(32, 'z') + "\"..., 100) = 100\n");
}

TEST(Strace, ReadShowsOnlyReturnedBytes) {
    Memory mem;
    char buf[16] = "abcdefgh";
    mem.allow(buf, sizeof buf);
    EXPECT_EQ(trace({0, {3, addr_of(buf), 16}, 3}, &mem), "read(3, \"abc\", 16) = 3\n");
    EXPECT_EQ(trace({0, {3, addr_of(buf), 16}, 0}, &mem), "read(3, \"\", 16) = 0\n");
    EXPECT_EQ(trace({17, {3, addr_of(buf), 4, 64}, 99}, &mem), "pread64(3, \"abcd\", 4, 64) = 99\n");
    // Failed read: nothing was filled in, so only the pointer is shown.
    char expect[128];
    snprintf(expect, sizeof expect, "read(3, %#llx, 16) = -1 EAGAIN (Resource temporarily unavailable)\n",
             static_cast<unsigned long long>(addr_of(buf)));
    EXPECT_EQ(trace({0, {3, addr_of(buf), 16}, -11}, &mem), expect);
    // Before the call returns the buffer holds nothing meaningful either.
    snprintf(expect, sizeof expect, "read(3, %#llx, 16) = ?\n", static_cast<unsigned long long>(addr_of(buf)));
    EXPECT_EQ(trace_entry({0, {3, addr_of(buf), 16}, 3}, &mem), expect);
}

TEST(Strace, OpenatFlagsAndErrors) {
    Memory mem;
    const char path[] = "/etc/x";
    mem.allow(path, sizeof path);
    const uint64_t at_fdcwd = static_cast<uint64_t>(-100);
    EXPECT_EQ(trace({257, {at_fdcwd, addr_of(path), 0}, -2}, &mem),
              "openat(AT_FDCWD, \"/etc/x\", O_RDONLY) = -1 ENOENT (No such file or directory)\n");
    EXPECT_EQ(trace({257, {at_fdcwd, addr_of(path), 02000000}, 3}, &mem),
              "openat(AT_FDCWD, \"/etc/x\", O_RDONLY|O_CLOEXEC) = 3\n");
    EXPECT_EQ(trace({257, {at_fdcwd, addr_of(path), 01 | 0100 | 01000, 0644}, 4}, &mem),
              "openat(AT_FDCWD, \"/etc/x\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4\n");
    EXPECT_EQ(trace({257, {5, addr_of(path), 04000 | 02000000 | 0200000}, 6}, &mem),
              "openat(5, \"/etc/x\", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = 6\n");
    EXPECT_EQ(trace({257, {at_fdcwd, addr_of(path), 2 | 020200000, 0600}, 7}, &mem),
              "openat(AT_FDCWD, \"/etc/x\", O_RDWR|O_TMPFILE, 0600) = 7\n");
    EXPECT_EQ(trace({257, {at_fdcwd, addr_of(path), 0x80000000u}, -22}, &mem),
              "openat(AT_FDCWD, \"/etc/x\", O_RDONLY|0x80000000) = -1 EINVAL (Invalid argument)\n");
    EXPECT_EQ(trace({2, {addr_of(path), 1 | 0100, 0755}, 3}, &mem), "open(\"/etc/x\", O_WRONLY|O_CREAT, 0755) = 3\n");
    EXPECT_EQ(trace({21, {addr_of(path), 4 | 2}, -13}, &mem),
              "access(\"/etc/x\", R_OK|W_OK) = -1 EACCES (Permission denied)\n");
    EXPECT_EQ(trace({87, {addr_of(path)}, 0}, &mem), "unlink(\"/etc/x\") = 0\n");
    EXPECT_EQ(trace({263, {at_fdcwd, addr_of(path), 0x200}, 0}, &mem),
              "unlinkat(AT_FDCWD, \"/etc/x\", AT_REMOVEDIR) = 0\n");
}

TEST(Strace, Mmap) {
    const uint64_t minus1 = static_cast<uint64_t>(-1);
    EXPECT_EQ(trace({9, {0, 4096, 3, 0x22, minus1, 0}, 0x7f000}),
              "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f000\n");
    EXPECT_EQ(trace({9, {0x400000, 8192, 5, 0x812, 3, 0x2000}, 0x400000}),
              "mmap(0x400000, 8192, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x2000) = 0x400000\n");
    EXPECT_EQ(trace({9, {0, 1 << 21, 0, 0x40022 | (21ull << 26), minus1, 0}, -12}),
              "mmap(NULL, 2097152, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, -1, 0) = "
              "-1 ENOMEM (Cannot allocate memory)\n");
    EXPECT_EQ(trace({10, {0x1000, 4096, 1}, 0}), "mprotect(0x1000, 4096, PROT_READ) = 0\n");
    EXPECT_EQ(trace({11, {0x1000, 4096}, 0}), "munmap(0x1000, 4096) = 0\n");
    EXPECT_EQ(trace({12, {0}, 0x5000}), "brk(NULL) = 0x5000\n");
    EXPECT_EQ(trace({12, {0x6000}, 0x6000}), "brk(0x6000) = 0x6000\n");
}

TEST(Strace, ExitHasNoResult) {
    EXPECT_EQ(trace({231, {0}, 0}), "exit_group(0) = ?\n");
    EXPECT_EQ(trace_entry({231, {3}, 0}), "exit_group(3) = ?\n");
    EXPECT_EQ(trace({60, {static_cast<uint64_t>(-1)}, 0}), "exit(-1) = ?\n");
}

TEST(Strace, UnknownSyscall) {
    EXPECT_EQ(trace({9999, {1, 2, 0, 0xff, 5, 6}, -38}),
              "syscall_9999(0x1, 0x2, 0, 0xff, 0x5, 0x6) = -1 ENOSYS (Function not implemented)\n");
    EXPECT_EQ(trace({400, {}, -38}), "syscall_400(0, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)\n");
}

TEST(Strace, UnreadablePointerPrintsAsHex) {
    Memory mem;  // nothing readable
    EXPECT_EQ(trace({1, {1, 0x1000, 5}, 5}, &mem), "write(1, 0x1000, 5) = 5\n");
    EXPECT_EQ(trace({1, {1, 0x1000, 5}, 5}, nullptr), "write(1, 0x1000, 5) = 5\n");
    EXPECT_EQ(trace({1, {1, 0, 5}, -14}, &mem), "write(1, NULL, 5) = -1 EFAULT (Bad address)\n");
    EXPECT_EQ(trace({257, {static_cast<uint64_t>(-100), 0xdead0000, 0}, -14}, &mem),
              "openat(AT_FDCWD, 0xdead0000, O_RDONLY) = -1 EFAULT (Bad address)\n");
    // An address range that wraps is never read.
    EXPECT_EQ(trace({1, {1, UINT64_MAX - 2, 8}, 8}, &mem), "write(1, 0xfffffffffffffffd, 8) = 8\n");
}

TEST(Strace, StringEndingAtEdgeOfReadableMemory) {
    Memory mem;
    char storage[64] = "tail";
    mem.allow(storage, 5);  // exactly "tail\0"
    EXPECT_EQ(trace({87, {addr_of(storage)}, 0}, &mem), "unlink(\"tail\") = 0\n");
    // Without the terminator inside the readable range the string is unusable.
    Memory short_mem;
    short_mem.allow(storage, 4);
    char expect[64];
    snprintf(expect, sizeof expect, "unlink(%#llx) = 0\n", static_cast<unsigned long long>(addr_of(storage)));
    EXPECT_EQ(trace({87, {addr_of(storage)}, 0}, &short_mem), expect);
}

TEST(Strace, LongNonPathStringIsCut) {
    Memory mem;
    const std::string name(40, 'n');
    mem.allow(name.c_str(), name.size() + 1);
    EXPECT_EQ(trace({319, {addr_of(name.c_str()), 1}, 3}, &mem),
              "memfd_create(\"" + std::string(32, 'n') + "\"..., 0x1) = 3\n");
    const std::string exact(32, 'e');
    mem.allow(exact.c_str(), exact.size() + 1);
    EXPECT_EQ(trace({319, {addr_of(exact.c_str()), 0}, 3}, &mem), "memfd_create(\"" + exact + "\", 0) = 3\n");
}

TEST(Strace, SymbolicArguments) {
    Memory mem;
    EXPECT_EQ(trace({158, {0x1002, 0x7f0000001000}, 0}), "arch_prctl(ARCH_SET_FS, 0x7f0000001000) = 0\n");
    EXPECT_EQ(trace({158, {0x9999, 0}, -22}), "arch_prctl(0x9999, 0) = -1 EINVAL (Invalid argument)\n");
    EXPECT_EQ(trace({16, {1, 0x5413, 0x7ffd0000}, -25}),
              "ioctl(1, TIOCGWINSZ, 0x7ffd0000) = -1 ENOTTY (Inappropriate ioctl for device)\n");
    EXPECT_EQ(trace({16, {0, 0x5401, 0x7ffd0000}, 0}), "ioctl(0, TCGETS, 0x7ffd0000) = 0\n");
    EXPECT_EQ(trace({8, {3, static_cast<uint64_t>(-5), 1}, 10}), "lseek(3, -5, SEEK_CUR) = 10\n");
    EXPECT_EQ(trace({62, {77, 9}, 0}), "kill(77, SIGKILL) = 0\n");
    EXPECT_EQ(trace({14, {2, 0, 0x1000, 8}, 0}), "rt_sigprocmask(SIG_SETMASK, NULL, 0x1000, 8) = 0\n");
    EXPECT_EQ(trace({302, {0, 3, 0, 0x2000}, 0}), "prlimit64(0, RLIMIT_STACK, NULL, 0x2000) = 0\n");
    EXPECT_EQ(trace({41, {2, 1 | 02000000, 0}, 3}), "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3\n");
    EXPECT_EQ(trace({56, {0x3d0f00 | 17, 0, 0x10, 0x20, 0x30}, 42}),
              "clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|"
              "CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD, NULL, 0x10, 0x20, 0x30) = 42\n");
    EXPECT_EQ(trace({95, {022}, 077}), "umask(022) = 077\n");
    EXPECT_EQ(trace({202, {0x1000, 0x81, 1}, 0}), "futex(0x1000, FUTEX_WAKE_PRIVATE, 1) = 0\n");
    EXPECT_EQ(trace({202, {0x1000, 0x189, 2, 0, 0, 0xffffffff}, -110}),
              "futex(0x1000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 2, NULL, NULL, 0xffffffff) = "
              "-1 ETIMEDOUT (Connection timed out)\n");
    EXPECT_EQ(trace({72, {3, 2, 1}, 0}), "fcntl(3, F_SETFD, FD_CLOEXEC) = 0\n");
    EXPECT_EQ(trace({72, {3, 1}, 1}), "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)\n");
    EXPECT_EQ(trace({72, {1, 3}, 0x8001}), "fcntl(1, F_GETFL) = 0x8001 (flags O_WRONLY|O_LARGEFILE)\n");
    EXPECT_EQ(trace({72, {1, 1030, 10}, 11}), "fcntl(1, F_DUPFD_CLOEXEC, 10) = 11\n");
    EXPECT_EQ(trace({318, {0, 0, 1}, -11}),
              "getrandom(NULL, 0, GRND_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)\n");
    EXPECT_EQ(trace({28, {0x1000, 4096, 4}, 0}), "madvise(0x1000, 4096, MADV_DONTNEED) = 0\n");
    EXPECT_EQ(trace({61, {static_cast<uint64_t>(-1), 0, 1, 0}, -10}),
              "wait4(-1, NULL, WNOHANG, NULL) = -1 ECHILD (No child processes)\n");
}

TEST(Strace, ClocksAndTimespecs) {
    Memory mem;
    const int64_t ts[2] = {1, 500};
    mem.allow(ts, sizeof ts);
    EXPECT_EQ(trace({228, {1, addr_of(ts)}, 0}, &mem), "clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=500}) = 0\n");
    char expect[128];
    snprintf(expect, sizeof expect, "clock_gettime(CLOCK_BOOTTIME, %#llx) = -1 EINVAL (Invalid argument)\n",
             static_cast<unsigned long long>(addr_of(ts)));
    EXPECT_EQ(trace({228, {7, addr_of(ts)}, -22}, &mem), expect);
    EXPECT_EQ(trace({35, {addr_of(ts), 0}, 0}, &mem), "nanosleep({tv_sec=1, tv_nsec=500}, NULL) = 0\n");
    EXPECT_EQ(trace({230, {0, 0, addr_of(ts), 0}, 0}, &mem),
              "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=500}, NULL) = 0\n");
    EXPECT_EQ(trace({229, {static_cast<uint64_t>(-6), 0}, -22}, &mem),
              "clock_getres(-6, NULL) = -1 EINVAL (Invalid argument)\n");
}

TEST(Strace, ExecveArgvAndEnvp) {
    Memory mem;
    const char path[] = "/bin/ls";
    const char a0[] = "ls";
    const char a1[] = "-l";
    const char e0[] = "HOME=/";
    const uint64_t argv[] = {addr_of(a0), addr_of(a1), 0};
    const uint64_t envp[] = {addr_of(e0), 0};
    for (const char* s : {path, a0, a1, e0}) mem.allow(s, std::strlen(s) + 1);
    mem.allow(argv, sizeof argv);
    mem.allow(envp, sizeof envp);
    char expect[160];
    snprintf(expect, sizeof expect, "execve(\"/bin/ls\", [\"ls\", \"-l\"], %#llx /* 1 var */) = 0\n",
             static_cast<unsigned long long>(addr_of(envp)));
    EXPECT_EQ(trace({59, {addr_of(path), addr_of(argv), addr_of(envp)}, 0}, &mem), expect);
    EXPECT_EQ(trace({59, {addr_of(path), 0, 0}, -14}, &mem),
              "execve(\"/bin/ls\", NULL, NULL) = -1 EFAULT (Bad address)\n");
}

TEST(Strace, PipeAndGetcwd) {
    Memory mem;
    const int32_t fds[2] = {3, 4};
    mem.allow(fds, sizeof fds);
    EXPECT_EQ(trace({293, {addr_of(fds), 02000000}, 0}, &mem), "pipe2([3, 4], O_CLOEXEC) = 0\n");
    EXPECT_EQ(trace({293, {addr_of(fds), 0}, -24}, &mem).substr(0, 8), "pipe2(0x");
    const char cwd[] = "/tmp";
    mem.allow(cwd, sizeof cwd);
    EXPECT_EQ(trace({79, {addr_of(cwd), 1024}, 5}, &mem), "getcwd(\"/tmp\", 1024) = 5\n");
}

TEST(Strace, ResultEdgeCases) {
    EXPECT_EQ(trace({39, {}, 1}), "getpid() = 1\n");
    EXPECT_EQ(trace({3, {3}, -41}), "close(3) = -1 ERRNO_41 (Unknown error 41)\n");
    EXPECT_EQ(trace({3, {3}, -4095}), "close(3) = -1 ERRNO_4095 (Unknown error 4095)\n");
    EXPECT_EQ(trace({8, {3, 0, 0}, -4096}), "lseek(3, 0, SEEK_SET) = -4096\n");
    EXPECT_EQ(trace({3, {3}, -512}), "close(3) = -1 ERESTARTSYS (To be restarted if SA_RESTART is set)\n");
    EXPECT_EQ(trace({3, {static_cast<uint64_t>(-100)}, -9}), "close(AT_FDCWD) = -1 EBADF (Bad file descriptor)\n");
    // int arguments only use the low 32 bits of the register.
    EXPECT_EQ(trace({3, {0xffffffff00000007ull}, 0}), "close(7) = 0\n");
}

TEST(Strace, TruncatesSafelyAtEveryCapacity) {
    Memory mem;
    const char path[] = "/a/rather/long/path/name/for/truncation";
    mem.allow(path, sizeof path);
    const SyscallRecord rec{257, {static_cast<uint64_t>(-100), addr_of(path), 02000000 | 0100, 0644}, -2};
    const std::string full = trace(rec, &mem);
    ASSERT_EQ(full.back(), '\n');
    const std::string body = full.substr(0, full.size() - 1);
    for (size_t cap = 0; cap <= full.size() + 3; ++cap) {
        std::vector<char> out(cap + 8, '#');
        const size_t n = format_syscall(cap ? out.data() : nullptr, cap, rec, &Memory::readable, &mem);
        for (size_t i = cap; i < out.size(); ++i) ASSERT_EQ(out[i], '#') << "overflow at cap " << cap;
        if (cap == 0) {
            EXPECT_EQ(n, 0u);
            continue;
        }
        ASSERT_LT(n, cap);
        ASSERT_EQ(out[n], '\0');
        ASSERT_EQ(std::strlen(out.data()), n);
        if (cap == 1) {
            EXPECT_EQ(n, 0u);
            continue;
        }
        const std::string got(out.data(), n);
        ASSERT_EQ(got.back(), '\n') << "cap " << cap;
        const std::string got_body = got.substr(0, n - 1);
        EXPECT_EQ(body.compare(0, got_body.size(), got_body), 0) << "cap " << cap << ": " << got;
        if (cap > full.size()) {
            EXPECT_EQ(got, full);
        }
    }
    // Tiny capacity, spelled out.
    char tiny[8];
    EXPECT_EQ(format_syscall(tiny, sizeof tiny, rec, &Memory::readable, &mem), 7u);
    EXPECT_STREQ(tiny, "openat\n");
}

TEST(Strace, ReadabilityIsAskedPerPageNotPerByte) {
    Memory mem;
    const std::string path(3000, 'p');
    mem.allow(path.c_str(), path.size() + 1);
    std::vector<char> out(8192);
    format_syscall(out.data(), out.size(), {87, {addr_of(path.c_str())}, 0}, &Memory::readable, &mem);
    EXPECT_EQ(std::strlen(out.data()), 3000 + std::strlen("unlink(\"\") = 0\n"));
    EXPECT_LT(mem.calls, 40);  // a couple of pages, each at most a binary search
}

}  // namespace
}  // namespace lightvm::guest

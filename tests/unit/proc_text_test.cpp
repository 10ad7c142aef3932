// The text of /proc/cpuinfo and /proc/meminfo (guest/kernel/fs/proc_text.cpp)
// in Linux's formats, from a made-up CPU.
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "kernel/fs/proc_files.hpp"

namespace lightvm::guest {
namespace {

uint32_t text4(const char* s) {
    uint32_t v;
    std::memcpy(&v, s, 4);
    return v;
}

// Family 6, model 0x6a, stepping 6; fpu, sse2 (1.EDX), pni, avx (1.ECX),
// syscall, lm (0x80000001.EDX), avx2 (7.EBX), 46/57-bit addresses.
CpuidRegs fake_cpuid(uint32_t leaf, uint32_t) {
    const char* name = "   Test CPU @ 2.00GHz                            ";
    switch (leaf) {
    case 0:
        return {7, text4("Genu"), text4("ntel"), text4("ineI")};
    case 1:
        return {0x000606a6, 8u << 8, (1u << 0) | (1u << 28), (1u << 0) | (1u << 26)};
    case 7:
        return {0, 1u << 5, 0, 0};
    case 0x80000000:
        return {0x80000008, 0, 0, 0};
    case 0x80000001:
        return {0, 0, 0, (1u << 11) | (1u << 29)};
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
        const char* p = name + 16 * (leaf - 0x80000002);
        return {text4(p), text4(p + 4), text4(p + 8), text4(p + 12)};
    }
    case 0x80000006:
        return {0, 0, 1280u << 16, 0};
    case 0x80000008:
        return {(57u << 8) | 46u, 0, 0, 0};
    default:
        return {0, 0, 0, 0};
    }
}

TEST(ProcText, CpuinfoInLinuxFormat) {
    char buf[4096];
    size_t n = format_cpuinfo(buf, sizeof buf, fake_cpuid, 2000000);
    std::string t(buf, n);
    for (const char* line : {"processor\t: 0\n", "vendor_id\t: GenuineIntel\n", "cpu family\t: 6\n",
                             "model\t\t: 106\n", "model name\t: Test CPU @ 2.00GHz\n", "stepping\t: 6\n",
                             "cpu MHz\t\t: 2000.000\n", "cache size\t: 1280 KB\n", "siblings\t: 1\n",
                             "cpuid level\t: 7\n", "flags\t\t: fpu sse2 syscall lm pni avx avx2\n",
                             "bogomips\t: 4000.00\n", "clflush size\t: 64\n", "cache_alignment\t: 64\n",
                             "address sizes\t: 46 bits physical, 57 bits virtual\n"})
        EXPECT_NE(t.find(line), std::string::npos) << "missing " << line << " in\n" << t;
    EXPECT_EQ(t.substr(t.size() - 19), "power management:\n\n");
}

TEST(ProcText, CpuinfoWithoutCpuidLeaves) {
    auto none = [](uint32_t, uint32_t) { return CpuidRegs{0, 0, 0, 0}; };
    char buf[4096];
    std::string t(buf, format_cpuinfo(buf, sizeof buf, none, 0));
    EXPECT_NE(t.find("vendor_id\t: \n"), std::string::npos) << t;
    EXPECT_NE(t.find("flags\t\t:\n"), std::string::npos) << t;
    EXPECT_EQ(t.find("cpu MHz"), std::string::npos) << t;
}

TEST(ProcText, MeminfoInLinuxFormat) {
    char buf[4096];
    std::string t(buf, format_meminfo(buf, sizeof buf, 256ull << 20, 200ull << 20));
    EXPECT_EQ(t.substr(0, 84),
              "MemTotal:         262144 kB\n"
              "MemFree:          204800 kB\n"
              "MemAvailable:     204800 kB\n");
    EXPECT_NE(t.find("\nSwapTotal:             0 kB\n"), std::string::npos) << t;
    EXPECT_NE(t.find("\nHugePages_Total:       0\n"), std::string::npos) << t;
    EXPECT_NE(t.find("\nHugepagesize:       2048 kB\n"), std::string::npos) << t;
}

TEST(ProcText, LoadavgUptimeAndStatInLinuxFormat) {
    char buf[1024];
    EXPECT_EQ(std::string(buf, format_loadavg(buf, sizeof buf, 2, 7, 1234)), "0.00 0.00 0.00 2/7 1234\n");
    // 12.345678 s up, 3.2 s idle: hundredths, cut (not rounded) as Linux does.
    EXPECT_EQ(std::string(buf, format_uptime(buf, sizeof buf, 12'345'678'000, 3'200'000'000)), "12.34 3.20\n");
    SystemStat s{};
    s.user_ns = 1'500'000'000;
    s.sys_ns = 250'000'000;
    s.idle_ns = 9'000'000'000;
    s.btime = 1700000000;
    s.forks = 42;
    s.running = 1;
    std::string t(buf, format_stat(buf, sizeof buf, s));
    EXPECT_EQ(t.substr(0, t.find("intr")), "cpu  150 0 25 900 0 0 0 0 0 0\ncpu0 150 0 25 900 0 0 0 0 0 0\n");
    EXPECT_NE(t.find("\nbtime 1700000000\nprocesses 42\nprocs_running 1\nprocs_blocked 0\n"), std::string::npos) << t;
}

TEST(ProcText, TruncatesInsteadOfOverflowing) {
    char buf[40];
    std::memset(buf, 'x', sizeof buf);
    size_t n = format_meminfo(buf, 32, 1ull << 30, 1ull << 29);
    EXPECT_LT(n, 32u);
    EXPECT_EQ(buf[32], 'x');
}

}  // namespace
}  // namespace lightvm::guest

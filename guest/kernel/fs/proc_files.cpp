// /proc/cpuinfo, /proc/meminfo, /proc/self/auxv and
// /sys/devices/system/cpu/{online,possible} (see proc_files.hpp): which
// path is which and the kernel state behind them. The text formats are in
// proc_text.cpp.
#include "kernel/fs/proc_files.hpp"

#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"

namespace lightvm::guest {

namespace {

bool equals(const char* a, size_t n, const char* lit) {
    size_t m = strlen(lit);
    return n == m && memcmp(a, lit, n) == 0;
}

CpuidRegs native_cpuid(uint32_t leaf, uint32_t subleaf) {
    CpuidRegs r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

constexpr uint32_t kMemInfoSize = 2048;

// ---- /proc/self/auxv ----------------------------------------------------------

constexpr size_t kMaxAuxPairs = 64;
uint64_t g_auxv[2 * kMaxAuxPairs];
uint32_t g_auxv_bytes;

char g_cpuinfo[8192];
uint32_t g_cpuinfo_len;

}  // namespace

ProcFile proc_file_lookup(const char* a, size_t n) {
    if (equals(a, n, "/proc/cpuinfo"))
        return ProcFile::CpuInfo;
    if (equals(a, n, "/proc/meminfo"))
        return ProcFile::MemInfo;
    if (equals(a, n, "/proc/self/auxv"))
        return ProcFile::SelfAuxv;
    if (equals(a, n, "/sys/devices/system/cpu/online"))
        return ProcFile::CpuOnline;
    if (equals(a, n, "/sys/devices/system/cpu/possible"))
        return ProcFile::CpuPossible;
    return ProcFile::None;
}

const char* proc_file_open(ProcFile which, uint32_t* len, uint32_t* cap) {
    *cap = 0;
    switch (which) {
    case ProcFile::CpuInfo:
        if (g_cpuinfo_len == 0)  // CPUID does not change: built once
            g_cpuinfo_len = static_cast<uint32_t>(format_cpuinfo(g_cpuinfo, sizeof g_cpuinfo, native_cpuid, boot().tsc_khz));
        *len = g_cpuinfo_len;
        return g_cpuinfo;
    case ProcFile::MemInfo: {  // changes: a snapshot per open file
        char* text = static_cast<char*>(kmem_alloc(kMemInfoSize));
        if (!text)
            return nullptr;
        *cap = kMemInfoSize;
        // TODO(frame allocator): free frames straight from mm/frames once it has a count; as sysinfo for now.
        const uint64_t total = boot().mem_size, used = mem_used() + boot().frames_start;
        *len = static_cast<uint32_t>(format_meminfo(text, kMemInfoSize, total, used < total ? total - used : 0));
        return text;
    }
    case ProcFile::SelfAuxv:
        *len = g_auxv_bytes;
        return reinterpret_cast<const char*>(g_auxv);
    case ProcFile::CpuOnline:
    case ProcFile::CpuPossible:  // one vCPU
        *len = 2;
        return "0\n";
    default:
        return nullptr;
    }
}

void proc_capture_auxv(uint64_t sp) {
    auto word = [&](uint64_t* v) { return copy_from_user(v, sp, 8) == 0 ? (sp += 8, true) : false; };
    uint64_t argc, v;
    if (!word(&argc))
        return;
    sp += 8 * (argc + 1);                  // argv[] and its NULL
    for (size_t i = 0; i < 1u << 20; ++i)  // envp[] up to its NULL
        if (!word(&v) || v == 0)
            break;
    uint32_t n = 0;
    while (n < 2 * kMaxAuxPairs && word(&g_auxv[n]) && word(&g_auxv[n + 1])) {
        n += 2;
        if (g_auxv[n - 2] == 0)  // AT_NULL, kept like Linux does
            break;
    }
    g_auxv_bytes = n * 8;
}

}  // namespace lightvm::guest

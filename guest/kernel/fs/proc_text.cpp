// The text of /proc/cpuinfo and /proc/meminfo in Linux's formats, from
// values passed in: no kernel state, so hosted unit tests check them.
#include "kernel/fs/proc_files.hpp"

#include "lib/format.hpp"
#include "lightvm/abi.h"

namespace lightvm::guest {

namespace {

// ---- /proc/cpuinfo ----------------------------------------------------------

// One CPUID output register, as Linux numbers its capability words.
enum Word : uint8_t { k1Edx, k81Edx, k1Ecx, k81Ecx, k7Ebx, kDEax, k71Eax, k88Ebx, k7Ecx, k7Edx, kWords };

struct Flag {
    uint8_t word;
    uint8_t bit;
    const char* name;
};

// The feature names /proc/cpuinfo uses, in its order (by word, then bit).
// From the CPUID bit definitions (Intel SDM vol. 2, AMD APM vol. 3) under
// Linux's names; Linux's synthetic flags (constant_tsc, rep_good, ...) are
// not CPUID bits and are not listed.
constexpr Flag kFlags[] = {
    {k1Edx, 0, "fpu"}, {k1Edx, 1, "vme"}, {k1Edx, 2, "de"}, {k1Edx, 3, "pse"}, {k1Edx, 4, "tsc"},
    {k1Edx, 5, "msr"}, {k1Edx, 6, "pae"}, {k1Edx, 7, "mce"}, {k1Edx, 8, "cx8"}, {k1Edx, 9, "apic"},
    {k1Edx, 11, "sep"}, {k1Edx, 12, "mtrr"}, {k1Edx, 13, "pge"}, {k1Edx, 14, "mca"}, {k1Edx, 15, "cmov"},
    {k1Edx, 16, "pat"}, {k1Edx, 17, "pse36"}, {k1Edx, 18, "pn"}, {k1Edx, 19, "clflush"}, {k1Edx, 21, "dts"},
    {k1Edx, 22, "acpi"}, {k1Edx, 23, "mmx"}, {k1Edx, 24, "fxsr"}, {k1Edx, 25, "sse"}, {k1Edx, 26, "sse2"},
    {k1Edx, 27, "ss"}, {k1Edx, 28, "ht"}, {k1Edx, 29, "tm"}, {k1Edx, 30, "ia64"}, {k1Edx, 31, "pbe"},
    {k81Edx, 11, "syscall"}, {k81Edx, 19, "mp"}, {k81Edx, 20, "nx"}, {k81Edx, 22, "mmxext"},
    {k81Edx, 25, "fxsr_opt"}, {k81Edx, 26, "pdpe1gb"}, {k81Edx, 27, "rdtscp"}, {k81Edx, 29, "lm"},
    {k81Edx, 30, "3dnowext"}, {k81Edx, 31, "3dnow"},
    {k1Ecx, 0, "pni"}, {k1Ecx, 1, "pclmulqdq"}, {k1Ecx, 2, "dtes64"}, {k1Ecx, 3, "monitor"},
    {k1Ecx, 4, "ds_cpl"}, {k1Ecx, 5, "vmx"}, {k1Ecx, 6, "smx"}, {k1Ecx, 7, "est"}, {k1Ecx, 8, "tm2"},
    {k1Ecx, 9, "ssse3"}, {k1Ecx, 10, "cid"}, {k1Ecx, 11, "sdbg"}, {k1Ecx, 12, "fma"}, {k1Ecx, 13, "cx16"},
    {k1Ecx, 14, "xtpr"}, {k1Ecx, 15, "pdcm"}, {k1Ecx, 17, "pcid"}, {k1Ecx, 18, "dca"}, {k1Ecx, 19, "sse4_1"},
    {k1Ecx, 20, "sse4_2"}, {k1Ecx, 21, "x2apic"}, {k1Ecx, 22, "movbe"}, {k1Ecx, 23, "popcnt"},
    {k1Ecx, 24, "tsc_deadline_timer"}, {k1Ecx, 25, "aes"}, {k1Ecx, 26, "xsave"}, {k1Ecx, 28, "avx"},
    {k1Ecx, 29, "f16c"}, {k1Ecx, 30, "rdrand"}, {k1Ecx, 31, "hypervisor"},
    {k81Ecx, 0, "lahf_lm"}, {k81Ecx, 1, "cmp_legacy"}, {k81Ecx, 2, "svm"}, {k81Ecx, 3, "extapic"},
    {k81Ecx, 4, "cr8_legacy"}, {k81Ecx, 5, "abm"}, {k81Ecx, 6, "sse4a"}, {k81Ecx, 7, "misalignsse"},
    {k81Ecx, 8, "3dnowprefetch"}, {k81Ecx, 9, "osvw"}, {k81Ecx, 10, "ibs"}, {k81Ecx, 11, "xop"},
    {k81Ecx, 12, "skinit"}, {k81Ecx, 13, "wdt"}, {k81Ecx, 15, "lwp"}, {k81Ecx, 16, "fma4"},
    {k81Ecx, 17, "tce"}, {k81Ecx, 19, "nodeid_msr"}, {k81Ecx, 21, "tbm"}, {k81Ecx, 22, "topoext"},
    {k81Ecx, 23, "perfctr_core"}, {k81Ecx, 24, "perfctr_nb"}, {k81Ecx, 26, "bpext"}, {k81Ecx, 27, "ptsc"},
    {k81Ecx, 28, "perfctr_llc"}, {k81Ecx, 29, "mwaitx"},
    {k7Ebx, 0, "fsgsbase"}, {k7Ebx, 1, "tsc_adjust"}, {k7Ebx, 2, "sgx"}, {k7Ebx, 3, "bmi1"},
    {k7Ebx, 4, "hle"}, {k7Ebx, 5, "avx2"}, {k7Ebx, 7, "smep"}, {k7Ebx, 8, "bmi2"}, {k7Ebx, 9, "erms"},
    {k7Ebx, 10, "invpcid"}, {k7Ebx, 11, "rtm"}, {k7Ebx, 12, "cqm"}, {k7Ebx, 14, "mpx"}, {k7Ebx, 15, "rdt_a"},
    {k7Ebx, 16, "avx512f"}, {k7Ebx, 17, "avx512dq"}, {k7Ebx, 18, "rdseed"}, {k7Ebx, 19, "adx"},
    {k7Ebx, 20, "smap"}, {k7Ebx, 21, "avx512ifma"}, {k7Ebx, 23, "clflushopt"}, {k7Ebx, 24, "clwb"},
    {k7Ebx, 25, "intel_pt"}, {k7Ebx, 26, "avx512pf"}, {k7Ebx, 27, "avx512er"}, {k7Ebx, 28, "avx512cd"},
    {k7Ebx, 29, "sha_ni"}, {k7Ebx, 30, "avx512bw"}, {k7Ebx, 31, "avx512vl"},
    {kDEax, 0, "xsaveopt"}, {kDEax, 1, "xsavec"}, {kDEax, 2, "xgetbv1"}, {kDEax, 3, "xsaves"},
    {k71Eax, 4, "avx_vnni"}, {k71Eax, 5, "avx512_bf16"},
    {k88Ebx, 0, "clzero"}, {k88Ebx, 1, "irperf"}, {k88Ebx, 2, "xsaveerptr"}, {k88Ebx, 4, "rdpru"},
    {k88Ebx, 9, "wbnoinvd"},
    {k7Ecx, 1, "avx512vbmi"}, {k7Ecx, 2, "umip"}, {k7Ecx, 3, "pku"}, {k7Ecx, 4, "ospke"},
    {k7Ecx, 5, "waitpkg"}, {k7Ecx, 6, "avx512_vbmi2"}, {k7Ecx, 8, "gfni"}, {k7Ecx, 9, "vaes"},
    {k7Ecx, 10, "vpclmulqdq"}, {k7Ecx, 11, "avx512_vnni"}, {k7Ecx, 12, "avx512_bitalg"}, {k7Ecx, 13, "tme"},
    {k7Ecx, 14, "avx512_vpopcntdq"}, {k7Ecx, 16, "la57"}, {k7Ecx, 22, "rdpid"}, {k7Ecx, 24, "bus_lock_detect"},
    {k7Ecx, 25, "cldemote"}, {k7Ecx, 27, "movdiri"}, {k7Ecx, 28, "movdir64b"}, {k7Ecx, 29, "enqcmd"},
    {k7Ecx, 30, "sgx_lc"},
    {k7Edx, 2, "avx512_4vnniw"}, {k7Edx, 3, "avx512_4fmaps"}, {k7Edx, 4, "fsrm"},
    {k7Edx, 8, "avx512_vp2intersect"}, {k7Edx, 10, "md_clear"}, {k7Edx, 14, "serialize"},
    {k7Edx, 16, "tsxldtrk"}, {k7Edx, 18, "pconfig"}, {k7Edx, 19, "arch_lbr"}, {k7Edx, 20, "ibt"},
    {k7Edx, 22, "amx_bf16"}, {k7Edx, 23, "avx512_fp16"}, {k7Edx, 24, "amx_tile"}, {k7Edx, 25, "amx_int8"},
    {k7Edx, 28, "flush_l1d"}, {k7Edx, 29, "arch_capabilities"}, {k7Edx, 31, "spec_ctrl_ssbd"},
};

void put_reg(char* out, uint32_t r) {
    for (int i = 0; i < 4; ++i)
        out[i] = static_cast<char>(r >> (8 * i));
}

// "%u.%0Nu" of value / 10^digits.
void put_fixed(TextBuffer& t, uint64_t value, uint64_t scale, int digits) {
    t.udec(value / scale).ch('.');
    uint64_t frac = value % scale;
    for (uint64_t s = scale / 10; digits-- > 0; s /= 10) {
        t.ch(static_cast<char>('0' + frac / s));
        frac %= s;
    }
}

// ---- /proc/meminfo ----------------------------------------------------------

void meminfo_line(TextBuffer& t, const char* name, uint64_t value, bool kb) {
    // Linux: the name and colon padded to 16 columns, the value right-aligned in 8.
    size_t width = 1;  // the colon
    for (const char* p = name; *p; ++p)
        ++width;
    t.str(name).ch(':');
    for (; width < 16; ++width)  // counted, not measured: a full buffer stops growing
        t.ch(' ');
    char digits[24];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value);
    for (int pad = 8 - n; pad > 0; --pad)
        t.ch(' ');
    while (n)
        t.ch(digits[--n]);
    t.str(kb ? " kB\n" : "\n");
}

}  // namespace

size_t format_cpuinfo(char* buf, size_t cap, CpuidFn cpuid, uint64_t tsc_khz, uint32_t cpu, uint32_t ncpus) {
    TextBuffer t(buf, cap);
    const CpuidRegs l0 = cpuid(0, 0);
    const uint32_t max_leaf = l0.eax, max_ext = cpuid(0x80000000, 0).eax;
    auto leaf = [&](uint32_t l, uint32_t sub) {
        bool ok = l < 0x80000000 ? l <= max_leaf : (max_ext >= 0x80000000 && l <= max_ext);
        return ok ? cpuid(l, sub) : CpuidRegs{0, 0, 0, 0};
    };
    char vendor[13] = {};
    put_reg(vendor, l0.ebx);
    put_reg(vendor + 4, l0.edx);
    put_reg(vendor + 8, l0.ecx);
    const CpuidRegs l1 = leaf(1, 0), l7 = leaf(7, 0), l71 = l7.eax >= 1 ? leaf(7, 1) : CpuidRegs{0, 0, 0, 0};
    const CpuidRegs e1 = leaf(0x80000001, 0), e6 = leaf(0x80000006, 0), e8 = leaf(0x80000008, 0);
    const CpuidRegs d1 = leaf(0xd, 1);
    uint32_t family = (l1.eax >> 8) & 0xf, model = (l1.eax >> 4) & 0xf;
    if (family == 0xf)
        family += (l1.eax >> 20) & 0xff;
    if (family >= 6)
        model |= ((l1.eax >> 16) & 0xf) << 4;
    char name[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
        CpuidRegs r = leaf(0x80000002 + i, 0);
        put_reg(name + 16 * i, r.eax);
        put_reg(name + 16 * i + 4, r.ebx);
        put_reg(name + 16 * i + 8, r.ecx);
        put_reg(name + 16 * i + 12, r.edx);
    }
    const char* model_name = name;
    while (*model_name == ' ')
        ++model_name;
    size_t name_len = 0;
    while (model_name[name_len])
        ++name_len;
    while (name_len && model_name[name_len - 1] == ' ')
        --name_len;

    t.str("processor\t: ").udec(cpu).str("\nvendor_id\t: ").str(vendor).ch('\n');
    t.str("cpu family\t: ").udec(family).str("\nmodel\t\t: ").udec(model).ch('\n');
    t.str("model name\t: ").str(name_len ? model_name : "unknown", name_len ? name_len : 7).ch('\n');
    t.str("stepping\t: ").udec(l1.eax & 0xf).ch('\n');
    if (tsc_khz) {
        t.str("cpu MHz\t\t: ");
        put_fixed(t, tsc_khz, 1000, 3);
        t.ch('\n');
    }
    if (e6.ecx >> 16)
        t.str("cache size\t: ").udec(e6.ecx >> 16).str(" KB\n");
    t.str("physical id\t: 0\nsiblings\t: ").udec(ncpus).str("\ncore id\t\t: ").udec(cpu).str("\ncpu cores\t: ").udec(ncpus);
    t.str("\napicid\t\t: ").udec(cpu).str("\ninitial apicid\t: ").udec(cpu).ch('\n');
    t.str("fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: ").udec(max_leaf).str("\nwp\t\t: yes\n");
    const uint32_t words[kWords] = {l1.edx, e1.edx, l1.ecx, e1.ecx, l7.ebx, d1.eax, l71.eax, e8.ebx, l7.ecx, l7.edx};
    t.str("flags\t\t:");
    for (const Flag& f : kFlags)
        if (words[f.word] & (1u << f.bit))
            t.ch(' ').str(f.name);
    t.str("\nbugs\t\t:\n");
    if (tsc_khz) {  // Linux's calibrated delay loop comes out at about twice the clock
        t.str("bogomips\t: ");
        put_fixed(t, tsc_khz * 2 / 10, 100, 2);
        t.ch('\n');
    }
    const uint32_t clflush = ((l1.ebx >> 8) & 0xff) * 8;
    t.str("clflush size\t: ").udec(clflush).str("\ncache_alignment\t: ").udec(clflush).ch('\n');
    t.str("address sizes\t: ").udec(e8.eax & 0xff).str(" bits physical, ").udec((e8.eax >> 8) & 0xff).str(" bits virtual\n");
    t.str("power management:\n\n");
    return t.size();
}

size_t format_meminfo(char* buf, size_t cap, uint64_t total_bytes, uint64_t free_bytes) {
    TextBuffer t(buf, cap);
    const uint64_t total = total_bytes >> 10, free = free_bytes >> 10;
    struct {
        const char* name;
        uint64_t kb;
    } const lines[] = {
        {"MemTotal", total}, {"MemFree", free}, {"MemAvailable", free}, {"Buffers", 0}, {"Cached", 0},
        {"SwapCached", 0}, {"Active", total - free}, {"Inactive", 0}, {"Active(anon)", total - free},
        {"Inactive(anon)", 0}, {"Active(file)", 0}, {"Inactive(file)", 0}, {"Unevictable", 0}, {"Mlocked", 0},
        {"SwapTotal", 0}, {"SwapFree", 0}, {"Dirty", 0}, {"Writeback", 0}, {"AnonPages", total - free},
        {"Mapped", 0}, {"Shmem", 0}, {"KReclaimable", 0}, {"Slab", 0}, {"SReclaimable", 0}, {"SUnreclaim", 0},
        {"KernelStack", 0}, {"PageTables", 0}, {"NFS_Unstable", 0}, {"Bounce", 0}, {"WritebackTmp", 0},
        {"CommitLimit", total}, {"Committed_AS", total - free}, {"VmallocTotal", 0}, {"VmallocUsed", 0},
        {"VmallocChunk", 0},
    };
    for (const auto& l : lines)
        meminfo_line(t, l.name, l.kb, true);
    meminfo_line(t, "HugePages_Total", 0, false);
    meminfo_line(t, "HugePages_Free", 0, false);
    meminfo_line(t, "HugePages_Rsvd", 0, false);
    meminfo_line(t, "HugePages_Surp", 0, false);
    meminfo_line(t, "Hugepagesize", abi::kHugePageSize >> 10, true);
    return t.size();
}

size_t format_loadavg(char* buf, size_t cap, uint32_t runnable, uint32_t tasks, uint32_t last_pid) {
    TextBuffer t(buf, cap);
    t.str("0.00 0.00 0.00 ").udec(runnable).ch('/').udec(tasks).ch(' ').udec(last_pid).ch('\n');
    return t.size();
}

size_t format_uptime(char* buf, size_t cap, uint64_t up_ns, uint64_t idle_ns) {
    TextBuffer t(buf, cap);
    put_fixed(t, up_ns / 10'000'000, 100, 2);
    t.ch(' ');
    put_fixed(t, idle_ns / 10'000'000, 100, 2);
    t.ch('\n');
    return t.size();
}

size_t format_stat(char* buf, size_t cap, const SystemStat& s) {
    TextBuffer t(buf, cap);
    constexpr uint64_t kTick = 10'000'000;  // USER_HZ
    static constexpr const char* kCpus[] = {"cpu  ", "cpu0 "};  // the total, then the one CPU
    for (const char* cpu : kCpus) {
        t.str(cpu).udec(s.user_ns / kTick).str(" 0 ").udec(s.sys_ns / kTick).ch(' ').udec(s.idle_ns / kTick);
        t.str(" 0 0 0 0 0 0\n");  // iowait irq softirq steal guest guest_nice
    }
    t.str("intr 0\nctxt 0\nbtime ").udec(s.btime).str("\nprocesses ").udec(s.forks);
    t.str("\nprocs_running ").udec(s.running).str("\nprocs_blocked ").udec(s.blocked);
    t.str("\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n");
    return t.size();
}

}  // namespace lightvm::guest

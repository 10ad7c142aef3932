// /proc/cpuinfo, /proc/meminfo, /proc/self/auxv and
// /sys/devices/system/cpu/{online,possible} (see proc_files.hpp): which
// path is which and the kernel state behind them. The text formats are in
// proc_text.cpp.
#include "kernel/fs/proc_files.hpp"

#include "kernel/kernel.hpp"
#include "kernel/smp/cpus.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/cputime.hpp"
#include "kernel/proc/process.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/time/clock.hpp"
#include "lib/format.hpp"

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

char g_cpuinfo[16384];  // a ~1.4 KiB block per vCPU
uint32_t g_cpuinfo_len;

constexpr uint32_t kSmallText = 512;

size_t loadavg(char* text) {
    uint32_t runnable = 0, tasks = 0;
    for (Process* p = process_next(nullptr); p; p = process_next(p)) {
        if (!p->task)
            continue;  // zombies are not tasks any more
        ++tasks;
        runnable += p->task->state == TaskState::Running;
    }
    return format_loadavg(text, kSmallText, runnable, tasks, process_last_pid());
}

// CPU time used since boot: every process in the table (a zombie's as
// taken at exit) and the children each has reaped (their own reaped
// children included). Idle is the rest of the uptime. (Children reaped
// automatically, for a parent ignoring SIGCHLD, are not counted.)
void busy_time(uint64_t* user_ns, uint64_t* sys_ns) {
    *user_ns = *sys_ns = 0;
    for (Process* p = process_next(nullptr); p; p = process_next(p)) {
        uint64_t user = p->cpu.exit_user_ns, sys = p->cpu.exit_sys_ns;
        if (p->task)
            cputime_process(p, &user, &sys);
        *user_ns += user + p->cpu.children_user_ns;
        *sys_ns += sys + p->cpu.children_sys_ns;
    }
}

size_t uptime(char* text) {
    uint64_t up = boottime_ns(), user, sys;
    busy_time(&user, &sys);
    return format_uptime(text, kSmallText, up, user + sys < up ? up - user - sys : 0);
}

size_t system_stat(char* text) {
    SystemStat s{};
    uint64_t up = boottime_ns();
    busy_time(&s.user_ns, &s.sys_ns);
    s.idle_ns = s.user_ns + s.sys_ns < up ? up - s.user_ns - s.sys_ns : 0;
    s.btime = (realtime_ns() - up) / 1'000'000'000;
    s.forks = process_last_pid();  // pids are handed out in order from the first
    for (Process* p = process_next(nullptr); p; p = process_next(p))  // procs_blocked: no D state here
        s.running += p->task && p->task->state == TaskState::Running;
    return format_stat(text, kSmallText, s);
}

// The boot page's hostname (or "lightvm") and a newline.
void append_boot_hostname(TextBuffer& t) {
    const char* host = boot().hostname[0] ? boot().hostname : "lightvm";
    size_t len = 0;
    while (len + 1 < sizeof boot().hostname && host[len])
        ++len;
    t.str(host, len);
    t.ch('\n');
}

}  // namespace

ProcFile proc_file_lookup(const char* a, size_t n) {
    if (equals(a, n, "/proc/cpuinfo"))
        return ProcFile::CpuInfo;
    if (equals(a, n, "/proc/meminfo"))
        return ProcFile::MemInfo;
    if (equals(a, n, "/proc/self/auxv"))
        return ProcFile::SelfAuxv;
    if (equals(a, n, "/proc/loadavg"))
        return ProcFile::LoadAvg;
    if (equals(a, n, "/proc/uptime"))
        return ProcFile::Uptime;
    if (equals(a, n, "/proc/stat"))
        return ProcFile::Stat;
    if (equals(a, n, "/sys/devices/system/cpu/online"))
        return ProcFile::CpuOnline;
    if (equals(a, n, "/sys/devices/system/cpu/possible"))
        return ProcFile::CpuPossible;
    if (equals(a, n, "/sys/devices/virtual/lightvm/generation"))
        return ProcFile::CloneGeneration;
    if (equals(a, n, "/sys/devices/virtual/lightvm/ready"))
        return ProcFile::ReadyMark;
    if (boot().resolv_conf[0] && equals(a, n, "/etc/resolv.conf"))
        return ProcFile::ResolvConf;
    if ((boot().flags & abi::kBootEtcHosts) && equals(a, n, "/etc/hosts"))
        return ProcFile::EtcHosts;
    if ((boot().flags & abi::kBootEtcHostname) && equals(a, n, "/etc/hostname"))
        return ProcFile::EtcHostname;
    return ProcFile::None;
}

const char* proc_file_open(ProcFile which, uint32_t* len, uint32_t* cap) {
    *cap = 0;
    switch (which) {
    case ProcFile::CpuInfo:
        if (g_cpuinfo_len == 0)  // CPUID does not change: built once
            for (uint32_t c = 0, n = cpus_possible(); c < n; ++c)
                g_cpuinfo_len += static_cast<uint32_t>(format_cpuinfo(g_cpuinfo + g_cpuinfo_len, sizeof g_cpuinfo - g_cpuinfo_len,
                                                                      native_cpuid, boot().tsc_khz, c, n));
        *len = g_cpuinfo_len;
        return g_cpuinfo;
    case ProcFile::MemInfo: {  // changes: a snapshot per open file
        char* text = static_cast<char*>(kmem_alloc(kMemInfoSize));
        if (!text)
            return nullptr;
        *cap = kMemInfoSize;
        // TODO(frame allocator): free frames straight from mm/frames once it has a count; as sysinfo for now.
        const uint64_t total = boot().mem_size, used = mem_used();
        *len = static_cast<uint32_t>(format_meminfo(text, kMemInfoSize, total, used < total ? total - used : 0));
        return text;
    }
    case ProcFile::CloneGeneration: {  // changes on restore: read per open file
        char* text = static_cast<char*>(kmem_alloc(kSmallText));
        if (!text)
            return nullptr;
        *cap = kSmallText;
        TextBuffer t(text, kSmallText);
        t.udec(*static_cast<volatile uint32_t*>(&boot().clone_generation)).ch('\n');
        *len = static_cast<uint32_t>(t.size());
        return text;
    }
    case ProcFile::LoadAvg:
    case ProcFile::Uptime:
    case ProcFile::Stat: {  // a snapshot per open file
        char* text = static_cast<char*>(kmem_alloc(kSmallText));
        if (!text)
            return nullptr;
        *cap = kSmallText;
        *len = static_cast<uint32_t>(which == ProcFile::LoadAvg ? loadavg(text)
                                     : which == ProcFile::Uptime ? uptime(text)
                                                                 : system_stat(text));
        return text;
    }
    case ProcFile::ResolvConf: {  // the boot page's text: set before boot, never changed
        const char* text = boot().resolv_conf;
        uint32_t n = 0;
        while (n < sizeof boot().resolv_conf && text[n])
            ++n;
        *len = n;
        return text;
    }
    case ProcFile::EtcHosts: {  // as Debian writes it; the boot hostname, as a runtime would
        static char text[160];
        static uint32_t n = 0;
        if (!n) {
            TextBuffer t(text, sizeof text);
            t.str("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t");
            append_boot_hostname(t);
            n = static_cast<uint32_t>(t.size());
        }
        *len = n;
        return text;
    }
    case ProcFile::EtcHostname: {  // the boot hostname, as Docker writes the file
        static char text[80];
        static uint32_t n = 0;
        if (!n) {
            TextBuffer t(text, sizeof text);
            append_boot_hostname(t);
            n = static_cast<uint32_t>(t.size());
        }
        *len = n;
        return text;
    }
    case ProcFile::SelfAuxv:
        *len = g_auxv_bytes;
        return reinterpret_cast<const char*>(g_auxv);
    case ProcFile::CpuOnline:  // every vCPU the guest may start: it starts them when it has work
    case ProcFile::CpuPossible: {
        static char text[8];  // "0\n" or "0-N\n"
        const uint32_t n = cpus_possible();
        uint32_t k = 0;
        text[k++] = '0';
        if (n > 1) {
            text[k++] = '-';
            text[k++] = static_cast<char>('0' + (n - 1));  // n <= abi::kMaxCpus = 8
        }
        text[k++] = '\n';
        *len = k;
        return text;
    }
    default:
        return nullptr;
    }
}

void proc_capture_auxv(uint64_t sp) {
    auto word = [&](uint64_t* v) { return copy_from_user(v, sp, 8) == 0 ? (sp += 8, true) : false; };
    // The strings' range for /proc/PID/cmdline and environ: the stack
    // builder packs argv's strings, then envp's, as Linux does.
    auto string_end = [](uint64_t s) {
        long n = strnlen_user(s, 1u << 20);
        return n < 0 ? s : s + static_cast<uint64_t>(n) + 1;
    };
    AddressSpace& mm = *current_process()->mm;
    mm.start_stack = sp;
    uint64_t argc, v, first = 0, last = 0;
    if (!word(&argc))
        return;
    for (uint64_t i = 0; i < argc && word(&v); ++i) {
        first = i == 0 ? v : first;
        last = v;
    }
    mm.arg_start = first;
    mm.arg_end = argc ? string_end(last) : first;
    sp += 8;  // argv's NULL
    first = last = 0;
    for (size_t i = 0; i < 1u << 20; ++i) {  // envp[] up to its NULL
        if (!word(&v) || v == 0)
            break;
        first = first ? first : v;
        last = v;
    }
    mm.env_start = first ? first : mm.arg_end;
    mm.env_end = first ? string_end(last) : mm.arg_end;
    uint32_t n = 0;
    while (n < 2 * kMaxAuxPairs && word(&g_auxv[n]) && word(&g_auxv[n + 1])) {
        n += 2;
        if (g_auxv[n - 2] == 0)  // AT_NULL, kept like Linux does
            break;
    }
    g_auxv_bytes = n * 8;
}

}  // namespace lightvm::guest

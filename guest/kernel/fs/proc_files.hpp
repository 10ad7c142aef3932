// /proc and /sys files programs read to learn about the machine, made up by
// the kernel: /proc/cpuinfo (CPUID as the guest sees it), /proc/meminfo,
// /proc/self/auxv, /sys/devices/system/cpu/{online,possible},
// /sys/devices/virtual/lightvm/generation (BootInfo.clone_generation: it
// changes in every VM restored from a snapshot), and /etc/resolv.conf when
// --dns names the servers. They are
// served by the synthetic file type (synthetic_files.cpp) and take
// precedence over any --rootfs: the host's /proc describes the host.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

// Appended to, never reordered: the values are inode numbers (identity.hpp).
enum class ProcFile : uint8_t {
    None,
    CpuInfo,
    MemInfo,
    SelfAuxv,
    CpuOnline,
    CpuPossible,
    LoadAvg,
    Uptime,
    Stat,
    CloneGeneration,
    ResolvConf,  // /etc/resolv.conf with --dns (BootInfo.resolv_conf), over the rootfs's,
                 // or the host's name servers where the rootfs has none
    EtcHosts,    // /etc/hosts where the rootfs has none (kBootEtcHosts): localhost, the hostname
    EtcHostname,  // /etc/hostname with kBootEtcHostname (lightvm-oci under Docker): the hostname
    ReadyMark     // /sys/devices/virtual/lightvm/ready: written, not read (dev/ready_file.cpp)
};

// Which of the files a normalised absolute guest path names (None: none).
ProcFile proc_file_lookup(const char* abs, size_t len);

// The contents for a new open file description, stable while it is open.
// *cap != 0: a kmem buffer of that size the file owns (freed on release,
// synthetic_files.cpp); 0: kernel memory that lives for good. nullptr: out
// of kernel memory.
const char* proc_file_open(ProcFile which, uint32_t* len, uint32_t* cap);

// Keeps a copy of the auxiliary vector the program started with (from its
// initial stack at `sp`), before the program can change its stack.
void proc_capture_auxv(uint64_t sp);

// Text builders, separate from the kernel's state so hosted tests can check
// the formats. Each returns the bytes written into buf (at most cap).
struct CpuidRegs {
    uint32_t eax, ebx, ecx, edx;
};
using CpuidFn = CpuidRegs (*)(uint32_t leaf, uint32_t subleaf);
// One processor's block (cpu of ncpus); /proc/cpuinfo is one per vCPU.
size_t format_cpuinfo(char* buf, size_t cap, CpuidFn cpuid, uint64_t tsc_khz, uint32_t cpu = 0, uint32_t ncpus = 1);
size_t format_meminfo(char* buf, size_t cap, uint64_t total_bytes, uint64_t free_bytes);
// "0.00 0.00 0.00 R/T LAST": the averages are not kept (0.00), then the
// runnable and all tasks and the last pid handed out.
size_t format_loadavg(char* buf, size_t cap, uint32_t runnable, uint32_t tasks, uint32_t last_pid);
// /proc/stat as top and ps read it: one CPU's busy (user, system) and
// idle time in ticks, boot time (seconds since the epoch), processes
// created, running and blocked.
struct SystemStat {
    uint64_t user_ns, sys_ns, idle_ns;
    uint64_t btime, forks;
    uint32_t running, blocked;
};
size_t format_stat(char* buf, size_t cap, const SystemStat& s);
// "UP.CC IDLE.CC": seconds since boot and idle seconds, in hundredths.
size_t format_uptime(char* buf, size_t cap, uint64_t up_ns, uint64_t idle_ns);

}  // namespace lightvm::guest

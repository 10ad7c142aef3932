// System information and randomness: answered from the boot page, no exits.
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/syscalls/syscall.hpp"
#include "kernel/mm/uaccess.hpp"
#include "lib/chacha20.hpp"

namespace lightvm::guest {

namespace {

enum : unsigned { kSysUname = 63, kSysSysinfo = 99, kSysGetrandom = 318 };

ChaCha20Rng g_rng;

void copy_field(char* dst, const char* src) {
    size_t n = strlen(src);
    if (n > 64)
        n = 64;
    memcpy(dst, src, n);
    dst[n] = 0;
}

long sys_uname(const SyscallArgs& a) {
    constexpr size_t kField = 65;
    if (!access_ok(a.a0, 6 * kField))
        return -err::kFault;
    char* u = reinterpret_cast<char*>(a.a0);
    memset(u, 0, 6 * kField);
    copy_field(u + 0 * kField, "Linux");
    copy_field(u + 1 * kField, boot().hostname[0] ? boot().hostname : "lightvm");
    copy_field(u + 2 * kField, "6.1.0-lightvm");
    copy_field(u + 3 * kField, "#1 SMP lightvm guest kernel");
    copy_field(u + 4 * kField, "x86_64");
    copy_field(u + 5 * kField, "(none)");
    return 0;
}

long sys_sysinfo(const SyscallArgs& a) {
    struct Sysinfo {
        int64_t uptime;
        uint64_t loads[3];
        uint64_t totalram, freeram, sharedram, bufferram, totalswap, freeswap;
        uint16_t procs, pad;
        uint32_t pad2;
        uint64_t totalhigh, freehigh;
        uint32_t mem_unit;
        char reserved[4];
    };
    static_assert(sizeof(Sysinfo) == 112);
    if (!access_ok(a.a0, sizeof(Sysinfo)))
        return -err::kFault;
    Sysinfo s{};
    s.uptime = int64_t(boottime_ns() / 1000000000);
    s.totalram = boot().mem_size;
    uint64_t used = mem_used() + boot().heap_lo;
    s.freeram = used < s.totalram ? s.totalram - used : 0;
    s.procs = 1;
    s.mem_unit = 1;
    memcpy(reinterpret_cast<void*>(a.a0), &s, sizeof s);
    return 0;
}

long sys_getrandom(const SyscallArgs& a) {
    constexpr uint64_t kValidFlags = 0x1 | 0x2 | 0x4;  // NONBLOCK, RANDOM, INSECURE
    if (a.a2 & ~kValidFlags)
        return -err::kInval;
    uint64_t len = a.a1 > 33554431 ? 33554431 : a.a1;  // Linux caps one call at 32 MiB - 1
    if (!access_ok(a.a0, len))
        return -err::kFault;
    g_rng.fill(reinterpret_cast<void*>(a.a0), len);
    return static_cast<long>(len);
}

}  // namespace

ChaCha20Rng& kernel_rng() { return g_rng; }

void register_info_syscalls(SyscallHandler* t) {
    g_rng.seed(boot().random_seed);
    t[kSysUname] = sys_uname;
    t[kSysSysinfo] = sys_sysinfo;
    t[kSysGetrandom] = sys_getrandom;
}

}  // namespace lightvm::guest

// The vDSO: clock_gettime, gettimeofday, time, clock_getres and getcpu as
// plain user code, so a program reading the clock never enters the guest
// kernel (a syscall costs ~1 us under PVM; rdtsc at CPL3 ~10-20 ns).
//
// It is an ELF shared object with no relocations, linked at 0 and loaded by
// nobody: the kernel image carries it page-aligned (vdso_blob.S) and the
// program finds it through AT_SYSINFO_EHDR; glibc and musl look the symbols
// up with version LINUX_2.6 (vdso.map), as on Linux.
//
// It reads the clock reference from the boot page at its fixed address
// (abi.h kBootInfoGpa; the low region stays mapped user-readable in every
// address space) with the same formula as the kernel (time/clock.cpp), so
// the two agree to the nanosecond (time/sys_time.cpp's clock_now maps the
// same ids to the same formula). Clocks it does not compute itself
// (CPU-time clocks, which need the kernel's accounting, and unknown ids) go
// to the real syscall, which also gives EINVAL for bad ids as the kernel
// decides.
#include "kernel/uapi.hpp"
#include "lightvm/abi.h"

namespace {

using lightvm::abi::BootInfo;

// An immediate address: no relocation, and the one page every address
// space maps at the same place.
const BootInfo& boot() { return *reinterpret_cast<const BootInfo*>(lightvm::abi::kBootInfoGpa); }

uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t(hi) << 32) | lo;
}

// time/clock.cpp's since_base_ns(), byte for byte the same arithmetic.
uint64_t since_base_ns() {
    const BootInfo& b = boot();
    uint64_t tsc = rdtsc();
    // Signed: tsc_base lies above the TSC after a restore in another host
    // boot; a TSC read a little behind it on another CPU gives 0.
    const int64_t signed_delta = static_cast<int64_t>(tsc - b.tsc_base);
    const uint64_t delta = signed_delta > 0 ? static_cast<uint64_t>(signed_delta) : 0;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * b.tsc_mult) >> b.tsc_shift);
}

long syscall2(long nr, long a0, long a1) {
    long r;
    asm volatile("syscall" : "=a"(r) : "0"(nr), "D"(a0), "S"(a1) : "rcx", "r11", "memory");
    return r;
}

// The clocks computed here; false: ask the kernel.
bool fast_clock(long clk, uint64_t* ns) {
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:  // the kernel has no leap-second table: TAI == REALTIME
        *ns = boot().realtime_base_ns + since_base_ns();
        return true;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:  // the kernel's coarse clocks are the precise ones
    case CLOCK_BOOTTIME:          // the VM never suspends
        *ns = boot().monotonic_base_ns + since_base_ns();
        return true;
    default:
        return false;
    }
}

}  // namespace

// Built with -fvisibility=hidden: only these are exported (vdso.map names them).
#define VDSO_EXPORT __attribute__((visibility("default")))

extern "C" {

VDSO_EXPORT long __vdso_clock_gettime(long clk, __kernel_timespec* ts) {
    uint64_t ns;
    if (!fast_clock(clk, &ns))
        return syscall2(__NR_clock_gettime, clk, reinterpret_cast<long>(ts));
    ts->tv_sec = static_cast<int64_t>(ns / 1000000000);
    ts->tv_nsec = static_cast<int64_t>(ns % 1000000000);
    return 0;
}

VDSO_EXPORT long __vdso_clock_getres(long clk, __kernel_timespec* res) {
    uint64_t ns;
    if (!fast_clock(clk, &ns))
        return syscall2(__NR_clock_getres, clk, reinterpret_cast<long>(res));
    if (res) {  // the TSC clock's resolution, as sys_clock_getres reports it
        res->tv_sec = 0;
        res->tv_nsec = 1;
    }
    return 0;
}

VDSO_EXPORT long __vdso_gettimeofday(__kernel_old_timeval* tv, struct timezone* tz) {
    if (tv) {
        uint64_t ns = boot().realtime_base_ns + since_base_ns();
        tv->tv_sec = static_cast<long>(ns / 1000000000);
        tv->tv_usec = static_cast<long>(ns % 1000000000 / 1000);
    }
    if (tz) {  // UTC, as the kernel's gettimeofday
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}

VDSO_EXPORT long __vdso_time(long* t) {
    long s = static_cast<long>((boot().realtime_base_ns + since_base_ns()) / 1000000000);
    if (t)
        *t = s;
    return s;
}

// The kernel knows which vCPU runs the task: ask it (a system call, no
// exit, ~1 us). Linux reads a per-CPU segment limit or RDPID instead.
VDSO_EXPORT long __vdso_getcpu(unsigned* cpu, unsigned* node, void* cache) {
    long r;
    asm volatile("syscall" : "=a"(r) : "0"(309L), "D"(cpu), "S"(node), "d"(cache) : "rcx", "r11", "memory");  // SYS_getcpu
    return r;
}

// Linux exports the plain names too (weak aliases).
long clock_gettime(long, __kernel_timespec*) VDSO_EXPORT __attribute__((weak, alias("__vdso_clock_gettime")));
long clock_getres(long, __kernel_timespec*) VDSO_EXPORT __attribute__((weak, alias("__vdso_clock_getres")));
long gettimeofday(__kernel_old_timeval*, struct timezone*) VDSO_EXPORT __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long*) VDSO_EXPORT __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned*, unsigned*, void*) VDSO_EXPORT __attribute__((weak, alias("__vdso_getcpu")));

}  // extern "C"

// Clocks from the TSC (no exit); sleeping is the one time-related exit.
#include "kernel/time/clock.hpp"
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/syscalls/syscall.hpp"
#include "kernel/mm/uaccess.hpp"

namespace lightvm::guest {

namespace {

enum : unsigned { kSysClockGettime = 228, kSysClockGetres = 229, kSysGettimeofday = 96, kSysTime = 201,
                  kSysNanosleep = 35, kSysClockNanosleep = 230, kSysTimes = 100, kSysGetrusage = 98 };

struct Timespec {
    int64_t sec, nsec;
};

bool clock_now(uint64_t clk, uint64_t* ns) {
    switch (clk) {
    case 0:  // CLOCK_REALTIME
    case 5:  // CLOCK_REALTIME_COARSE
    case 11: // CLOCK_TAI (no leap-second table: same as REALTIME)
        *ns = realtime_ns();
        return true;
    case 1:  // CLOCK_MONOTONIC
    case 4:  // CLOCK_MONOTONIC_RAW
    case 6:  // CLOCK_MONOTONIC_COARSE
    case 7:  // CLOCK_BOOTTIME
        *ns = monotonic_ns();
        return true;
    case 2:  // CLOCK_PROCESS_CPUTIME_ID: the VM's one vCPU has run since boot
    case 3:  // CLOCK_THREAD_CPUTIME_ID
        *ns = boottime_ns();
        return true;
    default:
        return false;
    }
}

long sys_clock_gettime(const SyscallArgs& a) {
    uint64_t ns;
    if (!clock_now(a.a0, &ns))
        return -err::kInval;
    if (!access_ok(a.a1, sizeof(Timespec)))
        return -err::kFault;
    *reinterpret_cast<Timespec*>(a.a1) = {int64_t(ns / 1000000000), int64_t(ns % 1000000000)};
    return 0;
}

long sys_clock_getres(const SyscallArgs& a) {
    uint64_t ns;
    if (!clock_now(a.a0, &ns))
        return -err::kInval;
    if (a.a1) {
        if (!access_ok(a.a1, sizeof(Timespec)))
            return -err::kFault;
        *reinterpret_cast<Timespec*>(a.a1) = {0, 1};
    }
    return 0;
}

long sys_gettimeofday(const SyscallArgs& a) {
    if (a.a0) {
        if (!access_ok(a.a0, 16))
            return -err::kFault;
        uint64_t ns = realtime_ns();
        auto* tv = reinterpret_cast<int64_t*>(a.a0);
        tv[0] = int64_t(ns / 1000000000);
        tv[1] = int64_t(ns % 1000000000 / 1000);
    }
    if (a.a1) {
        if (!access_ok(a.a1, 8))
            return -err::kFault;
        memset(reinterpret_cast<void*>(a.a1), 0, 8);  // UTC
    }
    return 0;
}

long sys_time(const SyscallArgs& a) {
    int64_t t = int64_t(realtime_ns() / 1000000000);
    if (a.a0) {
        if (!access_ok(a.a0, 8))
            return -err::kFault;
        *reinterpret_cast<int64_t*>(a.a0) = t;
    }
    return t;
}

// The task sleeps; the CPU idles in the monitor (one exit) unless another
// task can run meanwhile (proc/sched.hpp).
long sleep_ns(uint64_t ns) {
    if (ns == 0)
        return 0;
    uint64_t now = monotonic_ns();
    sched_sleep_until(ns > ~0ull - now ? ~0ull : now + ns);
    return 0;
}

bool read_timespec(uint64_t p, uint64_t* ns) {
    if (!access_ok(p, sizeof(Timespec)))
        return false;
    Timespec ts = *reinterpret_cast<const Timespec*>(p);
    if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
        return false;
    uint64_t sec = uint64_t(ts.sec) > (~0ull / 1000000000 - 1) ? (~0ull / 1000000000 - 1) : uint64_t(ts.sec);
    *ns = sec * 1000000000 + uint64_t(ts.nsec);
    return true;
}

long sys_nanosleep(const SyscallArgs& a) {
    uint64_t ns;
    if (!read_timespec(a.a0, &ns))
        return access_ok(a.a0, sizeof(Timespec)) ? -err::kInval : -err::kFault;
    return sleep_ns(ns);
}

long sys_clock_nanosleep(const SyscallArgs& a) {
    uint64_t ns, now;
    if (!clock_now(a.a0, &now) || a.a0 == 2 || a.a0 == 3)
        return -err::kInval;
    if (!read_timespec(a.a2, &ns))
        return access_ok(a.a2, sizeof(Timespec)) ? -err::kInval : -err::kFault;
    if (a.a1 & 1)  // TIMER_ABSTIME
        ns = ns > now ? ns - now : 0;
    long r = sleep_ns(ns);
    return r;
}

long sys_times(const SyscallArgs& a) {
    uint64_t ticks = boottime_ns() / 10000000;  // USER_HZ = 100
    if (a.a0) {
        if (!access_ok(a.a0, 32))
            return -err::kFault;
        auto* t = reinterpret_cast<uint64_t*>(a.a0);
        t[0] = ticks;
        t[1] = t[2] = t[3] = 0;
    }
    return static_cast<long>(ticks);
}

long sys_getrusage(const SyscallArgs& a) {
    if (!access_ok(a.a1, 144))
        return -err::kFault;
    memset(reinterpret_cast<void*>(a.a1), 0, 144);
    uint64_t us = boottime_ns() / 1000;
    auto* r = reinterpret_cast<int64_t*>(a.a1);
    r[0] = int64_t(us / 1000000);  // ru_utime
    r[1] = int64_t(us % 1000000);
    return 0;
}

}  // namespace

void register_time_syscalls(SyscallHandler* t) {
    t[kSysClockGettime] = sys_clock_gettime;
    t[kSysClockGetres] = sys_clock_getres;
    t[kSysGettimeofday] = sys_gettimeofday;
    t[kSysTime] = sys_time;
    t[kSysNanosleep] = sys_nanosleep;
    t[kSysClockNanosleep] = sys_clock_nanosleep;
    t[kSysTimes] = sys_times;
    t[kSysGetrusage] = sys_getrusage;
}

}  // namespace lightvm::guest

// Clocks from the TSC (no exit); sleeping is the one time-related exit.
#include "kernel/time/clock.hpp"
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/syscalls/syscall.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

using Timespec = __kernel_timespec;

static bool clock_now(uint64_t clk, uint64_t* ns) {
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:  // no leap-second table: same as REALTIME
        *ns = realtime_ns();
        return true;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
        *ns = monotonic_ns();
        return true;
    case CLOCK_PROCESS_CPUTIME_ID:  // the VM's one vCPU has run since boot
    case CLOCK_THREAD_CPUTIME_ID:
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
        if (!access_ok(a.a0, sizeof(timeval)))
            return -err::kFault;
        uint64_t ns = realtime_ns();
        auto* tv = reinterpret_cast<timeval*>(a.a0);
        tv->tv_sec = int64_t(ns / 1000000000);
        tv->tv_usec = int64_t(ns % 1000000000 / 1000);
    }
    if (a.a1) {
        if (!access_ok(a.a1, sizeof(struct timezone)))
            return -err::kFault;
        memset(reinterpret_cast<void*>(a.a1), 0, sizeof(struct timezone));  // UTC
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
static long sleep_ns(uint64_t ns) {
    if (ns == 0)
        return 0;
    uint64_t now = monotonic_ns();
    sched_sleep_until(ns > ~0ull - now ? ~0ull : now + ns);
    return 0;
}

static bool read_timespec(uint64_t p, uint64_t* ns) {
    if (!access_ok(p, sizeof(Timespec)))
        return false;
    Timespec ts = *reinterpret_cast<const Timespec*>(p);
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
        return false;
    uint64_t sec = uint64_t(ts.tv_sec) > (~0ull / 1000000000 - 1) ? (~0ull / 1000000000 - 1) : uint64_t(ts.tv_sec);
    *ns = sec * 1000000000 + uint64_t(ts.tv_nsec);
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
    if (!clock_now(a.a0, &now) || a.a0 == CLOCK_PROCESS_CPUTIME_ID || a.a0 == CLOCK_THREAD_CPUTIME_ID)
        return -err::kInval;
    if (!read_timespec(a.a2, &ns))
        return access_ok(a.a2, sizeof(Timespec)) ? -err::kInval : -err::kFault;
    if (a.a1 & TIMER_ABSTIME)
        ns = ns > now ? ns - now : 0;
    long r = sleep_ns(ns);
    return r;
}

long sys_times(const SyscallArgs& a) {
    uint64_t ticks = boottime_ns() / (1000000000 / HZ);  // clock_t counts USER_HZ ticks
    if (a.a0) {
        if (!access_ok(a.a0, sizeof(tms)))
            return -err::kFault;
        auto* t = reinterpret_cast<tms*>(a.a0);
        t->tms_utime = static_cast<__kernel_clock_t>(ticks);
        t->tms_stime = t->tms_cutime = t->tms_cstime = 0;
    }
    return static_cast<long>(ticks);
}

long sys_getrusage(const SyscallArgs& a) {
    if (!access_ok(a.a1, sizeof(rusage)))
        return -err::kFault;
    memset(reinterpret_cast<void*>(a.a1), 0, sizeof(rusage));
    uint64_t us = boottime_ns() / 1000;
    auto* r = reinterpret_cast<rusage*>(a.a1);
    r->ru_utime.tv_sec = int64_t(us / 1000000);
    r->ru_utime.tv_usec = int64_t(us % 1000000);
    return 0;
}

}  // namespace lightvm::guest

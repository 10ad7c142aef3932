// Clocks from the TSC (no exit); sleeping is the one time-related exit.
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/cputime.hpp"
#include "kernel/proc/rusage.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

using Timespec = __kernel_timespec;

// CPU-time clocks (man 3 clock_getcpuclockid): the static ids and the
// dynamic ones (negative: ~pid << 3 | perthread << 2 | type, pid 0 = self),
// for this process and its tasks. PROF and SCHED count user + system time,
// VIRT user time only (Linux's CPUCLOCK_*).
static bool cpu_clock_now(int32_t clk, uint64_t* ns) {
    uint64_t user, sys;
    if (clk == CLOCK_PROCESS_CPUTIME_ID) {
        cputime_process(current_process(), &user, &sys);
    } else if (clk == CLOCK_THREAD_CPUTIME_ID) {
        cputime_task(current(), &user, &sys);
    } else {
        const int type = clk & 3;
        const bool thread = clk & 4;
        const auto id = static_cast<uint32_t>(~(clk >> 3));
        if (type == 3)
            return false;
        if (thread) {
            if (id != 0 && id != current()->tid)
                return false;  // other tasks: once threads share a process
            cputime_task(current(), &user, &sys);
        } else {
            if (id != 0 && id != current_process()->pid)
                return false;
            cputime_process(current_process(), &user, &sys);
        }
        if (type == 1)  // CPUCLOCK_VIRT
            sys = 0;
    }
    *ns = user + sys;
    return true;
}

// Every clock reads the TSC (time/clock.hpp). BOOTTIME is MONOTONIC (the VM
// never suspends); the COARSE clocks are the precise ones (cheaper than
// Linux's tick-based reading would be to fake, and never behind it);
// MONOTONIC_RAW is MONOTONIC (the guest does not slew its clock).
static bool clock_now(uint64_t clk_arg, uint64_t* ns) {
    auto clk = static_cast<int32_t>(static_cast<uint32_t>(clk_arg));
    if (clk < 0 || clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID)
        return cpu_clock_now(clk, ns);
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
    default:
        return false;
    }
}

static bool is_cpu_clock(uint64_t clk_arg) {
    auto clk = static_cast<int32_t>(static_cast<uint32_t>(clk_arg));
    return clk < 0 || clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID;
}

long sys_clock_gettime(const SyscallArgs& a) {
    uint64_t ns;
    if (!clock_now(a.a0, &ns))
        return -err::kInval;
    const Timespec ts = {int64_t(ns / 1000000000), int64_t(ns % 1000000000)};
    return UserPtr<Timespec>(a.a1).write(ts);
}

long sys_clock_getres(const SyscallArgs& a) {
    uint64_t ns;
    if (!clock_now(a.a0, &ns))
        return -err::kInval;
    return a.a1 ? UserPtr<Timespec>(a.a1).write(Timespec{0, 1}) : 0;
}

long sys_gettimeofday(const SyscallArgs& a) {
    if (a.a0) {
        uint64_t ns = realtime_ns();
        timeval tv{};
        tv.tv_sec = int64_t(ns / 1000000000);
        tv.tv_usec = int64_t(ns % 1000000000 / 1000);
        if (UserPtr<timeval>(a.a0).write(tv) < 0)
            return -err::kFault;
    }
    return a.a1 ? clear_user(a.a1, sizeof(struct timezone)) : 0;  // UTC
}

long sys_time(const SyscallArgs& a) {
    int64_t t = int64_t(realtime_ns() / 1000000000);
    if (a.a0 && UserPtr<int64_t>(a.a0).write(t) < 0)
        return -err::kFault;
    return t;
}

// The task sleeps; the CPU idles in the monitor (one exit) unless another
// task can run meanwhile (proc/sched.hpp). A signal ends the sleep early:
// the time left goes to rem (relative sleeps) and the call says EINTR
// after the handler; an absolute sleep restarts as it was.
static long sleep_ns(uint64_t ns, uint64_t rem, bool absolute) {
    if (ns == 0)
        return 0;
    uint64_t now = monotonic_ns();
    const uint64_t deadline = ns > ~0ull - now ? ~0ull : now + ns;
    while (!deadline_passed(deadline)) {
        if (signal_pending(current())) {
            if (absolute)
                return -ERESTARTNOHAND;
            now = monotonic_ns();
            const uint64_t left = deadline > now ? deadline - now : 0;
            const Timespec ts = {int64_t(left / 1000000000), int64_t(left % 1000000000)};
            if (rem && UserPtr<Timespec>(rem).write(ts) < 0)
                return -err::kFault;
            return -ERESTART_RESTARTBLOCK;
        }
        sched_block(deadline);
    }
    return 0;
}

static bool read_timespec(uint64_t p, uint64_t* ns) {
    Timespec ts;
    if (UserPtr<Timespec>(p).read(ts) < 0)
        return false;
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
    return sleep_ns(ns, a.a1, false);
}

long sys_clock_nanosleep(const SyscallArgs& a) {
    uint64_t ns, now;
    if (!clock_now(a.a0, &now) || is_cpu_clock(a.a0))
        return -err::kInval;  // CPU clocks: a sleep until this process used that much CPU is not built
    if (!read_timespec(a.a2, &ns))
        return access_ok(a.a2, sizeof(Timespec)) ? -err::kInval : -err::kFault;
    const bool absolute = a.a1 & TIMER_ABSTIME;
    if (absolute)
        ns = ns > now ? ns - now : 0;
    return sleep_ns(ns, absolute ? 0 : a.a3, absolute);
}

// times(): the process's user and system time, and its reaped children's,
// in clock ticks (USER_HZ); the result is the ticks since boot (Linux:
// since an arbitrary point).
long sys_times(const SyscallArgs& a) {
    constexpr uint64_t kNsPerTick = 1000000000 / HZ;
    if (a.a0) {
        uint64_t user, sys;
        cputime_process(current_process(), &user, &sys);
        tms t{};
        t.tms_utime = static_cast<__kernel_clock_t>(user / kNsPerTick);
        t.tms_stime = static_cast<__kernel_clock_t>(sys / kNsPerTick);
        const ProcCpuTime& c = current_process()->cpu;
        t.tms_cutime = static_cast<__kernel_clock_t>(c.children_user_ns / kNsPerTick);
        t.tms_cstime = static_cast<__kernel_clock_t>(c.children_sys_ns / kNsPerTick);
        if (UserPtr<tms>(a.a0).write(t) < 0)
            return -err::kFault;
    }
    return static_cast<long>(boottime_ns() / kNsPerTick);
}

static __kernel_old_timeval to_timeval(uint64_t ns) {
    return {static_cast<long>(ns / 1000000000), static_cast<long>(ns % 1000000000 / 1000)};
}

// getrusage: user and system time as measured (proc/cputime.hpp), for
// RUSAGE_CHILDREN the reaped children's; peak RSS, faults and context
// switches as proc/rusage.hpp says.
long sys_getrusage(const SyscallArgs& a) {
    auto who = static_cast<int32_t>(a.a0);
    uint64_t user = 0, sys = 0;
    rusage r{};
    switch (who) {
    case RUSAGE_SELF:
        cputime_process(current_process(), &user, &sys);
        rusage_self(current_process(), &r);
        break;
    case RUSAGE_THREAD:
        cputime_task(current(), &user, &sys);
        rusage_thread(current(), &r);
        break;
    case RUSAGE_CHILDREN:
        user = current_process()->cpu.children_user_ns;
        sys = current_process()->cpu.children_sys_ns;
        rusage_children(current_process(), &r);
        break;
    default:
        return -err::kInval;
    }
    r.ru_utime = to_timeval(user);
    r.ru_stime = to_timeval(sys);
    return UserPtr<rusage>(a.a1).write(r);
}

// adjtimex/clock_adjtime: the guest's clock is the host's, so it may be read
// but never steered. modes == 0 is the read-only query (man 2 adjtimex);
// any change is EPERM, what Linux says without CAP_SYS_TIME. The state
// reported is an unsynchronised clock (TIME_ERROR, STA_UNSYNC) with the
// kernel's initial NTP values: the guest cannot know the host's NTP state.
static long adjtime_query(uint64_t clk, uint64_t addr) {
    __kernel_timex tx;
    if (copy_from_user(&tx, addr, sizeof tx) < 0)
        return -err::kFault;
    if (clk != CLOCK_REALTIME)
        return clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME ? -err::kOpNotSupp : -err::kInval;
    if (tx.modes != 0 && tx.modes != ADJ_OFFSET_SS_READ)
        return -err::kPerm;
    uint64_t now = realtime_ns();
    __kernel_timex out{};
    out.time.tv_sec = static_cast<int64_t>(now / 1000000000);
    out.time.tv_usec = static_cast<int64_t>(now % 1000000000 / 1000);
    out.maxerror = 16000000;    // NTP_PHASE_LIMIT: "unsynchronised"
    out.esterror = 16000000;
    out.status = STA_UNSYNC;
    out.constant = 2;
    out.precision = 1;
    out.tolerance = 32768000;   // MAXFREQ_SCALED: 500 ppm << 16
    out.tick = 1000000 / HZ;    // USER_HZ ticks
    if (copy_to_user(addr, &out, sizeof out) < 0)
        return -err::kFault;
    return TIME_ERROR;
}

long sys_adjtimex(const SyscallArgs& a) { return adjtime_query(CLOCK_REALTIME, a.a0); }
long sys_clock_adjtime(const SyscallArgs& a) {
    auto clk = static_cast<int32_t>(static_cast<uint32_t>(a.a0));
    return adjtime_query(static_cast<uint64_t>(clk < 0 ? 0xffff : clk), a.a1);
}

}  // namespace lightvm::guest

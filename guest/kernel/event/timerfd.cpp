// timerfd (man 2 timerfd_create): a timer whose expirations are read as a
// 64-bit count. Each timer owns a kernel timer (proc/ktimer.hpp) armed for
// its next expiration: when it fires, the expirations since are counted
// and the wait queue woken, so a blocked read, poll or epoll_wait returns,
// and the CPU idles in the monitor until the earliest armed timer (one
// exit per wait, no polling loop). The count is also brought up to date
// whenever it is looked at (read, poll, gettime), so it is exact even
// between schedules.
//
// Clocks: REALTIME, MONOTONIC and BOOTTIME (the VM never suspends:
// BOOTTIME runs with MONOTONIC), and their _ALARM variants as the plain
// ones (nothing can wake a suspended VM). Deadlines are kept on the
// monotonic clock; an absolute REALTIME time is converted when set, which
// is exact because the guest's realtime clock never jumps (clock_settime
// is EPERM): for the same reason TFD_TIMER_CANCEL_ON_SET is accepted and
// never cancels.
#include "kernel/errno.hpp"
#include "kernel/event/event_file.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/ktimer.hpp"
#include "kernel/proc/wait.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// <sys/timerfd.h> (not in the uapi headers).
constexpr uint64_t kTfdTimerAbstime = 1, kTfdTimerCancelOnSet = 2;
constexpr int64_t kNsPerSec = 1000000000;

struct Itimerspec {
    __kernel_timespec interval, value;
};

struct TimerFd {
    bool used;
    int32_t clock;
    int64_t next_ns;      // monotonic time of the next expiration; 0: disarmed
    int64_t interval_ns;  // 0: one-shot
    uint64_t ticks;       // expirations not read yet
    KTimer timer;
    WaitQueue wq;
};

constexpr int kMaxTimerFds = 128;
TimerFd g_timerfds[kMaxTimerFds];

TimerFd* timerfd_of(OpenFile* f) { return static_cast<TimerFd*>(f->event); }

int64_t now_mono() { return static_cast<int64_t>(monotonic_ns()); }

// The clock's "now" for clock ids timerfd accepts; false for the others.
bool timer_clock_now(int32_t clk, int64_t* now) {
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_ALARM:
        *now = static_cast<int64_t>(realtime_ns());
        return true;
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_BOOTTIME_ALARM:
        *now = now_mono();
        return true;
    default:
        return false;
    }
}

// Counts the expirations up to now and moves next_ns past it (one-shot
// timers disarm). Returns whether any were added.
bool catch_up(TimerFd* t, int64_t now) {
    if (!t->next_ns || t->next_ns > now)
        return false;
    if (!t->interval_ns) {
        t->ticks++;
        t->next_ns = 0;
        return true;
    }
    auto n = static_cast<uint64_t>((now - t->next_ns) / t->interval_ns) + 1;
    t->ticks += n;
    t->next_ns += static_cast<int64_t>(n) * t->interval_ns;
    return true;
}

void rearm(TimerFd* t);

void on_expiry(KTimer* kt) {
    auto* t = reinterpret_cast<TimerFd*>(reinterpret_cast<char*>(kt) - offsetof(TimerFd, timer));
    catch_up(t, now_mono());
    rearm(t);
    wake_up(t->wq);
}

void rearm(TimerFd* t) {
    if (t->next_ns)
        ktimer_arm(&t->timer, static_cast<uint64_t>(t->next_ns), on_expiry);
    else
        ktimer_cancel(&t->timer);
}

// Brings the count up to date (the kernel timer may not have run yet).
void refresh(TimerFd* t) {
    if (catch_up(t, now_mono()))
        rearm(t);
}

long tfd_read(OpenFile* f, void* buf, size_t len, int64_t) {
    TimerFd* t = timerfd_of(f);
    if (len < sizeof(uint64_t))
        return -err::kInval;
    refresh(t);
    if (!t->ticks) {
        if (f->flags & O_NONBLOCK)
            return -err::kAgain;
        auto due = [&] {
            refresh(t);
            return t->ticks > 0;
        };
        if (wait_event_interruptible(t->wq, due) == WaitResult::Interrupted)
            return -ERESTARTSYS;  // EINTR, or restarted with SA_RESTART
    }
    uint64_t v = t->ticks;
    t->ticks = 0;
    memcpy(buf, &v, sizeof v);
    return sizeof v;
}

int tfd_poll(OpenFile* f) {
    TimerFd* t = timerfd_of(f);
    refresh(t);
    return t->ticks ? POLLIN : 0;
}

WaitQueue* tfd_queue(OpenFile* f) { return &timerfd_of(f)->wq; }

long tfd_release(OpenFile* f) {
    if (TimerFd* t = timerfd_of(f)) {
        ktimer_cancel(&t->timer);
        t->used = false;
    }
    return 0;
}

long timerfd_get(OpenFile* f, TimerFd** out) {
    if (!f)
        return -err::kBadF;
    if (f->kind != FileKind::TimerFd)
        return -err::kInval;
    *out = timerfd_of(f);
    return 0;
}

__kernel_timespec to_timespec(int64_t ns) { return {ns / kNsPerSec, ns % kNsPerSec}; }

// What timerfd_gettime reports: time left and the interval.
Itimerspec current_setting(TimerFd* t) {
    refresh(t);
    int64_t left = t->next_ns ? t->next_ns - now_mono() : 0;
    if (t->next_ns && left <= 0)
        left = 1;  // due now: armed timers never report 0 (that means disarmed)
    return {to_timespec(t->interval_ns), to_timespec(left)};
}

bool valid(const __kernel_timespec& ts) { return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNsPerSec; }

// Seconds beyond this would overflow int64 nanoseconds: clamp (centuries).
int64_t to_ns(const __kernel_timespec& ts) {
    constexpr int64_t kMaxSec = INT64_MAX / kNsPerSec / 2;
    return (ts.tv_sec > kMaxSec ? kMaxSec : ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

}  // namespace

const FileOps kTimerFdOps = {
    .read = tfd_read,
    .write = nullptr,  // EINVAL
    .seek = nullptr,
    .stat = anon_stat,
    .sync = nullptr,
    .ioctl = nullptr,
    .poll = tfd_poll,
    .wait_queue = tfd_queue,
    .release = tfd_release,
    .tty = false,
    .seekable = false,
};

long sys_timerfd_create(const SyscallArgs& a) {
    auto clk = static_cast<int32_t>(a.a0);
    uint64_t flags = a.a1 & 0xffffffffu;
    int64_t now;
    if (!timer_clock_now(clk, &now) || (flags & ~uint64_t{O_CLOEXEC | O_NONBLOCK}))
        return -err::kInval;
    TimerFd* t = nullptr;
    for (auto& slot : g_timerfds)
        if (!slot.used && !t)
            t = &slot;
    if (!t)
        return -err::kNFile;
    *t = TimerFd{};
    t->used = true;
    t->clock = clk;
    long fd = event_install(FileKind::TimerFd, t, O_RDWR | (flags & O_NONBLOCK), flags & O_CLOEXEC);
    if (fd < 0)
        t->used = false;
    return fd;
}

long sys_timerfd_settime(const SyscallArgs& a) {
    TimerFd* t;
    uint64_t flags = a.a1 & 0xffffffffu;
    if (long r = timerfd_get(fd_get(fd_arg(a.a0)), &t); r < 0)
        return r;
    if (flags & ~(kTfdTimerAbstime | kTfdTimerCancelOnSet))
        return -err::kInval;
    Itimerspec nv;
    if (copy_from_user(&nv, a.a2, sizeof nv) < 0)
        return -err::kFault;
    if (!valid(nv.value) || !valid(nv.interval))
        return -err::kInval;
    Itimerspec old = current_setting(t);
    if (a.a3 && copy_to_user(a.a3, &old, sizeof old) < 0)
        return -err::kFault;
    t->ticks = 0;
    t->interval_ns = to_ns(nv.interval);
    int64_t value = to_ns(nv.value);
    int64_t mono = now_mono();
    if (!value) {
        t->next_ns = 0;  // disarm
    } else if (flags & kTfdTimerAbstime) {
        int64_t clock_now = mono;
        timer_clock_now(t->clock, &clock_now);
        t->next_ns = mono + (value - clock_now);  // may lie in the past: expires at once
        if (t->next_ns <= 0)
            t->next_ns = 1;
    } else {
        t->next_ns = mono + value;
    }
    rearm(t);
    refresh(t);
    wake_up(t->wq);  // pollers re-check (an absolute time in the past is ready now)
    return 0;
}

long sys_timerfd_gettime(const SyscallArgs& a) {
    TimerFd* t;
    if (long r = timerfd_get(fd_get(fd_arg(a.a0)), &t); r < 0)
        return r;
    Itimerspec cur = current_setting(t);
    return copy_to_user(a.a1, &cur, sizeof cur);
}

}  // namespace lightvm::guest

// Interval timers and POSIX timers (man 2 alarm, setitimer, timer_create):
// every armed timer of every process is a deadline on CLOCK_MONOTONIC; the
// one-shot guest timer interrupt (irq/timer.hpp's Timers slot) is armed at the
// earliest. Its handler sends the signals that are due (SIGALRM, the
// timer's sigev_signo) and re-arms periodic timers; a task running user
// code gets them on the interrupt's way back (irq.cpp's user-return hook).
//
// ITIMER_VIRTUAL and ITIMER_PROF count wall-clock time here (an
// approximation: a process alone on its vCPU runs most of the time, but
// its sleeps are counted too).
#include "kernel/time/timers.hpp"

#include "kernel/errno.hpp"
#include "kernel/irq/timer.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/kmem.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/signal.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/proc/task_list.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

inline constexpr int kMaxPosixTimers = 32;

struct PosixTimer {
    bool used;
    bool thread;       // SIGEV_THREAD_ID: to one task
    uint8_t notify;    // SIGEV_SIGNAL or SIGEV_NONE
    int32_t signo;
    uint32_t clock;    // CLOCK_REALTIME or CLOCK_MONOTONIC (deadlines are monotonic)
    int32_t tid;
    uint64_t value;    // sigev_value
    uint64_t deadline; // monotonic ns, 0: disarmed
    uint64_t interval;
    int32_t overrun;   // expirations while its signal was still queued
    int32_t overrun_last;
};

struct Itimer {
    uint64_t deadline, interval;
};

struct ProcTimers {
    Process* owner;
    Itimer it[3];  // ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF
    PosixTimer posix[kMaxPosixTimers];
};

namespace {

constexpr int kMaxProcs = 64;
ProcTimers* g_procs[kMaxProcs];  // processes with timers

constexpr int kItimerSig[3] = {SIGALRM, SIGVTALRM, SIGPROF};

uint64_t ts_ns(const __kernel_timespec& ts) {
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
__kernel_timespec ns_ts(uint64_t ns) { return {int64_t(ns / 1000000000), int64_t(ns % 1000000000)}; }
bool ts_valid(const __kernel_timespec& ts) { return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000; }
uint64_t tv_ns(const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1000000000ull + static_cast<uint64_t>(tv.tv_usec) * 1000;
}
timeval ns_tv(uint64_t ns) {
    timeval tv{};
    tv.tv_sec = int64_t(ns / 1000000000);
    tv.tv_usec = int64_t(ns % 1000000000 / 1000);
    return tv;
}

uint64_t left(uint64_t deadline, uint64_t now) { return deadline > now ? deadline - now : (deadline ? 1 : 0); }

uint64_t earliest() {
    uint64_t e = 0;
    auto take = [&e](uint64_t d) {
        if (d && (!e || d < e))
            e = d;
    };
    for (ProcTimers* t : g_procs) {
        if (!t)
            continue;
        for (const Itimer& it : t->it)
            take(it.deadline);
        for (const PosixTimer& pt : t->posix)
            if (pt.used)
                take(pt.deadline);
    }
    return e;
}

void on_timer(const irq::Frame*);

// One exit when the earliest deadline changed.
void rearm() {
    irq::MaskGuard masked;
    uint64_t e = earliest();
    if (e != irq::timer_deadline(irq::TimerSlot::Timers))
        irq::timer_arm(irq::TimerSlot::Timers, e, on_timer);
}

// The next deadline of a periodic timer that fired at `deadline`; missed
// periods are counted (POSIX timers' overrun).
uint64_t advance(uint64_t deadline, uint64_t interval, uint64_t now, int32_t* missed) {
    if (!interval)
        return 0;
    uint64_t next = deadline + interval;
    if (next <= now) {
        uint64_t skip = (now - next) / interval + 1;
        next += skip * interval;
        if (missed)
            *missed += static_cast<int32_t>(skip > 0x7fffffff ? 0x7fffffff : skip);
    }
    return next;
}

// Its signal still waits in the queue: count an overrun instead of a second one.
KSigInfo* queued_entry(SigPending& q, int signo, int id) {
    for (uint32_t i = 0; i < q.n; ++i)
        if (q.queue[i].signo == signo && q.queue[i].code == SI_TIMER && q.queue[i].timer.tid == id)
            return &q.queue[i];
    return nullptr;
}

Task* g_thread_target;
void find_tid(Task* t, void* arg) {
    if (!t->sig.kernel_only && static_cast<int32_t>(t->tid) == *static_cast<int32_t*>(arg))
        g_thread_target = t;
}

void fire_posix(ProcTimers& pt, int id, uint64_t now) {
    PosixTimer& t = pt.posix[id];
    int32_t missed = 0;
    t.deadline = advance(t.deadline, t.interval, now, &missed);
    if (t.notify != SIGEV_SIGNAL)
        return;
    Task* target = nullptr;
    if (t.thread) {
        g_thread_target = nullptr;
        task_for_each(find_tid, &t.tid);
        target = g_thread_target;
    }
    SigPending& q = target ? target->sig.pending : pt.owner->sig.shared;
    if (KSigInfo* e = queued_entry(q, t.signo, id)) {
        e->timer.overrun += 1 + missed;
        t.overrun_last = e->timer.overrun;
        return;
    }
    KSigInfo info{};
    info.signo = t.signo;
    info.code = SI_TIMER;
    info.timer.tid = id;
    info.timer.overrun = missed;
    info.timer.value = t.value;
    t.overrun_last = missed;
    if (target)
        signal_send_task(target, t.signo, &info);
    else
        signal_send(pt.owner, t.signo, &info);
}

void on_timer(const irq::Frame*) {
    uint64_t now = monotonic_ns();
    for (ProcTimers* pt : g_procs) {
        if (!pt)
            continue;
        for (int w = 0; w < 3; ++w) {
            Itimer& it = pt->it[w];
            if (!it.deadline || it.deadline > now)
                continue;
            it.deadline = advance(it.deadline, it.interval, now, nullptr);
            signal_send(pt->owner, kItimerSig[w], nullptr);
        }
        for (int i = 0; i < kMaxPosixTimers; ++i)
            if (pt->posix[i].used && pt->posix[i].deadline && pt->posix[i].deadline <= now)
                fire_posix(*pt, i, now);
    }
    rearm();
}

ProcTimers* timers_of(Process* p, bool create) {
    if (p->sig.timers || !create)
        return p->sig.timers;
    int slot = -1;
    for (int i = 0; i < kMaxProcs && slot < 0; ++i)
        if (!g_procs[i])
            slot = i;
    if (slot < 0)
        return nullptr;
    auto* t = static_cast<ProcTimers*>(kmem_alloc(sizeof(ProcTimers)));
    if (!t)
        return nullptr;
    t->owner = p;
    irq::MaskGuard masked;
    g_procs[slot] = t;
    p->sig.timers = t;
    return t;
}

PosixTimer* posix_timer(uint64_t id) {
    ProcTimers* pt = timers_of(current_process(), false);
    if (!pt || id >= kMaxPosixTimers || !pt->posix[id].used)
        return nullptr;
    return &pt->posix[id];
}

// A CLOCK_REALTIME absolute time as a monotonic deadline.
uint64_t to_deadline(const PosixTimer& t, uint64_t value, bool absolute) {
    uint64_t mono = monotonic_ns();
    if (!absolute)
        return mono + value;
    uint64_t now = t.clock == CLOCK_REALTIME ? realtime_ns() : mono;
    return value > now ? mono + (value - now) : mono;  // past: fires at once
}

long set_itimer(int which, uint64_t value, uint64_t interval, uint64_t* old_value, uint64_t* old_interval) {
    ProcTimers* pt = timers_of(current_process(), value != 0);
    uint64_t now = monotonic_ns();
    if (!pt) {
        *old_value = *old_interval = 0;
        return value ? -err::kNoMem : 0;
    }
    Itimer& it = pt->it[which];
    {
        irq::MaskGuard masked;
        *old_value = left(it.deadline, now);
        *old_interval = it.interval;
        it.deadline = value ? now + value : 0;
        it.interval = value ? interval : 0;
    }
    rearm();
    return 0;
}

}  // namespace

void timers_exit(Process& p) {
    irq::MaskGuard masked;
    for (auto& slot : g_procs)
        if (slot && slot == p.sig.timers)
            slot = nullptr;
    if (p.sig.timers)
        kmem_free(p.sig.timers, sizeof(ProcTimers));
    p.sig.timers = nullptr;
    rearm();
}

long sys_alarm(const SyscallArgs& a) {
    uint64_t old, old_interval;
    set_itimer(ITIMER_REAL, static_cast<uint32_t>(a.a0) * 1000000000ull, 0, &old, &old_interval);
    // Linux rounds the seconds left to the nearest, and never says 0 for an
    // armed alarm.
    uint64_t secs = old / 1000000000;
    if (old % 1000000000 >= 500000000)
        secs++;
    if (!secs && old)
        secs = 1;
    return static_cast<long>(secs);
}

long sys_setitimer(const SyscallArgs& a) {
    if (a.a0 > ITIMER_PROF)
        return -err::kInval;
    itimerval nv{};
    if (a.a1 && copy_from_user(&nv, a.a1, sizeof nv) < 0)
        return -err::kFault;
    auto bad = [](const timeval& tv) { return tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000; };
    if (bad(nv.it_value) || bad(nv.it_interval))
        return -err::kInval;
    uint64_t old, old_interval;
    long r = set_itimer(static_cast<int>(a.a0), tv_ns(nv.it_value), tv_ns(nv.it_interval), &old, &old_interval);
    if (r < 0)
        return r;
    if (a.a2) {
        itimerval ov{};
        ov.it_value = ns_tv(old);
        ov.it_interval = ns_tv(old_interval);
        if (copy_to_user(a.a2, &ov, sizeof ov) < 0)
            return -err::kFault;
    }
    return 0;
}

long sys_getitimer(const SyscallArgs& a) {
    if (a.a0 > ITIMER_PROF)
        return -err::kInval;
    itimerval v{};
    if (ProcTimers* pt = timers_of(current_process(), false)) {
        irq::MaskGuard masked;
        v.it_value = ns_tv(left(pt->it[a.a0].deadline, monotonic_ns()));
        v.it_interval = ns_tv(pt->it[a.a0].interval);
    }
    return copy_to_user(a.a1, &v, sizeof v);
}

long sys_timer_create(const SyscallArgs& a) {
    const uint64_t clk = a.a0;
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME)
        return -err::kInval;  // CPU-time and alarm clocks: not supported
    PosixTimer t{};
    t.used = true;
    t.clock = clk == CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC;
    t.notify = SIGEV_SIGNAL;
    t.signo = SIGALRM;
    bool value_is_id = true;
    if (a.a1) {
        sigevent ev;
        if (copy_from_user(&ev, a.a1, sizeof ev) < 0)
            return -err::kFault;
        value_is_id = false;
        t.value = reinterpret_cast<uint64_t>(ev.sigev_value.sival_ptr);
        switch (ev.sigev_notify) {
        case SIGEV_NONE:
            t.notify = SIGEV_NONE;
            break;
        case SIGEV_THREAD_ID:
            t.thread = true;
            t.tid = ev.sigev_notify_thread_id;
            [[fallthrough]];
        case SIGEV_SIGNAL:
            if (ev.sigev_signo < 1 || ev.sigev_signo > kNSig)
                return -err::kInval;
            t.signo = ev.sigev_signo;
            break;
        default:
            return -err::kInval;  // SIGEV_THREAD is the C library's (it becomes SIGEV_THREAD_ID)
        }
    }
    ProcTimers* pt = timers_of(current_process(), true);
    if (!pt)
        return -err::kAgain;
    for (int id = 0; id < kMaxPosixTimers; ++id) {
        if (pt->posix[id].used)
            continue;
        if (value_is_id)
            t.value = static_cast<uint64_t>(id);
        if (UserPtr<int32_t>(a.a2).write(id) < 0)
            return -err::kFault;
        irq::MaskGuard masked;
        pt->posix[id] = t;
        return 0;
    }
    return -err::kAgain;
}

long sys_timer_settime(const SyscallArgs& a) {
    PosixTimer* t = posix_timer(a.a0);
    if (!t)
        return -err::kInval;
    __kernel_timespec nv[2];  // it_interval, it_value
    if (copy_from_user(nv, a.a2, sizeof nv) < 0)
        return -err::kFault;
    if (!ts_valid(nv[0]) || !ts_valid(nv[1]))
        return -err::kInval;
    const uint64_t now = monotonic_ns();
    __kernel_timespec ov[2] = {ns_ts(t->interval), ns_ts(left(t->deadline, now))};
    {
        irq::MaskGuard masked;
        const uint64_t value = ts_ns(nv[1]);
        t->deadline = value ? to_deadline(*t, value, a.a1 & TIMER_ABSTIME) : 0;
        t->interval = value ? ts_ns(nv[0]) : 0;
        t->overrun = t->overrun_last = 0;
    }
    rearm();
    if (a.a3 && copy_to_user(a.a3, ov, sizeof ov) < 0)
        return -err::kFault;
    return 0;
}

long sys_timer_gettime(const SyscallArgs& a) {
    PosixTimer* t = posix_timer(a.a0);
    if (!t)
        return -err::kInval;
    __kernel_timespec v[2] = {ns_ts(t->interval), ns_ts(left(t->deadline, monotonic_ns()))};
    return copy_to_user(a.a1, v, sizeof v);
}

long sys_timer_getoverrun(const SyscallArgs& a) {
    PosixTimer* t = posix_timer(a.a0);
    return t ? t->overrun_last : -err::kInval;
}

long sys_timer_delete(const SyscallArgs& a) {
    PosixTimer* t = posix_timer(a.a0);
    if (!t)
        return -err::kInval;
    {
        irq::MaskGuard masked;
        *t = PosixTimer{};
    }
    rearm();
    return 0;
}

}  // namespace lightvm::guest

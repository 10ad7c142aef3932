#include "common/stop.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace lightvm {

namespace {
std::atomic<bool> g_stop{false};
std::atomic<bool> g_pause{false};
static_assert(std::atomic<bool>::is_always_lock_free, "used from signal handlers");
timer_t g_ticker{};
std::atomic<bool> g_ticker_armed{false};
constexpr long kTickNs = 5'000'000;  // 5 ms: well below any user-visible delay
}  // namespace

bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }
void set_stop_requested(bool on) { g_stop.store(on, std::memory_order_relaxed); }
bool pause_only() { return g_pause.load(std::memory_order_relaxed) && !stop_requested(); }
void set_pause_requested(bool on) { g_pause.store(on, std::memory_order_relaxed); }

int stop_ticker_arm(int signo) {
    stop_ticker_disarm();
    sigevent ev{};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = signo;
    ev._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
    if (::timer_create(CLOCK_MONOTONIC, &ev, &g_ticker) < 0)
        return -errno;
    g_ticker_armed = true;
    return 0;
}

void stop_ticker_disarm() {
    if (g_ticker_armed.exchange(false))
        ::timer_delete(g_ticker);
}

void request_tick(bool now) {
    if (g_ticker_armed.load()) {
        itimerspec its{};
        its.it_value.tv_nsec = now ? 1 : kTickNs;
        its.it_interval.tv_nsec = kTickNs;
        ::timer_settime(g_ticker, 0, &its, nullptr);  // async-signal-safe (POSIX)
    }
}

void tick_quiet() {
    if (g_ticker_armed.load() && !stop_requested()) {
        itimerspec its{};
        ::timer_settime(g_ticker, 0, &its, nullptr);
    }
}

void request_stop_and_tick() {
    set_stop_requested(true);
    request_tick();
}

}  // namespace lightvm

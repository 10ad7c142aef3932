// "Stop this VM now": set from signal handlers (--timeout, SIGINT/SIGTERM/
// SIGHUP), read by every host-side loop that could run long (copies,
// retries, writes to a slow pipe), so a hostile or merely busy guest can
// never make the monitor unstoppable. Async-signal-safe.
#pragma once

namespace lightvm {

bool stop_requested();
void set_stop_requested(bool on);

// "Pause between two exits" (--save): the vCPU is kicked out of KVM_RUN,
// but a guest's blocking host call that the kick interrupts (a read of the
// host's stdin) must not fail with EINTR because of it: it retries while
// only a pause, no stop and no signal for the guest, is pending — the save
// then happens when that call returns. Async-signal-safe.
bool pause_only();
void set_pause_requested(bool on);

// A host call that blocked just before a stop was requested (a write to a
// pipe nobody reads) would never see it. The ticker closes that window:
// armed on the vCPU thread at the start of a run, it sends `signo` to that
// thread every few milliseconds once request_stop_and_tick() was called, so
// every blocking call returns EINTR and its loop sees the stop.
// (Plain C status: 0, or -errno from timer_create.)
int stop_ticker_arm(int signo);
void stop_ticker_disarm();
// set_stop_requested(true) and start the ticker. Async-signal-safe.
void request_stop_and_tick();
// A host signal for the guest came (a forwarded one): the same window
// exists between the run loop's last look and a blocking call (the idle
// sleep, a read of stdin). Tick until the run loop has taken it
// (tick_quiet); a stop keeps ticking. Both async-signal-safe. `now`: the
// first tick at once, not after the period (exec news: the guest may be
// asleep in the monitor, and the exec's latency is the user's wait).
void request_tick(bool now = false);
void tick_quiet();

}  // namespace lightvm

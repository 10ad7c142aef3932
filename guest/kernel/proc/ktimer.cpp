#include "kernel/proc/ktimer.hpp"

#include "kernel/time/clock.hpp"

namespace lightvm::guest {

namespace {

// Armed timers, unsorted: programs arm a handful, and a scan is cheaper
// than keeping order at that size (a heap when there are many).
KTimer* g_armed;
void (*g_deferred[4])();  // signalfd wake-ups, job control's parent notices
volatile bool g_kicked;

void unlink(KTimer* t) {
    for (KTimer** p = &g_armed; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    t->next = nullptr;
    t->deadline_ns = 0;
}

}  // namespace

void ktimer_arm(KTimer* t, uint64_t deadline_ns, KTimerFn fn) {
    if (t->deadline_ns)
        unlink(t);
    t->fn = fn;
    t->deadline_ns = deadline_ns ? deadline_ns : 1;
    t->next = g_armed;
    g_armed = t;
}

void ktimer_cancel(KTimer* t) {
    if (t->deadline_ns)
        unlink(t);
}

void ktimer_run_expired(uint64_t now) {
    for (bool fired = true; fired;) {
        fired = false;
        for (KTimer* t = g_armed; t; t = t->next) {
            if (t->deadline_ns > now)
                continue;
            unlink(t);
            t->fn(t);  // may re-arm t or others: rescan from the start
            fired = true;
            break;
        }
    }
}

void ktimer_add_deferred(void (*fn)()) {
    for (auto& slot : g_deferred) {
        if (slot == fn)
            return;
        if (!slot) {
            slot = fn;
            return;
        }
    }
}

void ktimer_kick() { g_kicked = true; }

void ktimer_poll() {
    if (g_kicked) {
        g_kicked = false;
        for (auto fn : g_deferred)
            if (fn)
                fn();
    }
    if (g_armed)
        ktimer_run_expired(monotonic_ns());
}

uint64_t ktimer_earliest() {
    uint64_t earliest = 0;
    for (KTimer* t = g_armed; t; t = t->next)
        if (!earliest || t->deadline_ns < earliest)
            earliest = t->deadline_ns;
    return earliest;
}

}  // namespace lightvm::guest

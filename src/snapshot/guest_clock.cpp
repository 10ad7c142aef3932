#include "snapshot/guest_clock.hpp"

namespace lightvm::snapshot {

uint64_t tsc_mult_for(uint64_t khz) { return khz ? (1000000ull << 32) / khz : 0; }

uint64_t since_base_ns(const GuestClock& c, uint64_t tsc) {
    // guest/kernel/time/clock.cpp's arithmetic, byte for byte.
    const int64_t signed_delta = static_cast<int64_t>(tsc - c.tsc_base);
    const uint64_t delta = signed_delta > 0 ? static_cast<uint64_t>(signed_delta) : 0;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * c.tsc_mult) >> c.tsc_shift);
}

uint64_t guest_monotonic_ns(const GuestClock& c, uint64_t tsc) { return c.monotonic_base_ns + since_base_ns(c, tsc); }

uint64_t time_away_ns(uint64_t saved_realtime_ns, uint64_t now_realtime_ns) {
    return now_realtime_ns > saved_realtime_ns ? now_realtime_ns - saved_realtime_ns : 0;
}

GuestClock rebase(const GuestClock& saved, uint64_t since_ns, uint64_t tsc_now, uint64_t khz_now) {
    GuestClock c = saved;
    c.tsc_khz = khz_now;
    c.tsc_shift = 32;
    c.tsc_mult = tsc_mult_for(khz_now);
    // Ticks for since_ns at this rate; then a few more while the guest's
    // truncated multiplier reads less (~1 ppb, a millisecond after weeks):
    // it must never read a nanosecond before the saved instant.
    auto ticks = static_cast<uint64_t>((static_cast<unsigned __int128>(since_ns) * khz_now + 999999) / 1000000);
    c.tsc_base = tsc_now - ticks;  // modulo 2^64: may lie above tsc_now
    for (int i = 0; i < 4 && khz_now; ++i) {
        const uint64_t got = since_base_ns(c, tsc_now);
        if (got >= since_ns)
            break;
        c.tsc_base -= (since_ns - got) * khz_now / 1000000 + 1;
    }
    return c;
}

int64_t monotonic_offset_ns(const GuestClock& c, uint64_t tsc_now, uint64_t host_monotonic_ns) {
    return static_cast<int64_t>(guest_monotonic_ns(c, tsc_now) - host_monotonic_ns);
}

}  // namespace lightvm::snapshot

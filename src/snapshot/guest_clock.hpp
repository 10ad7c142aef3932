// The guest's clock across a restore (docs/snapshot-format.md, "Clocks").
// The guest computes time from the TSC with the boot page's reference
// (abi.h BootInfo): ns = base + ((tsc - tsc_base) * mult) >> shift, the
// difference signed and 0 when negative. On PVM the guest reads the host's
// TSC natively (no offset applies, docs/platform.md), so a restore into
// another host boot, where the TSC started again, moves the reference
// instead: tsc_base and the rate (tsc_khz, mult) change, the bases stay, so
// CLOCK_MONOTONIC continues and every absolute time the guest kept (its
// timers, start times, the boot instant) keeps its meaning.
// Pure arithmetic: unit-tested without a VM.
#pragma once

#include <cstdint>

namespace lightvm::snapshot {

struct GuestClock {
    uint64_t tsc_khz = 0;
    uint64_t tsc_base = 0;
    uint64_t tsc_mult = 0;
    uint32_t tsc_shift = 0;
    uint64_t realtime_base_ns = 0;
    uint64_t monotonic_base_ns = 0;
};

// The multiplier for a TSC of `khz` with shift 32 (0 for an unknown rate).
uint64_t tsc_mult_for(uint64_t khz);
// Nanoseconds since the reference at `tsc`, exactly as the guest computes them.
uint64_t since_base_ns(const GuestClock& c, uint64_t tsc);
// The guest's CLOCK_MONOTONIC at `tsc`.
uint64_t guest_monotonic_ns(const GuestClock& c, uint64_t tsc);

// How long a VM saved at host CLOCK_REALTIME `saved_realtime_ns` was away
// when restored at `now_realtime_ns` in another boot or on another host:
// the wall clock is the one both share; 0 when it went back (another host's
// clock behind this one's), so the guest's monotonic clock never does.
uint64_t time_away_ns(uint64_t saved_realtime_ns, uint64_t now_realtime_ns);

// The reference a guest continues with on this host: `saved` rebased so
// that at host TSC `tsc_now` (rate `khz_now`) the guest reads
// `since_ns` after its bases. The bases stay; tsc_base may wrap above the
// TSC (the guest's difference is signed).
GuestClock rebase(const GuestClock& saved, uint64_t since_ns, uint64_t tsc_now, uint64_t khz_now);

// guest CLOCK_MONOTONIC - host CLOCK_MONOTONIC at one instant: what the
// monitor subtracts from a guest deadline to arm a host timer.
int64_t monotonic_offset_ns(const GuestClock& c, uint64_t tsc_now, uint64_t host_monotonic_ns);

}  // namespace lightvm::snapshot

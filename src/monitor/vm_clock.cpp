#include "monitor/vm_clock.hpp"

#include <time.h>
#include <x86intrin.h>

#include <cstddef>

#include "lightvm/abi.h"
#include "snapshot/guest_clock.hpp"

namespace lightvm {

namespace {

uint64_t host_ns(clockid_t clk) {
    timespec ts;
    ::clock_gettime(clk, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

Result<snapshot::GuestClock> read_clock(const GuestMemory& mem) {
    const auto b = TRY(mem.read<abi::BootInfo>(abi::kBootInfoGpa));
    return snapshot::GuestClock{b.tsc_khz, b.tsc_base, b.tsc_mult, b.tsc_shift, b.realtime_base_ns,
                                b.monotonic_base_ns};
}

// Only the reference's fields: the rest of the boot page is the guest's.
Result<void> write_clock(GuestMemory& mem, const snapshot::GuestClock& c) {
    constexpr uint64_t at = abi::kBootInfoGpa;
    TRY(mem.write<uint64_t>(at + offsetof(abi::BootInfo, tsc_khz), c.tsc_khz));
    TRY(mem.write<uint64_t>(at + offsetof(abi::BootInfo, tsc_base), c.tsc_base));
    TRY(mem.write<uint64_t>(at + offsetof(abi::BootInfo, tsc_mult), c.tsc_mult));
    return mem.write<uint32_t>(at + offsetof(abi::BootInfo, tsc_shift), c.tsc_shift);
}

}  // namespace

Result<void> save_guest_clock(const GuestMemory& mem, snapshot::Snapshot& snap) {
    const snapshot::GuestClock c = TRY(read_clock(mem));
    snap.has_clock = true;
    snap.saved_realtime_ns = host_ns(CLOCK_REALTIME);
    snap.guest_since_ns = snapshot::since_base_ns(c, __rdtsc());
    return {};
}

Result<int64_t> restore_guest_clock(GuestMemory& mem, const snapshot::Snapshot& snap, bool same_boot,
                                    uint32_t host_tsc_khz) {
    snapshot::GuestClock c = TRY(read_clock(mem));
    const uint64_t tsc = __rdtsc(), monotonic = host_ns(CLOCK_MONOTONIC);
    if (!same_boot) {
        // The saving host's TSC means nothing here: the guest continues
        // where it was, plus the time away by the wall clock both share.
        const uint64_t away = snapshot::time_away_ns(snap.saved_realtime_ns, host_ns(CLOCK_REALTIME));
        c = snapshot::rebase(c, snap.guest_since_ns + away, tsc, host_tsc_khz);
        TRY(write_clock(mem, c));
    }
    return snapshot::monotonic_offset_ns(c, tsc, monotonic);
}

}  // namespace lightvm

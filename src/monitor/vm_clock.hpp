// The guest's clock in snapshots (docs/snapshot-format.md, "Clocks"): what
// a save records, and how a restore continues it — the same reference in
// the boot that saved it, a rebased one in another boot or on another host
// (snapshot/guest_clock.hpp has the arithmetic).
#pragma once

#include <cstdint>

#include "common/result.hpp"
#include "memory/guest_memory.hpp"
#include "snapshot/format.hpp"

namespace lightvm {

// Fills the snapshot's clock section (has_clock and its fields) from the
// boot page's reference and the host's clocks now.
Result<void> save_guest_clock(const GuestMemory& mem, snapshot::Snapshot& snap);

// Before a restored guest's first instruction. In another boot (or on
// another host) the boot page's reference is rebased so the guest's clocks
// continue from the save plus the wall-clock time away. Returns guest
// CLOCK_MONOTONIC - host CLOCK_MONOTONIC, what host timers for the guest's
// deadlines subtract (Interrupts::set_clock_offset).
Result<int64_t> restore_guest_clock(GuestMemory& mem, const snapshot::Snapshot& snap, bool same_boot,
                                    uint32_t host_tsc_khz);

}  // namespace lightvm

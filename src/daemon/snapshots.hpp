// lightvmd's side of snapshots (docs/api.md, "Snapshots"): reading a
// snapshot's memory size for admission and the pool, and saving a running
// VM through its monitor (Daemon::snapshot, in snapshots.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace lightvm::daemon {

// The guest memory size a snapshot restores to (rounded as a shell's is),
// after the checks that need only its state file (snapshot::decode).
Result<uint64_t> snapshot_mem_size(const std::string& path);

}  // namespace lightvm::daemon

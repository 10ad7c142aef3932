// Reading a snapshot's state file from disk: shared by the monitor's
// restore and lightvmd (which reads the header to size the VM).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lightvm::snapshot {

// The whole file, refused with one line when it is missing (NotFound), not
// a regular file or larger than kMaxStateSize (BadInput).
Result<std::vector<uint8_t>> read_state_file(const std::string& path);

}  // namespace lightvm::snapshot

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

// Did the saved guest run with host sockets (--net user)? Its boot page in
// the memory file says so (BootInfo.net_mode); every restore then gets a
// network namespace of its own.
Result<bool> saved_with_network(int mem_fd, const std::string& mem_path);

}  // namespace lightvm::snapshot

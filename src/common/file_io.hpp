// Whole positional reads and writes (pread/pwrite until done, EINTR
// retried): snapshots, their working sets, a migration's incoming files.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace lightvm {

// A file that ends first is BadInput ("WHAT: shorter than it said").
Result<void> read_all_at(int fd, void* buf, uint64_t n, uint64_t off, const std::string& what);
Result<void> write_all_at(int fd, const uint8_t* p, uint64_t n, uint64_t off, const std::string& what);

}  // namespace lightvm

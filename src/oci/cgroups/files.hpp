// Reading and writing cgroup interface files: one value per write, as the
// kernel wants, and the "key value" lines of memory.stat and cpu.stat.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace lightvm::oci::cgroups {

bool exists(const std::string& path);
std::optional<std::string> read_text(const std::string& path);
// A number (or "max", which is nullopt like a missing file).
std::optional<uint64_t> read_u64(const std::string& path);
// "key value" per line -> map.
std::map<std::string, uint64_t> read_keyed(const std::string& path);
// The file must exist (cgroupfs makes every interface file); no O_CREAT.
Result<void> write_text(const std::string& path, const std::string& value);

}  // namespace lightvm::oci::cgroups

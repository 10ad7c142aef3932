// Memory admission: how much more memory this host can back for a new VM,
// so `--mem` is refused up front instead of the kernel's OOM killer picking
// lightvm (no report) or another process later. The smaller of the host's
// MemAvailable and the headroom of our memory cgroup (v2 memory.max minus
// memory.current, or v1 limit minus usage, over our cgroup and its
// ancestors). `--overcommit` skips the check (guest RAM is sparse: only
// touched pages cost memory).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"

namespace lightvm {

// The same numbers, from files opened once and re-read in place: the RAM
// device asks before every growth of guest RAM, when the sandboxed monitor
// may open nothing new (docs/security.md, "Memory admission").
class HostMemoryWatch {
public:
    static HostMemoryWatch open();
    // nullopt when nothing could be read (then nothing is refused).
    std::optional<uint64_t> available() const;

private:
    struct Cgroup {
        UniqueFd limit, usage;
    };
    UniqueFd m_meminfo;
    std::vector<Cgroup> m_cgroups;  // ours and every ancestor with the files
};

// This process's watch, opened on first use (before the sandbox: admission
// and Vm::create both use it).
const HostMemoryWatch& host_memory();
inline std::optional<uint64_t> host_memory_available() { return host_memory().available(); }

// Parsers, separated for unit tests.
std::optional<uint64_t> parse_meminfo_available(const std::string& meminfo);
// "/proc/self/cgroup" text -> the memory cgroup path (v1 "memory" line, else v2 "0::").
std::optional<std::string> parse_memory_cgroup(const std::string& proc_cgroup, bool& v2);

}  // namespace lightvm

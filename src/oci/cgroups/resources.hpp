// linux.resources (OCI runtime spec) as lightvm-oci applies it to the
// cgroup of a container's VM monitor: parsed from config.json at create
// and from `update --resources` (runc's format), merged with update's flags.
// Every field is optional: an update changes only what it names.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lightvm::oci::cgroups {

struct Resources {
    // Bytes; -1 unlimited. `swap` is memory + swap, as in the spec and v1.
    std::optional<int64_t> memory_limit, memory_reservation, memory_swap;
    std::optional<uint64_t> cpu_shares, cpu_period;
    std::optional<int64_t> cpu_quota;  // -1 unlimited
    std::optional<std::string> cpuset_cpus, cpuset_mems;
    std::optional<int64_t> pids_limit;  // -1 (or 0 in `update`) unlimited
    std::optional<uint64_t> blkio_weight;
    std::vector<std::string> warnings;  // fields named but not applied
};

// A LinuxResources object. Zero means "not set" for the numbers, as runc
// reads them. A field of the wrong type is one line naming it.
Result<Resources> parse_resources(const nlohmann::json& j);

// `newer`'s fields over `base`'s.
void merge(Resources& base, const Resources& newer);

// The VM's monitor needs memory above the guest's RAM (its own pages, KVM's
// page tables, the shares' page cache): the cgroup limit is the spec's limit
// plus this, so a guest that uses all its RAM is not OOM-killed by its own
// cgroup: 16 MiB + RAM/64. docs/oci.md, "cgroups", has the measurement.
uint64_t monitor_memory_overhead(uint64_t guest_ram);
// Host tasks of the monitor besides the guest's processes (its vCPU and
// I/O threads): added to pids.limit, which bounds the guest's processes.
inline constexpr int64_t kMonitorTasks = 32;

// The same limits as the host cgroup gets them: memory and swap raised by
// the monitor's overhead for a guest of `guest_ram` bytes, pids by its tasks.
Resources host_limits(const Resources& r, uint64_t guest_ram);

}  // namespace lightvm::oci::cgroups

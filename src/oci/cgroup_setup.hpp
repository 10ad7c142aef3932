// A container's cgroup across its commands: `create` makes it from the
// spec and records it in state.json; `update`, `events` and `delete` find it
// there (oci/cgroups/cgroup.hpp does the cgroupfs work).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "oci/cgroups/cgroup.hpp"
#include "oci/spec.hpp"
#include "oci/state.hpp"

namespace lightvm::oci {

// Names the cgroup (linux.cgroupsPath, --systemd-cgroup), makes it and
// writes linux.resources raised for the monitor (cgroups::host_limits). A
// failure leaves nothing behind.
Result<cgroups::Cgroup> make_container_cgroup(const ContainerSpec& spec, const std::string& id, bool systemd,
                                              std::vector<std::string>& warnings);
void record_cgroup(ContainerRecord& r, const cgroups::Cgroup& cg);
// nullopt for a container created without one (an older lightvm-oci).
std::optional<cgroups::Cgroup> recorded_cgroup(const ContainerRecord& r);
// A cgroup that create made and that must go (its process is gone).
void discard_cgroup(const cgroups::Cgroup& cg);

}  // namespace lightvm::oci

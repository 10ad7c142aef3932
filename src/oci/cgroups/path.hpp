// linux.cgroupsPath -> the cgroup's path below each hierarchy's root, as
// runc names it:
//   cgroupfs (default): "/docker/ID" as it is; a relative path is taken
//     from the root too (runc starts from its own cgroup); empty: "/ID".
//   --systemd-cgroup: "slice:prefix:name" -> the path systemd gives that
//     scope, "/system.slice/docker-ID.scope" ("a-b.slice" expands to
//     "/a.slice/a-b.slice"); empty: "system.slice:lightvm-oci:ID". The
//     directories are made directly: systemd need not run.
#pragma once

#include <string>

#include "common/result.hpp"

namespace lightvm::oci::cgroups {

Result<std::string> cgroup_path(const std::string& cgroups_path, const std::string& id, bool systemd);

// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "".
Result<std::string> expand_slice(const std::string& slice);

}  // namespace lightvm::oci::cgroups

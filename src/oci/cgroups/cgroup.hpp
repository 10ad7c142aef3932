// The cgroup of a container's VM monitor: what runc does with a
// container's cgroup, for the one host process that is the whole VM.
// `create` makes it and applies linux.resources before the monitor joins
// it (oci/init.cpp joins as the first thing the container's process does,
// so guest RAM is charged to it and the sandbox never needs cgroupfs);
// `update` rewrites the limits, `events --stats` and containerd's shim read
// its statistics, `delete` removes it. cgroup v1 (a controller per
// directory under the mount, as on hybrid hosts) and v2 (one unified tree).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "oci/cgroups/resources.hpp"

namespace lightvm::oci::cgroups {

enum class Version { V1, V2 };

struct Hierarchy {
    Version version = Version::V1;
    std::string mount = "/sys/fs/cgroup";
};

// statfs(mount): cgroup2 is v2; a tmpfs of controller mounts is v1 (the
// hybrid layout's cgroup2 under unified/ holds no controllers and is not used).
Result<Hierarchy> detect(const std::string& mount = "/sys/fs/cgroup");

class Cgroup {
public:
    // `path` below the hierarchy's root (path.hpp), e.g. "/docker/ID".
    Cgroup(Hierarchy h, std::string path) : m_h(std::move(h)), m_path(std::move(path)) {}

    // Makes the directories (v1: in each controller's hierarchy; v2: enables
    // the controllers down to it). A failure removes what it made.
    Result<void> create();
    // Writes `host` (host_limits(): already raised for the monitor).
    // Controllers missing on this host are warnings when a limit needs them.
    Result<void> apply(const Resources& host, std::vector<std::string>& warnings) const;
    Result<void> join(int pid) const;
    // runc's types.Stats (`runc events --stats`'s "data").
    nlohmann::json stats() const;
    // rmdir of the cgroup (its parents stay, as runc leaves /docker);
    // retried briefly while the monitor's exit is still being accounted.
    Result<void> remove() const;
    // Every directory that is this cgroup (one per v1 controller).
    std::vector<std::string> dirs() const;
    // What create() made, outermost first (for removal after a failure).
    const std::vector<std::string>& made() const { return m_made; }

    const Hierarchy& hierarchy() const { return m_h; }
    const std::string& path() const { return m_path; }

private:
    Hierarchy m_h;
    std::string m_path;
    std::vector<std::string> m_made;
};

// Per-version halves (v1.cpp, v2.cpp).
namespace v1 {
// "MOUNT/memory", ... for the controllers lightvm-oci uses that exist here,
// one per hierarchy (co-mounted cpu,cpuacct appear once).
std::vector<std::string> controller_roots(const std::string& mount);
// A new cpuset cgroup starts empty: it inherits its parent's cpus and mems.
Result<void> init_cpuset(const std::string& dir);
Result<void> apply(const std::string& mount, const std::string& path, const Resources& r,
                   std::vector<std::string>& warnings);
nlohmann::json stats(const std::string& mount, const std::string& path);
}  // namespace v1
namespace v2 {
// Enables what `dir`'s cgroup.controllers offers of ours in its children.
Result<void> enable_controllers(const std::string& dir);
Result<void> apply(const std::string& dir, const Resources& r, std::vector<std::string>& warnings);
nlohmann::json stats(const std::string& dir);
// runc's conversions: cpu.shares 2..262144 -> cpu.weight 1..10000, blkio weight 10..1000 -> io.weight.
uint64_t shares_to_weight(uint64_t shares);
uint64_t blkio_to_io_weight(uint64_t weight);
}  // namespace v2

}  // namespace lightvm::oci::cgroups

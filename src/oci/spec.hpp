// config.json (OCI runtime spec 1.x) -> what lightvm runs: a VmConfig plus
// the container-level parts the VM does not hold (hooks, terminal, network
// namespace path). Pure data and parsing, no side effects beyond stat() of
// the paths the bundle names; unit-tested without KVM (tests/unit/oci_spec_test).
// The mapping, field by field, is docs/oci.md's table.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "monitor/config.hpp"
#include "oci/cgroups/resources.hpp"

namespace lightvm::oci {

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    int timeout_seconds = 0;  // 0: none
};

// The spec's hook points, in the order the lifecycle reaches them.
struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
};

// Docker's bind mounts of single files it writes for each container. A
// share is a directory, so these become what the guest kernel serves
// itself (oci/etc_binds.hpp); other file binds are skipped with a warning.
struct EtcBinds {
    std::string hosts, hostname, resolv_conf;  // host paths; empty: not bound
};

struct ContainerSpec {
    std::string oci_version;
    std::string root_path;              // absolute host path of root.path
    bool root_readonly = false;
    std::vector<std::string> args;      // process.args, args[0] not resolved yet
    bool terminal = false;              // process.terminal: needs --console-socket
    std::string netns_path;             // linux.namespaces network path: the VM's network
    // linux.namespaces network without a path: the monitor makes a network
    // namespace of its own (only loopback, up) and the guest's sockets live
    // there, as a runc container's do; hooks (Docker's libnetwork-setkey)
    // then configure that namespace, never the host's.
    bool new_netns = false;
    int oom_score_adj = 0;              // process.oomScoreAdj: the monitor's
    bool has_oom_score_adj = false;
    EtcBinds etc;
    // linux.cgroupsPath as written (oci/cgroups/path.hpp names the cgroup)
    // and linux.resources, applied to the monitor's cgroup.
    std::string cgroups_path;
    cgroups::Resources resources;
    VmConfig vm;                        // shares, tmpfs, env, cwd, memory, hostname...; app not set
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    std::vector<std::string> warnings;  // fields accepted but not applied (logged by create)
};

// `bundle` is the bundle directory (absolute); `text` the contents of its
// config.json. Every error is one line naming the field.
Result<ContainerSpec> parse_spec(const std::string& text, const std::string& bundle);

// process.args[0] as a host path under the container's root: a name with a
// '/' is taken relative to process.cwd, a bare name searched in the PATH of
// process.env (the spec's default PATH without one), as runc does. Symlinks
// are resolved inside the root (openat2 RESOLVE_IN_ROOT): an image cannot
// make lightvm load a host file from outside it. Returns an open fd
// (O_RDONLY|O_CLOEXEC) and the guest path it was found at.
struct ResolvedApp {
    int fd = -1;
    std::string guest_path;
};
Result<ResolvedApp> resolve_app(const ContainerSpec& spec);

// Container IDs: [A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}, not "." or "..": they
// name directories under --root.
Result<void> check_container_id(const std::string& id);

}  // namespace lightvm::oci

// A container's record under --root: one directory per container,
//   ROOT/ID/state.json  what `state` reports, plus the hooks start/delete run
//   ROOT/ID/exec.fifo   exists from create until start (runc's protocol:
//                       the container's process blocks opening it)
//   ROOT/ID/exec.sock   the VM monitor's exec channel (lightvm-oci exec;
//                       monitor/exec_channel.hpp), bound by the container's
//                       process before it is sandboxed
// and nothing else. The container's status is derived, never stored: its
// process alive (pid + start time, so a reused pid is not mistaken for it)
// and stopped by SIGSTOP = paused; alive with the fifo = created; alive =
// running; otherwise stopped.
#pragma once

#include <map>
#include <string>

#include "common/result.hpp"
#include "oci/spec.hpp"

namespace lightvm::oci {

struct ContainerRecord {
    std::string id;
    std::string bundle;
    std::string oci_version;
    int pid = 0;
    uint64_t start_time = 0;  // /proc/PID/stat field 22, in clock ticks since boot
    std::string created;      // RFC 3339, UTC
    std::map<std::string, std::string> annotations;
    Hooks hooks;
    // The monitor's cgroup (oci/cgroups): empty path when it has none.
    std::string cgroup_path;
    bool cgroup_v2 = false;
    std::string cgroup_mount;
    // What `update` cannot change (the VM's shape, fixed at create).
    uint64_t guest_ram = 0;
    uint32_t vcpus = 0;
};

enum class Status { Created, Running, Paused, Stopped };
const char* status_name(Status s);

std::string container_dir(const std::string& root, const std::string& id);
std::string fifo_path(const std::string& root, const std::string& id);
std::string exec_socket_path(const std::string& root, const std::string& id);

Result<void> write_record(const std::string& root, const ContainerRecord& r);
// A missing directory is "container ID does not exist" (NotFound).
Result<ContainerRecord> read_record(const std::string& root, const std::string& id);
Status status_of(const std::string& root, const ContainerRecord& r);
// The runtime spec's state JSON (as `state` prints it and hooks read it on stdin).
std::string state_json(const ContainerRecord& r, Status s);
// Removes ROOT/ID and what it holds; missing is fine.
void remove_container_dir(const std::string& root, const std::string& id);

// /proc/PID/stat's start time; 0 if the process does not exist.
uint64_t process_start_time(int pid);
std::string now_rfc3339();

}  // namespace lightvm::oci

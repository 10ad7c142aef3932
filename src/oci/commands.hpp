// lightvm-oci's commands, runc's command line (docs/oci.md). Each returns
// the process exit status: 0, or 1 after one error line (stderr and --log).
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace lightvm::oci {

// --pid-file: written whole under a temporary name, as runc does (the
// shim reads it as soon as create or exec returns).
Result<void> write_pid_file(const std::string& path, int pid);

struct Global {
    std::string root = "/run/lightvm-oci";
    bool systemd_cgroup = false;  // linux.cgroupsPath is slice:prefix:name
};

struct CreateOptions {
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
};

// exec: runc's options (containerd's shim passes --process P --detach
// --pid-file F); without --process, the container's process with ARGS and
// the other options applied.
struct ExecOptions {
    std::string process;
    std::string pid_file;
    std::string console_socket;
    std::string cwd;
    std::string user;
    std::vector<std::string> env;
    std::vector<std::string> args;
    bool detach = false;
    bool tty = false;
};

int cmd_create(const Global& g, const CreateOptions& o, const std::string& id);
int cmd_start(const Global& g, const std::string& id);
int cmd_state(const Global& g, const std::string& id);
int cmd_kill(const Global& g, const std::string& id, const std::string& signal, bool all);
int cmd_delete(const Global& g, const std::string& id, bool force);
int cmd_ps(const Global& g, const std::string& id, const std::string& format);
int cmd_pause(const Global& g, const std::string& id, bool pause);
int cmd_list(const Global& g, const std::string& format);
int cmd_features();
int cmd_exec(const Global& g, const ExecOptions& o, const std::string& id);
// update.cpp, events.cpp
// update: runc's flags; text as given (sizes such as 256m, -1 unlimited),
// parsed by cmd_update so a bad value is one line.
struct UpdateOptions {
    std::string resources;  // FILE or "-" (stdin): a LinuxResources JSON
    std::string memory, memory_reservation, memory_swap, cpu_quota, cpu_period, cpu_shares, cpuset_cpus,
        cpuset_mems, pids_limit, blkio_weight;
    std::vector<std::string> unsupported;  // flags named that lightvm-oci cannot apply
};
int cmd_update(const Global& g, const UpdateOptions& o, const std::string& id);
int cmd_events(const Global& g, const std::string& id, bool stats_once, const std::string& interval);

// "9", "KILL", "SIGKILL" -> 9; 0 for junk.
int parse_signal(const std::string& text);

}  // namespace lightvm::oci

// lightvm-oci: an OCI runtime (runc's command line) that runs each
// container in its own lightvm micro-VM. Parses arguments and dispatches;
// the work is in commands.cpp. docs/oci.md has the usage.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <set>
#include <string>
#include <vector>
#include <cstdio>
#include <functional>

#include "oci/commands.hpp"
#include "oci/log.hpp"

namespace {

// As runc's: exec's options end at the container ID, and what follows is
// the command (`exec ID sh -c 'exit 3'`: that -c is sh's, not --cap). A
// "--" after the ID tells CLI11 so.
void exec_args_end_at_id(std::vector<std::string>& args) {
    static const std::set<std::string> with_value = {"-p", "--process", "--pid-file", "--console-socket", "--cwd",
                                                     "-e", "--env", "-u", "--user", "--preserve-fds",
                                                     "--process-label", "--apparmor", "-c", "--cap", "--cgroup",
                                                     "--root", "--log", "--log-format", "--criu", "--rootless"};
    auto it = std::find(args.begin(), args.end(), "exec");
    if (it == args.end())
        return;
    for (++it; it != args.end(); ++it) {
        if (*it == "--")
            return;
        if (it->size() > 1 && (*it)[0] == '-') {
            if (with_value.count(*it) && it + 1 != args.end())
                ++it;
            continue;
        }
        args.insert(it + 1, "--");
        return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    using namespace lightvm::oci;
    CLI::App app{"lightvm-oci: an OCI runtime that runs each container in its own lightvm micro-VM", "lightvm-oci"};
    app.require_subcommand(1);
    app.fallthrough();  // runc's global options may follow the command
    Global g;
    std::string log_path, log_format = "text", ignored;
    bool flag = false;
    app.add_option("--root", g.root, "State directory (default /run/lightvm-oci)");
    app.add_option("--log", log_path, "Append warnings and errors to this file");
    app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--systemd-cgroup", g.systemd_cgroup, "linux.cgroupsPath is slice:prefix:name (systemd's form)");
    app.add_flag("--debug", flag, "Accepted for runc compatibility");
    app.add_option("--criu,--rootless", ignored, "Accepted for runc compatibility");
    app.set_version_flag("-v,--version", "lightvm-oci " LIGHTVM_VERSION "\nspec: 1.1.0");

    std::function<int()> action;
    std::vector<std::string> ignored_args;
    CreateOptions co;
    std::string id, signal, format = "table";
    bool all = false, force = false;
    auto* create = app.add_subcommand("create", "Build the container's VM; it runs at `start`");
    create->add_option("-b,--bundle", co.bundle, "Bundle directory (default: the current directory)");
    create->add_option("--pid-file", co.pid_file, "Write the container's pid here");
    create->add_option("--console-socket", co.console_socket, "Unix socket that receives the terminal's master fd");
    create->add_flag("--no-pivot,--no-new-keyring", flag, "Accepted for runc compatibility");
    create->add_option("--preserve-fds", ignored, "Accepted for runc compatibility (no extra fds reach the guest)");
    create->add_option("id", id, "Container ID")->required();
    create->callback([&] { action = [&] { return cmd_create(g, co, id); }; });

    auto one_id = [&](const char* name, const char* help, std::function<int()> fn) {
        auto* sub = app.add_subcommand(name, help);
        sub->add_option("id", id, "Container ID")->required();
        sub->callback([&action, fn] { action = fn; });
        return sub;
    };
    one_id("start", "Run the created container's process", [&] { return cmd_start(g, id); });
    one_id("state", "Print the container's state as JSON", [&] { return cmd_state(g, id); });
    one_id("pause", "Freeze the container's VM", [&] { return cmd_pause(g, id, true); });
    one_id("resume", "Thaw a paused container", [&] { return cmd_pause(g, id, false); });
    auto* kill = one_id("kill", "Send a signal (default SIGTERM) to the container", [&] { return cmd_kill(g, id, signal, all); });
    kill->add_option("signal", signal, "Signal name or number");
    kill->add_flag("-a,--all", all, "Every process of the container (the VM is one host process)");
    auto* del = one_id("delete", "Remove a stopped container", [&] { return cmd_delete(g, id, force); });
    del->add_flag("-f,--force", force, "Kill it first if it runs");
    auto* ps = one_id("ps", "List the container's host processes", [&] { return cmd_ps(g, id, format); });
    ps->add_option("-f,--format", format, "table or json");
    auto* list = app.add_subcommand("list", "List containers");
    list->add_option("-f,--format", format, "table or json");
    list->callback([&] { action = [&] { return cmd_list(g, format); }; });
    app.add_subcommand("features", "Print what this runtime supports (JSON)")->callback([&] { action = cmd_features; });
    ExecOptions eo;
    auto* exec = app.add_subcommand("exec", "Run a new process in the running container's VM");
    exec->add_option("-p,--process", eo.process, "process.json: the process to run (runc's format)");
    exec->add_flag("-d,--detach", eo.detach, "Return once it runs; the pid file names the process that relays it");
    exec->add_option("--pid-file", eo.pid_file, "Write the exec's pid here");
    exec->add_option("--console-socket", eo.console_socket, "Unix socket that receives the terminal's master fd");
    exec->add_flag("-t,--tty", eo.tty, "A pseudo-terminal (without --process)");
    exec->add_option("--cwd", eo.cwd, "Working directory (without --process)");
    exec->add_option("-e,--env", eo.env, "K=V (repeatable; without --process)")->allow_extra_args(false);
    exec->add_option("-u,--user", eo.user, "UID[:GID] (without --process)");
    exec->add_option("--preserve-fds", ignored, "Accepted for runc compatibility (no extra fds reach the guest)");
    exec->add_flag("--no-new-privs", flag, "Accepted for runc compatibility");
    exec->add_option("--process-label,--apparmor,-c,--cap,--cgroup", ignored_args, "Accepted for runc compatibility")
        ->allow_extra_args(false);
    exec->add_option("id", id, "Container ID")->required();
    exec->add_option("args", eo.args, "Command and arguments (without --process)");
    exec->callback([&] { action = [&] { return cmd_exec(g, eo, id); }; });
    UpdateOptions uo;
    auto* update = app.add_subcommand("update", "Change the container's cgroup limits (runc's flags)");
    update->add_option("-r,--resources", uo.resources, "LinuxResources JSON file, or - for stdin");
    update->add_option("--memory", uo.memory, "Memory limit (bytes, or 256m...; -1 unlimited)");
    update->add_option("--memory-reservation", uo.memory_reservation, "Memory soft limit");
    update->add_option("--memory-swap", uo.memory_swap, "Memory + swap limit (-1 unlimited)");
    update->add_option("--cpu-quota", uo.cpu_quota, "CFS quota in microseconds per period (-1 unlimited)");
    update->add_option("--cpu-period", uo.cpu_period, "CFS period in microseconds");
    update->add_option("--cpu-share,--cpu-shares", uo.cpu_shares, "CPU shares (relative weight)");
    update->add_option("--cpuset-cpus", uo.cpuset_cpus, "CPUs the VM's threads may run on");
    update->add_option("--cpuset-mems", uo.cpuset_mems, "Memory nodes");
    update->add_option("--pids-limit", uo.pids_limit, "Processes in the guest at most (the cgroup adds the monitor's threads)");
    update->add_option("--blkio-weight", uo.blkio_weight, "Block I/O weight, 10 to 1000");
    // runc's flags for limits lightvm-oci does not set: named, they are a warning.
    std::string unsupported_value;
    for (const char* f : {"--kernel-memory", "--kernel-memory-tcp", "--cpu-rt-period", "--cpu-rt-runtime",
                          "--cpu-idle", "--l3-cache-schema", "--mem-bw-schema"})
        update->add_option(f, unsupported_value, "Not applied (warning)")->each([&uo, f](const std::string&) {
            uo.unsupported.push_back(f);
        });
    update->add_option("id", id, "Container ID")->required();
    update->callback([&] { action = [&] { return cmd_update(g, uo, id); }; });
    bool stats_once = false;
    std::string interval = "5s";
    auto* events = app.add_subcommand("events", "The container's cgroup statistics as runc's JSON");
    events->add_flag("--stats", stats_once, "Print the statistics once and exit");
    events->add_option("--interval", interval, "Between two lines without --stats (default 5s)");
    events->add_option("id", id, "Container ID")->required();
    events->callback([&] { action = [&] { return cmd_events(g, id, stats_once, interval); }; });
    for (const char* name : {"checkpoint", "restore", "run", "spec"}) {
        auto* sub = app.add_subcommand(name, "Not supported by lightvm-oci yet");
        sub->add_option("args", ignored_args, "ignored");
        // Whatever options the caller passes (the shim's `exec --process F
        // --detach --pid-file P`), the answer is the one-line error below,
        // in --log where the shim quotes it, not a usage message.
        sub->allow_extras();
        sub->fallthrough(false);
        sub->callback([&action, name] {
            action = [name] {
                log_error(std::string(name) + ": not supported yet by lightvm-oci (docs/oci.md)");
                return 1;
            };
        });
    }
    std::vector<std::string> args(argv + 1, argv + argc);
    exec_args_end_at_id(args);
    std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse
    try {
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0)
            return app.exit(e);
        std::fprintf(stderr, "lightvm-oci: %s\n", e.what());
        return 2;
    }
    set_log(log_path, log_format == "json");
    return action ? action() : 2;
}

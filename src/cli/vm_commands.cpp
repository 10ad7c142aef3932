#include "cli/vm_commands.hpp"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cli/client.hpp"
#include "daemon/paths.hpp"

namespace lightvm::cli {

namespace {

using nlohmann::json;

constexpr std::string_view kCommands[] = {"start", "wait",   "ps",   "logs",   "stop",  "kill",     "rm",   "inspect",
                                          "pause", "resume", "pool", "events", "stats", "snapshot", "clone",
                                          "migrate"};

std::string socket_or_default(const std::string& s) { return s.empty() ? daemon::default_socket_path() : s; }

// One request; on an HTTP error prints the daemon's message and returns nullopt.
std::optional<json> call(const std::string& socket, std::string_view method, const std::string& target,
                         const std::string& body = "") {
    auto res = http_request(socket, method, target, body);
    if (!res) {
        std::fprintf(stderr, "lightvm: %s (is lightvmd running? --socket or LIGHTVM_SOCKET)\n",
                     res.error().to_string().c_str());
        return std::nullopt;
    }
    json j = json::parse(res->body, nullptr, false);
    if (res->status >= 400) {
        std::string msg = j.is_object() && j.contains("error") && j["error"].is_string()
                              ? j["error"].get<std::string>()
                              : "HTTP " + std::to_string(res->status);
        std::fprintf(stderr, "lightvm: %s\n", msg.c_str());
        return std::nullopt;
    }
    if (j.is_discarded()) {
        std::fprintf(stderr, "lightvm: lightvmd sent malformed JSON\n");
        return std::nullopt;
    }
    return j;
}

std::string vm_path(const std::string& ref, const char* action = nullptr) {
    std::string p = "/v1/vms/" + url_encode(ref);
    if (action)
        p += std::string("/") + action;
    return p;
}

std::string ago(uint64_t realtime_ns) {
    if (!realtime_ns)
        return "-";
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = int64_t(ts.tv_sec) * 1000000000ll + ts.tv_nsec;
    int64_t s = (now - static_cast<int64_t>(realtime_ns)) / 1000000000ll;
    if (s < 60)
        return std::to_string(s < 0 ? 0 : s) + "s ago";
    if (s < 3600)
        return std::to_string(s / 60) + "m ago";
    return std::to_string(s / 3600) + "h ago";
}

std::string status_text(const json& v) {
    std::string st = v.value("state", "?");
    if (st == "exited")
        return "exited (" + std::to_string(v.value("exit_status", -1)) + ") " + ago(v.value("finished_at", uint64_t{0}));
    if (st == "running" || st == "paused")
        return st + " " + ago(v.value("started_at", uint64_t{0}));
    return st;
}

int ps(const std::string& socket, bool all, bool as_json, bool quiet) {
    auto j = call(socket, "GET", std::string("/v1/vms") + (all ? "?all=1" : ""));
    if (!j)
        return 1;
    if (as_json) {
        std::printf("%s\n", j->dump(2).c_str());
        return 0;
    }
    if (!quiet)
        std::printf("%-12s  %-16s  %-24s  %-8s  %s\n", "VM ID", "NAME", "STATUS", "MEMORY", "APP");
    for (const auto& v : *j) {
        std::string id = v.value("id", "");
        if (quiet) {
            std::printf("%s\n", id.substr(0, 12).c_str());
            continue;
        }
        std::string app = v.value("app", "");
        for (const auto& a : v.value("args", json::array()))
            app += " " + a.get<std::string>();
        if (app.empty() && v.contains("restored_from"))
            app = "restored from " + v.value("restored_from", "");
        if (app.empty() && v.contains("migrated_from"))
            app = "migrated in from " + v.value("migrated_from", "").substr(0, 12);
        if (v.contains("migrated_to"))
            app = "migrated to " + v.value("migrated_to", "") + ": " + app;
        if (app.size() > 60)
            app = app.substr(0, 57) + "...";
        std::printf("%-12s  %-16s  %-24s  %-8s  %s\n", id.substr(0, 12).c_str(), v.value("name", "").c_str(),
                    status_text(v).c_str(), (std::to_string(v.value("memory", uint64_t{0}) >> 20) + "M").c_str(),
                    app.c_str());
    }
    return 0;
}

int logs(const std::string& socket, const std::string& ref, bool follow, const std::string& tail) {
    std::string target = vm_path(ref, "logs") + "?follow=" + (follow ? "1" : "0");
    if (!tail.empty())
        target += "&tail=" + url_encode(tail);
    bool error = false;
    std::string error_body;
    auto res = http_request(socket, "GET", target, "", [&](std::string_view piece) {
        if (error) {
            error_body.append(piece);
            return true;
        }
        return std::fwrite(piece.data(), 1, piece.size(), stdout) == piece.size() && std::fflush(stdout) == 0;
    });
    if (!res) {
        std::fprintf(stderr, "lightvm: %s\n", res.error().to_string().c_str());
        return 1;
    }
    if (res->status >= 400) {
        json j = json::parse(res->body, nullptr, false);
        std::fprintf(stderr, "lightvm: %s\n",
                     j.is_object() && j.contains("error") ? j["error"].get<std::string>().c_str() : "logs failed");
        return 1;
    }
    return 0;
}

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + "M"; }

int stats(const std::string& socket, bool as_json) {
    auto j = call(socket, "GET", "/v1/stats");
    if (!j)
        return 1;
    if (as_json) {
        std::printf("%s\n", j->dump(2).c_str());
        return 0;
    }
    const json& h = (*j)["host"];
    std::printf("host: MemTotal %s, MemAvailable %s, guest memory committed %s of %s (%.2g x MemTotal)\n",
                mib(h.value("mem_total", uint64_t{0})).c_str(), mib(h.value("mem_available", uint64_t{0})).c_str(),
                mib(h.value("committed", uint64_t{0})).c_str(), mib(h.value("commit_limit", uint64_t{0})).c_str(),
                h.value("overcommit_ratio", 0.0));
    std::printf("%-12s  %-16s  %-8s  %-8s  %10s  %10s\n", "VM ID", "NAME", "STATE", "MEMORY", "RSS", "CPU");
    for (const auto& v : (*j)["vms"])
        std::printf("%-12s  %-16s  %-8s  %-8s  %9.1fM  %9.3fs\n", v.value("id", "").substr(0, 12).c_str(),
                    v.value("name", "").c_str(), v.value("state", "").c_str(),
                    mib(v.value("memory", uint64_t{0})).c_str(),
                    static_cast<double>(v.value("rss_bytes", uint64_t{0})) / (1 << 20),
                    static_cast<double>(v.value("cpu_ns", uint64_t{0})) / 1e9);
    return 0;
}

// Prints events as they happen (long polls of 30 s), or for one poll of
// `timeout` seconds when one is given.
int events(const std::string& socket, uint64_t since, const std::string& timeout, bool as_json) {
    for (;;) {
        auto j = call(socket, "GET",
                      "/v1/events?since=" + std::to_string(since) + "&timeout=" + url_encode(timeout.empty() ? "30" : timeout));
        if (!j)
            return 1;
        if (j->value("dropped", uint64_t{0}))
            std::fprintf(stderr, "lightvm: %llu events were no longer kept\n",
                         static_cast<unsigned long long>(j->value("dropped", uint64_t{0})));
        for (const auto& e : (*j)["events"]) {
            if (as_json) {
                std::printf("%s\n", e.dump().c_str());
                continue;
            }
            time_t secs = static_cast<time_t>(e.value("time", uint64_t{0}) / 1000000000ull);
            char when[32];
            std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", std::localtime(&secs));
            std::string tail;
            if (e.contains("exit_status"))
                tail = "  status " + std::to_string(e.value("exit_status", 0));
            if (e.contains("error"))
                tail += " (" + e.value("error", "") + ")";
            std::printf("%s  %-8s  %s  %s%s\n", when, e.value("type", "").c_str(),
                        e.value("id", "").substr(0, 12).c_str(), e.value("name", "").c_str(), tail.c_str());
        }
        std::fflush(stdout);
        since = j->value("next", since);
        if (!timeout.empty())
            return 0;
    }
}

// The daemon has its own working directory: a relative PATH means ours.
std::string absolute_path(const std::string& p) {
    if (p.empty() || p[0] == '/')
        return p;
    char cwd[PATH_MAX];
    return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + p : p;
}

int snapshot_create(const std::string& socket, const std::string& ref, const std::string& path, bool stop,
                    bool as_json) {
    auto j = call(socket, "POST", vm_path(ref, "snapshot"), json{{"path", absolute_path(path)}, {"stop", stop}}.dump());
    if (!j)
        return 1;
    if (as_json)
        std::printf("%s\n", j->dump(2).c_str());
    else
        std::printf("%s\n", j->value("path", "").c_str());
    return 0;
}

// `lightvm migrate VM --to HOST:PORT`: prints where it went and what the
// move cost (docs/migration.md).
int migrate(const std::string& socket, const std::string& ref, const std::string& to, bool as_json) {
    auto j = call(socket, "POST", vm_path(ref, "migrate"), json{{"to", to}}.dump());
    if (!j)
        return 1;
    if (as_json) {
        std::printf("%s\n", j->dump(2).c_str());
        return 0;
    }
    auto ms = [&](const char* key) { return static_cast<double>(j->value(key, uint64_t{0})) / 1e6; };
    std::printf("migrated %s to %s as %s: total %.1f ms, downtime %.2f ms, %.1f MiB sent in %llu rounds\n",
                ref.c_str(), to.c_str(), j->value("target_id", "").substr(0, 12).c_str(), ms("total_ns"),
                ms("downtime_ns"), static_cast<double>(j->value("bytes", uint64_t{0})) / (1 << 20),
                static_cast<unsigned long long>(j->value("rounds", uint64_t{0})) + 1);
    return 0;
}

// `snapshot restore` (count 1) and `clone --count N`: each restore of one
// snapshot is a clone with its own random seed and generation.
int restore(const std::string& socket, const std::string& path, const std::string& name, unsigned count, bool rm,
            bool prefault, const std::string& timeout) {
    int rc = 0;
    for (unsigned i = 0; i < count; ++i) {
        json req = {{"restore", absolute_path(path)}};
        if (!name.empty())
            req["name"] = count == 1 ? name : name + "-" + std::to_string(i + 1);
        if (rm)
            req["rm"] = true;
        if (prefault)
            req["prefault"] = true;
        if (!timeout.empty()) {
            char* end = nullptr;
            double t = std::strtod(timeout.c_str(), &end);
            if (timeout.empty() || *end || !(t >= 0)) {
                std::fprintf(stderr, "lightvm: --timeout: '%s' is not a number of seconds\n", timeout.c_str());
                return 2;
            }
            req["timeout"] = t;
        }
        auto j = call(socket, "POST", "/v1/vms?start=1", req.dump());
        if (!j) {
            rc = 1;
            break;
        }
        std::printf("%s\n", j->value("id", "").c_str());
        std::fflush(stdout);
    }
    return rc;
}

}  // namespace

bool is_vm_command(std::string_view word) {
    for (auto c : kCommands)
        if (c == word)
            return true;
    return false;
}

int vm_command_main(int argc, char** argv) {
    CLI::App app{"lightvm: manage VMs through lightvmd", "lightvm"};
    app.require_subcommand(1, 1);
    std::string socket;
    app.add_option("--socket", socket, "lightvmd's socket")->type_name("PATH");
    bool as_json = false, all = false, quiet = false, follow = false, force = false;
    std::string tail, signal = "KILL", timeout = "10";
    std::vector<std::string> refs;
    auto with_refs = [&](CLI::App* s, bool many = true) {
        s->add_option("--socket", socket, "lightvmd's socket")->type_name("PATH");
        auto* o = s->add_option("VM", refs, many ? "VM IDs, unique ID prefixes or names" : "VM ID, prefix or name")
                      ->required();
        if (!many)
            o->expected(1);
        return s;
    };
    auto* start = with_refs(app.add_subcommand("start", "Start created VMs"));
    auto* wait = with_refs(app.add_subcommand("wait", "Wait for VMs to exit; print their exit statuses"));
    auto* ps_cmd = app.add_subcommand("ps", "List running VMs (-a: all)");
    ps_cmd->add_option("--socket", socket, "lightvmd's socket")->type_name("PATH");
    ps_cmd->add_flag("-a,--all", all, "Show all VMs, not only running ones");
    ps_cmd->add_flag("-q,--quiet", quiet, "Only IDs");
    ps_cmd->add_flag("--json", as_json, "JSON output");
    auto* logs_cmd = with_refs(app.add_subcommand("logs", "Print a VM's output (stdout and stderr)"), false);
    logs_cmd->add_flag("-f,--follow", follow, "Keep printing until the VM exits");
    logs_cmd->add_option("-n,--tail", tail, "Only the last N lines")->type_name("N");
    auto* stop = with_refs(app.add_subcommand("stop", "Stop VMs: SIGTERM, then SIGKILL after the grace period"));
    stop->add_option("-t,--timeout", timeout, "Grace period in seconds (default 10)")->type_name("S");
    auto* kill = with_refs(app.add_subcommand("kill", "Send a signal to VMs (default KILL)"));
    kill->add_option("-s,--signal", signal, "Signal name or number")->type_name("SIG");
    auto* rm = with_refs(app.add_subcommand("rm", "Remove VMs (-f: also running ones)"));
    rm->add_flag("-f,--force", force, "Kill running VMs first");
    auto* inspect = with_refs(app.add_subcommand("inspect", "Everything the daemon knows about VMs, as JSON"));
    auto* pause = with_refs(app.add_subcommand("pause", "Pause VMs (their vCPUs stop)"));
    auto* resume = with_refs(app.add_subcommand("resume", "Resume paused VMs"));
    auto* pool = app.add_subcommand("pool", "Show the warm pool");
    pool->add_option("--socket", socket, "lightvmd's socket")->type_name("PATH");
    pool->add_flag("--json", as_json, "JSON output");
    auto* stats_cmd = app.add_subcommand("stats", "Host memory admission and each running VM's memory and CPU");
    stats_cmd->add_option("--socket", socket, "lightvmd's socket")->type_name("PATH");
    stats_cmd->add_flag("--json", as_json, "JSON output");
    auto* events_cmd = app.add_subcommand("events", "Print VM state changes as they happen");
    events_cmd->add_option("--socket", socket, "lightvmd's socket")->type_name("PATH");
    uint64_t since = 0;
    std::string events_timeout;
    events_cmd->add_option("--since", since, "Only events after this sequence number (default: all kept)")
        ->type_name("N");
    events_cmd->add_option("--timeout", events_timeout, "Wait at most S seconds, print what came and exit")
        ->type_name("S");
    events_cmd->add_flag("--json", as_json, "One JSON object per line");
    auto* snap_cmd = app.add_subcommand("snapshot", "Save a VM to files, or start a VM from them");
    snap_cmd->require_subcommand(1, 1);
    bool stop_after = false, prefault = false;
    std::string path, name, restore_timeout;
    unsigned count = 1;
    auto* snap_create = snap_cmd->add_subcommand("create", "Save a running or paused VM into PATH and PATH.mem");
    snap_create->add_option("--socket", socket, "lightvmd's socket")->type_name("PATH");
    snap_create->add_flag("--stop", stop_after, "End the VM after saving it (status 0)");
    snap_create->add_flag("--json", as_json, "JSON output (sizes and time)");
    std::string snap_ref;
    snap_create->add_option("VM", snap_ref, "VM ID, prefix or name")->required();
    snap_create->add_option("PATH", path, "State file; guest memory goes to PATH.mem")->required();
    auto add_restore_options = [&](CLI::App* c) {
        c->add_option("--socket", socket, "lightvmd's socket")->type_name("PATH");
        c->add_option("--name", name, "Name the new VM (clones: NAME-1, NAME-2, ...)")->type_name("NAME");
        c->add_flag("--rm", force, "Remove the VM when it exits");
        c->add_flag("--prefault", prefault, "Copy the saved pages in before the first instruction");
        c->add_option("--timeout", restore_timeout, "Stop the restored VM after S seconds")->type_name("S");
        c->add_option("PATH", path, "A snapshot's state file")->required();
    };
    auto* snap_restore = snap_cmd->add_subcommand("restore", "Start a new VM where a snapshot left off; prints its ID");
    add_restore_options(snap_restore);
    auto* clone_cmd = app.add_subcommand("clone", "Start N VMs from one snapshot (each reseeded); prints their IDs");
    add_restore_options(clone_cmd);
    clone_cmd->add_option("-n,--count", count, "How many (default 1)")->type_name("N")->check(CLI::Range(1u, 4096u));
    auto* migrate_cmd = app.add_subcommand("migrate", "Live-migrate a running VM to another lightvmd");
    std::string migrate_ref, migrate_to;
    migrate_cmd->add_option("--socket", socket, "lightvmd's socket")->type_name("PATH");
    migrate_cmd->add_option("--to", migrate_to, "HOST:PORT of a lightvmd started with --migrate-listen")
        ->type_name("HOST:PORT")
        ->required();
    migrate_cmd->add_flag("--json", as_json, "JSON output (times in ns, bytes, rounds)");
    migrate_cmd->add_option("VM", migrate_ref, "VM ID, prefix or name")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        for (auto* s : app.get_subcommands())
            std::fputs(s->help().c_str(), stdout);
        return 0;
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "lightvm: %s\n", e.what());
        return 2;
    }
    socket = socket_or_default(socket);
    if (ps_cmd->parsed())
        return ps(socket, all, as_json, quiet);
    if (logs_cmd->parsed())
        return logs(socket, refs.front(), follow, tail);
    if (stats_cmd->parsed())
        return stats(socket, as_json);
    if (events_cmd->parsed())
        return events(socket, since, events_timeout, as_json);
    if (migrate_cmd->parsed())
        return migrate(socket, migrate_ref, migrate_to, as_json);
    if (snap_create->parsed())
        return snapshot_create(socket, snap_ref, path, stop_after, as_json);
    if (snap_restore->parsed())
        return restore(socket, path, name, 1, force, prefault, restore_timeout);
    if (clone_cmd->parsed())
        return restore(socket, path, name, count, force, prefault, restore_timeout);
    if (pool->parsed()) {
        auto j = call(socket, "GET", "/v1/pool");
        if (!j)
            return 1;
        if (as_json) {
            std::printf("%s\n", j->dump(2).c_str());
            return 0;
        }
        std::printf("%-8s  %6s  %5s  %8s  %8s\n", "MEMORY", "TARGET", "READY", "HITS", "MISSES");
        for (const auto& s : (*j)["shapes"])
            std::printf("%-8s  %6u  %5u  %8llu  %8llu\n", (std::to_string(s.value("memory", uint64_t{0}) >> 20) + "M").c_str(),
                        s.value("target", 0u), s.value("ready", 0u),
                        static_cast<unsigned long long>(s.value("hits", uint64_t{0})),
                        static_cast<unsigned long long>(s.value("misses", uint64_t{0})));
        return 0;
    }
    int rc = 0;
    json inspected = json::array();
    for (const auto& ref : refs) {
        std::optional<json> j;
        if (start->parsed())
            j = call(socket, "POST", vm_path(ref, "start"));
        else if (wait->parsed())
            j = call(socket, "POST", vm_path(ref, "wait"));
        else if (stop->parsed())
            j = call(socket, "POST", vm_path(ref, "stop") + "?timeout=" + url_encode(timeout));
        else if (kill->parsed())
            j = call(socket, "POST", vm_path(ref, "kill") + "?signal=" + url_encode(signal));
        else if (rm->parsed())
            j = call(socket, "DELETE", vm_path(ref) + (force ? "?force=1" : ""));
        else if (inspect->parsed())
            j = call(socket, "GET", vm_path(ref));
        else if (pause->parsed())
            j = call(socket, "POST", vm_path(ref, "pause"));
        else if (resume->parsed())
            j = call(socket, "POST", vm_path(ref, "resume"));
        if (!j) {
            rc = 1;
            continue;
        }
        if (inspect->parsed()) {
            inspected.push_back(*j);
        } else if (wait->parsed()) {
            int status = j->value("exit_status", 125);
            std::printf("%d\n", status);
            if (j->contains("error"))
                std::fprintf(stderr, "lightvm: %s\n", (*j)["error"].get<std::string>().c_str());
            if (refs.size() == 1)
                rc = status;
        } else {
            std::printf("%s\n", ref.c_str());
        }
    }
    if (inspect->parsed() && !inspected.empty())
        std::printf("%s\n", inspected.dump(2).c_str());
    std::fflush(stdout);
    return rc;
}

namespace {

// What a lightvmd VM cannot be given: one line, never silently dropped.
const char* not_through_daemon(const RunCommand& cmd) {
    const VmConfig& c = cmd.config;
    if (cmd.uid || cmd.gid)
        return "--uid/--gid";
    if (!cmd.sandbox)
        return "--no-sandbox";
    if (c.stats)
        return "--stats";
    if (c.trace)
        return "--trace";
    if (c.overcommit)
        return "--overcommit";
    if (c.no_aslr)
        return "--no-aslr";
    return nullptr;
}

// --net, -p, --dns, --tmpfs, --hostname, --user: as the flags' texts.
void add_vm_options(json& req, const VmConfig& c) {
    if (c.net != NetMode::None || !c.netns_path.empty())
        req["net"] = net_mode_text(c.net, c.netns_path);
    json publish = json::array(), tmpfs = json::array();
    for (const auto& p : c.publish)
        publish.push_back(publish_text(p));
    for (const auto& t : c.tmpfs)
        tmpfs.push_back(tmpfs_text(t));
    if (!publish.empty())
        req["publish"] = publish;
    if (!tmpfs.empty())
        req["tmpfs"] = tmpfs;
    if (!c.dns.empty())
        req["dns"] = c.dns;
    if (c.hostname != VmConfig{}.hostname)
        req["hostname"] = c.hostname;
    if (c.user.uid || c.user.gid || !c.user.groups.empty())
        req["user"] = {{"uid", c.user.uid}, {"gid", c.user.gid}, {"groups", c.user.groups}};
}

// --image: lightvmd applies the image (docs/api.md); -w and -u only when
// given, as they replace the image's WorkingDir and User.
void add_image_options(json& req, const RunCommand& cmd) {
    const ImageRun& image = *cmd.image;
    req["image"] = image.ref;
    req["args"] = image.cmd;
    if (image.entrypoint)
        req["entrypoint"] = *image.entrypoint;
    if (image.read_only)
        req["read_only"] = true;
    if (image.workdir_given)
        req["workdir"] = cmd.config.cwd;
}

}  // namespace

int create_through_daemon(const RunCommand& cmd) {
    const VmConfig& c = cmd.config;
    if (const char* flag = not_through_daemon(cmd)) {
        std::fprintf(stderr, "lightvm: %s: not with -d or create (lightvmd's VMs do not take it)\n", flag);
        return 125;
    }
    // The daemon does not share our working directory: absolute paths only.
    auto abs = [](const std::string& p) -> std::string {
        char real[PATH_MAX];
        return ::realpath(p.c_str(), real) ? std::string(real) : p;
    };
    json req = {{"env", c.env}, {"memory", c.mem_size}, {"pids", c.max_procs}, {"cpus", c.cpus}};
    if (cmd.image) {
        add_image_options(req, cmd);
    } else {
        std::string app = abs(c.app_path);
        if (app.empty() || app[0] != '/') {
            std::fprintf(stderr, "lightvm: %s: No such file or directory\n", c.app_path.c_str());
            return 127;
        }
        req["app"] = app;
        req["args"] = std::vector<std::string>(c.argv.begin() + 1, c.argv.end());
        req["workdir"] = c.cwd;
    }
    if (c.timeout_seconds > 0)
        req["timeout"] = c.timeout_seconds;
    add_vm_options(req, c);
    if (cmd.image && cmd.image->user_given)  // -u 0 too: it replaces the image's User
        req["user"] = {{"uid", c.user.uid}, {"gid", c.user.gid}, {"groups", c.user.groups}};
    json shares = json::array(), disks = json::array();
    for (const auto& s : c.shares) {
        json share = {{"host", abs(s.host_path)}, {"guest", s.guest_path}, {"ro", s.read_only}};
        if (s.owner != ShareOwner::Passthrough)  // only when asked: a daemon from before "owner" still takes the rest
            share["owner"] = share_owner_name(s.owner);
        shares.push_back(std::move(share));
    }
    for (const auto& d : c.disks)
        disks.push_back({{"path", abs(d.path)}, {"ro", d.read_only}});
    if (!shares.empty())
        req["shares"] = shares;
    if (!disks.empty())
        req["disks"] = disks;
    if (!cmd.name.empty())
        req["name"] = cmd.name;
    if (cmd.auto_remove)
        req["rm"] = true;
    if (!cmd.save_path.empty()) {
        json save = {{"path", absolute_path(cmd.save_path)}, {"stop", c.save.stop}};
        if (c.save.at_ready)
            save["at_ready"] = true;
        else
            save["after"] = c.save.after_seconds;
        req["save"] = std::move(save);
    }
    auto j = call(socket_or_default(cmd.socket), "POST", cmd.create_only ? "/v1/vms" : "/v1/vms?start=1", req.dump());
    if (!j)
        return 125;
    std::printf("%s\n", j->value("id", "").c_str());
    return 0;
}

}  // namespace lightvm::cli

#include "oci/spec.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "loader/program_in_root.hpp"

namespace lightvm::oci {

namespace {

using json = nlohmann::json;

tl::unexpected<Error> bad(const std::string& field, const std::string& why) {
    return make_error(ErrorKind::BadInput, "config.json", field + ": " + why);
}

// The spec's own default when process.env has no PATH.
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Annotations that set lightvm's own options (docs/oci.md).
constexpr const char* kAnnotationPrefix = "io.lightvm.";

Result<std::vector<std::string>> strings(const json& j, const std::string& field) {
    std::vector<std::string> out;
    if (j.is_null())
        return out;
    if (!j.is_array())
        return bad(field, "not an array of strings");
    for (const auto& e : j) {
        if (!e.is_string())
            return bad(field, "not an array of strings");
        out.push_back(e.get<std::string>());
    }
    return out;
}

bool has_option(const std::vector<std::string>& options, const char* name) {
    return std::find(options.begin(), options.end(), name) != options.end();
}

// A bind mount's ownership model: the option lightvm.owner=mapped or
// =passthrough (the default); another value is an error.
Result<ShareOwner> mount_owner(const std::vector<std::string>& options, const std::string& dest) {
    constexpr std::string_view kKey = "lightvm.owner=";
    ShareOwner owner = ShareOwner::Passthrough;
    for (const auto& o : options) {
        if (!o.starts_with(kKey))
            continue;
        auto named = share_owner_from_name(std::string_view(o).substr(kKey.size()));
        if (!named)
            return bad("mounts " + dest, "option " + o + " (lightvm.owner=mapped or lightvm.owner=passthrough)");
        owner = *named;
    }
    return owner;
}

Result<std::vector<Hook>> parse_hook_list(const json& j, const std::string& field) {
    std::vector<Hook> out;
    if (j.is_null())
        return out;
    if (!j.is_array())
        return bad(field, "not an array");
    for (const auto& h : j) {
        if (!h.is_object() || !h.contains("path") || !h["path"].is_string())
            return bad(field, "a hook without a path");
        Hook hook;
        hook.path = h["path"].get<std::string>();
        if (hook.path.empty() || hook.path[0] != '/')
            return bad(field, "hook path '" + hook.path + "' is not absolute");
        hook.args = TRY(strings(h.value("args", json()), field + ".args"));
        hook.env = TRY(strings(h.value("env", json()), field + ".env"));
        if (h.contains("timeout")) {
            if (!h["timeout"].is_number_integer() || h["timeout"].get<int64_t>() <= 0)
                return bad(field, "timeout must be a positive integer");
            hook.timeout_seconds = static_cast<int>(std::min<int64_t>(h["timeout"].get<int64_t>(), 86400));
        }
        out.push_back(std::move(hook));
    }
    return out;
}

Result<void> parse_hooks(const json& j, ContainerSpec& s) {
    if (j.is_null())
        return {};
    if (!j.is_object())
        return bad("hooks", "not an object");
    s.hooks.prestart = TRY(parse_hook_list(j.value("prestart", json()), "hooks.prestart"));
    s.hooks.create_runtime = TRY(parse_hook_list(j.value("createRuntime", json()), "hooks.createRuntime"));
    s.hooks.create_container = TRY(parse_hook_list(j.value("createContainer", json()), "hooks.createContainer"));
    s.hooks.start_container = TRY(parse_hook_list(j.value("startContainer", json()), "hooks.startContainer"));
    s.hooks.poststart = TRY(parse_hook_list(j.value("poststart", json()), "hooks.poststart"));
    s.hooks.poststop = TRY(parse_hook_list(j.value("poststop", json()), "hooks.poststop"));
    return {};
}

Result<void> parse_process(const json& p, ContainerSpec& s) {
    if (p.is_null())
        return bad("process", "missing (lightvm-oci create needs a process to run)");
    if (!p.is_object())
        return bad("process", "not an object");
    s.args = TRY(strings(p.value("args", json()), "process.args"));
    if (s.args.empty() || s.args[0].empty())
        return bad("process.args", "empty (nothing to run)");
    if (p.contains("commandLine"))
        return bad("process.commandLine", "is for Windows");
    s.vm.env = TRY(strings(p.value("env", json()), "process.env"));
    for (const auto& e : s.vm.env)
        if (e.find('=') == std::string::npos || e.front() == '=')
            return bad("process.env", "'" + e + "' is not of the form KEY=VALUE");
    s.vm.cwd = p.value("cwd", std::string("/"));
    if (s.vm.cwd.empty() || s.vm.cwd[0] != '/')
        return bad("process.cwd", "'" + s.vm.cwd + "' is not absolute");
    s.vm.cwd = TRY(normalise_guest_path(s.vm.cwd));
    s.terminal = p.value("terminal", false);
    if (p.contains("user")) {
        const json& u = p["user"];
        if (u.contains("username"))
            return bad("process.user.username", "is for Windows");
        // The guest kernel checks permissions for a non-root user as Linux
        // does (docs/compat.md, "Users and permissions").
        auto id = [](const json& v) { return v.is_number_unsigned() && v.get<uint64_t>() < UINT32_MAX; };
        if ((u.contains("uid") && !id(u["uid"])) || (u.contains("gid") && !id(u["gid"])))
            return bad("process.user", "uid and gid must be numbers from 0 to 4294967294");
        s.vm.user.uid = static_cast<uint32_t>(u.value("uid", uint64_t(0)));
        s.vm.user.gid = static_cast<uint32_t>(u.value("gid", uint64_t(0)));
        const json gids = u.value("additionalGids", json::array());
        if (!gids.is_array() || !std::all_of(gids.begin(), gids.end(), id))
            return bad("process.user.additionalGids", "must be an array of numeric group ids");
        for (const json& g : gids)
            if (g.get<uint32_t>() != s.vm.user.gid &&
                std::find(s.vm.user.groups.begin(), s.vm.user.groups.end(), g.get<uint32_t>()) == s.vm.user.groups.end())
                s.vm.user.groups.push_back(g.get<uint32_t>());
        if (s.vm.user.groups.size() > abi::kMaxUserGroups)
            return bad("process.user.additionalGids", std::to_string(s.vm.user.groups.size()) +
                                                          " groups besides gid (lightvm passes at most " +
                                                          std::to_string(abi::kMaxUserGroups) + ")");
        if (u.contains("umask"))
            s.warnings.push_back("process.user.umask not applied (the guest starts with umask 022)");
    }
    if (p.contains("oomScoreAdj")) {
        // The monitor's own score: the VM is the one host process an OOM
        // kill would end, as runc applies it to the container's init.
        const json& o = p["oomScoreAdj"];
        if (!o.is_number_integer() || o.get<int64_t>() < -1000 || o.get<int64_t>() > 1000)
            return bad("process.oomScoreAdj", "must be an integer from -1000 to 1000");
        s.oom_score_adj = static_cast<int>(o.get<int64_t>());
        s.has_oom_score_adj = true;
    }
    if (p.contains("rlimits") && p["rlimits"].is_array() && !p["rlimits"].empty())
        s.warnings.push_back("process.rlimits not applied (the guest starts with its own limits; "
                             "memory and processes are bounded by the VM: linux.resources)");
    return {};
}

bool provided_by_guest(const std::string& type, const std::string& dest) {
    // The guest kernel has its own /proc, /sys, /dev (with pts, shm, mqueue)
    // and /tmp: the host's versions of these are never shown to it.
    static const char* kTypes[] = {"proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"};
    for (const char* t : kTypes)
        if (type == t)
            return true;
    return type == "tmpfs" && (dest == "/dev" || dest == "/dev/shm");
}

Result<void> parse_mount(const json& m, ContainerSpec& s) {
    if (!m.is_object() || !m.contains("destination") || !m["destination"].is_string())
        return bad("mounts", "a mount without a destination");
    std::string dest = m["destination"].get<std::string>();
    if (dest.empty() || dest[0] != '/')
        return bad("mounts", "destination '" + dest + "' is not absolute");
    dest = TRY(normalise_guest_path(dest));
    std::string type = m.value("type", std::string());
    std::string source = m.value("source", std::string());
    auto options = TRY(strings(m.value("options", json()), "mounts " + dest + " options"));
    bool bind = type == "bind" || has_option(options, "bind") || has_option(options, "rbind");
    if (!bind && provided_by_guest(type, dest))
        return {};
    if (bind) {
        if (source.empty() || source[0] != '/')
            return bad("mounts " + dest, "bind source '" + source + "' is not an absolute path");
        struct stat st;
        if (::stat(source.c_str(), &st) != 0)
            return make_error(ErrorKind::NotFound, "config.json",
                              "mounts " + dest + ": bind source " + source + " does not exist");
        if (!S_ISDIR(st.st_mode)) {
            // Docker's own three files are served by the guest kernel from
            // their contents (they would take three of the VM's eight
            // shares); another regular file is a single-file share.
            std::string* etc = dest == "/etc/hosts"         ? &s.etc.hosts
                               : dest == "/etc/hostname"    ? &s.etc.hostname
                               : dest == "/etc/resolv.conf" ? &s.etc.resolv_conf
                                                            : nullptr;
            if (etc && S_ISREG(st.st_mode))
                *etc = source;
            else if (S_ISREG(st.st_mode) && dest != "/")
                s.vm.shares.push_back(
                    ShareSpec{source, dest, has_option(options, "ro"), TRY(mount_owner(options, dest))});
            else
                s.warnings.push_back("mounts " + dest + ": bind of " + source +
                                     " skipped (neither a directory nor a regular file)");
            return {};
        }
        if (dest == "/")
            return bad("mounts /", "a bind mount over / (use root.path)");
        s.vm.shares.push_back(ShareSpec{source, dest, has_option(options, "ro"), TRY(mount_owner(options, dest))});
        return {};
    }
    if (type == "tmpfs") {
        TmpfsSpec t{dest, 0};
        for (const auto& o : options)
            if (o.rfind("size=", 0) == 0) {
                auto size = parse_size(o.substr(5));
                if (!size)
                    return bad("mounts " + dest, "tmpfs " + o + ": " + size.error().message);
                t.size = *size;
            }
        if (dest == "/")
            return bad("mounts /", "a tmpfs over / (use root.path)");
        s.vm.tmpfs.push_back(t);
        return {};
    }
    s.warnings.push_back("mounts " + dest + ": type '" + type + "' not supported, skipped");
    return {};
}

Result<void> parse_namespaces(const json& ns, ContainerSpec& s) {
    // Without a network namespace the container shares the host's network
    // (as with runc); a new one is made by the monitor (only loopback) and a
    // path is joined by it, before the VM is built: the guest's sockets are
    // host sockets in that namespace (spec.hpp, new_netns).
    s.vm.net = NetMode::Host;
    if (ns.is_null())
        return {};
    if (!ns.is_array())
        return bad("linux.namespaces", "not an array");
    static const char* kKnown[] = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};
    for (const auto& n : ns) {
        std::string type = n.is_object() ? n.value("type", std::string()) : std::string();
        std::string path = n.is_object() ? n.value("path", std::string()) : std::string();
        if (std::none_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return type == k; }))
            return bad("linux.namespaces", "unsupported namespace type '" + type + "'");
        if (type == "network") {
            s.vm.net = NetMode::Host;
            s.netns_path = path;
            s.new_netns = path.empty();
            if (!path.empty() && ::access(path.c_str(), F_OK) != 0)
                return make_error(ErrorKind::NotFound, "config.json",
                                  "linux.namespaces: network namespace " + path + " does not exist");
        } else if (!path.empty()) {
            // Joining another container's pid/ipc/uts namespace would mean
            // sharing a guest kernel with it; this VM gets its own instead.
            s.warnings.push_back("linux.namespaces: " + type + " namespace " + path +
                                 " not joined (the VM has its own " + type + " namespace)");
        }
    }
    return {};
}

// CPUs in a cpuset list such as "0-3,6", or 0 if it is not one.
uint32_t cpuset_size(const std::string& list) {
    uint32_t n = 0;
    size_t at = 0;
    while (at < list.size()) {
        size_t end = list.find(',', at);
        const std::string part = list.substr(at, end == std::string::npos ? std::string::npos : end - at);
        unsigned lo = 0, hi = 0;
        char dash = 0, extra = 0;
        const int got = std::sscanf(part.c_str(), "%u%c%u%c", &lo, &dash, &hi, &extra);
        if (got == 1)
            n++;
        else if (got == 3 && dash == '-' && hi >= lo && hi - lo < 4096)
            n += hi - lo + 1;
        else
            return 0;
        if (end == std::string::npos)
            break;
        at = end + 1;
    }
    return n;
}

// linux.resources.cpu: a quota of N CPUs (quota/period, rounded up) or a
// cpuset of N CPUs gives N vCPUs, at most abi::kMaxCpus (a warning says
// when more were asked for); neither gives the host's (monitor/config.hpp),
// as a runc container sees every host CPU.
Result<uint32_t> vcpus_for(const json& cpu, ContainerSpec& s) {
    uint64_t want = 0;
    if (cpu.is_object()) {
        for (const char* k : {"quota", "period"})
            if (cpu.contains(k) && !cpu[k].is_number_integer())
                return bad(std::string("linux.resources.cpu.") + k, "not an integer");
        const int64_t quota = cpu.value("quota", int64_t(0));
        const int64_t period = cpu.value("period", int64_t(100000));
        if (quota > 0 && period > 0)
            want = static_cast<uint64_t>((quota + period - 1) / period);
        else if (cpu.contains("cpus") && cpu["cpus"].is_string() && !cpu["cpus"].get<std::string>().empty()) {
            want = cpuset_size(cpu["cpus"].get<std::string>());
            if (!want)
                return bad("linux.resources.cpu.cpus", "'" + cpu["cpus"].get<std::string>() + "' is not a CPU list");
        }
    }
    if (!want)
        return host_vcpus();
    if (want > abi::kMaxCpus) {
        s.warnings.push_back("linux.resources.cpu: " + std::to_string(want) + " CPUs asked for; a VM has at most " +
                             std::to_string(abi::kMaxCpus) + " vCPUs");
        want = abi::kMaxCpus;
    }
    return static_cast<uint32_t>(want);
}

Result<void> parse_linux(const json& l, ContainerSpec& s) {
    if (l.is_null()) {
        s.vm.net = NetMode::Host;
        return {};
    }
    if (!l.is_object())
        return bad("linux", "not an object");
    TRY(parse_namespaces(l.value("namespaces", json()), s));
    if (l.contains("cgroupsPath")) {
        if (!l["cgroupsPath"].is_string())
            return bad("linux.cgroupsPath", "not a string");
        s.cgroups_path = l["cgroupsPath"].get<std::string>();
    }
    const json r = l.value("resources", json());
    auto resources = cgroups::parse_resources(r);
    if (!resources)
        return bad(resources.error().where, resources.error().message);
    s.resources = std::move(*resources);
    s.warnings.insert(s.warnings.end(), s.resources.warnings.begin(), s.resources.warnings.end());
    if (r.is_object()) {
        const json mem = r.value("memory", json());
        if (mem.is_object() && mem.contains("limit") && mem["limit"].is_number_integer()) {
            int64_t limit = mem["limit"].get<int64_t>();
            if (limit > 0)
                s.vm.mem_size = static_cast<uint64_t>(limit);
        }
        const json pids = r.value("pids", json());
        if (pids.is_object() && pids.contains("limit") && pids["limit"].is_number_integer()) {
            int64_t limit = pids["limit"].get<int64_t>();
            if (limit > 0)
                s.vm.max_procs = static_cast<uint32_t>(std::min<int64_t>(limit, abi::kMaxPids));
        }
    }
    s.vm.cpus = TRY(vcpus_for(r.is_object() ? r.value("cpu", json()) : json(), s));
    if (l.contains("devices") && l["devices"].is_array() && !l["devices"].empty())
        s.warnings.push_back("linux.devices ignored (the guest has its own /dev)");
    if (l.contains("sysctl") && l["sysctl"].is_object() && !l["sysctl"].empty())
        s.warnings.push_back("linux.sysctl ignored (the guest kernel has no sysctls)");
    return {};
}

Result<void> parse_annotations(const json& a, ContainerSpec& s) {
    if (a.is_null())
        return {};
    if (!a.is_object())
        return bad("annotations", "not an object");
    for (const auto& [key, value] : a.items()) {
        if (!value.is_string())
            return bad("annotations", key + " is not a string");
        std::string v = value.get<std::string>();
        s.annotations[key] = v;
        if (key.rfind(kAnnotationPrefix, 0) != 0)
            continue;
        // A misspelt lightvm option is an error, not a silent default.
        std::string name = key.substr(std::char_traits<char>::length(kAnnotationPrefix));
        if (name == "memory") {
            auto size = parse_size(v);
            if (!size)
                return bad("annotations " + key, size.error().message);
            s.vm.mem_size = *size;
        } else if (name == "timeout") {
            char* end = nullptr;
            double t = std::strtod(v.c_str(), &end);
            if (v.empty() || *end || !(t >= 0) || t > 1e9)
                return bad("annotations " + key, "'" + v + "' is not a number of seconds");
            s.vm.timeout_seconds = t;
        } else if (name == "overcommit") {
            if (v != "true" && v != "false")
                return bad("annotations " + key, "'" + v + "' is not true or false");
            s.vm.overcommit = v == "true";
        } else if (name == "root-owner") {
            // root has no options in the spec: its ownership model is an annotation.
            auto owner = share_owner_from_name(v);
            if (!owner)
                return bad("annotations " + key, "'" + v + "' is not mapped or passthrough");
            for (auto& share : s.vm.shares)
                if (share.guest_path == "/" && share.host_path == s.root_path)
                    share.owner = *owner;
        } else {
            return bad("annotations " + key, "unknown lightvm option (known: io.lightvm.memory, "
                                             "io.lightvm.timeout, io.lightvm.overcommit, io.lightvm.root-owner)");
        }
    }
    return {};
}

Result<ContainerSpec> parse_json(const json& j, const std::string& bundle) {
    if (!j.is_object())
        return bad("(top level)", "not a JSON object");
    ContainerSpec s;
    s.vm.cpus = host_vcpus();  // without linux.resources.cpu (parse_linux)
    // The guest's first process is the container's init: unhandled host
    // signals are dropped as for runc's pid 1 (docker stop: SIGKILL after -t).
    s.vm.ignore_unhandled_signals = true;
    if (!j.contains("ociVersion") || !j["ociVersion"].is_string())
        return bad("ociVersion", "missing");
    s.oci_version = j["ociVersion"].get<std::string>();
    if (s.oci_version.rfind("1.", 0) != 0)
        return bad("ociVersion", "'" + s.oci_version + "' is not supported (1.x)");
    const json root = j.value("root", json());
    if (!root.is_object() || !root.contains("path") || !root["path"].is_string())
        return bad("root.path", "missing");
    s.root_path = root["path"].get<std::string>();
    if (s.root_path.empty())
        return bad("root.path", "empty");
    if (s.root_path[0] != '/')
        s.root_path = bundle + "/" + s.root_path;
    s.root_readonly = root.value("readonly", false);
    struct stat st;
    if (::stat(s.root_path.c_str(), &st) != 0)
        return make_error(ErrorKind::NotFound, "config.json", "root.path " + s.root_path + " does not exist");
    if (!S_ISDIR(st.st_mode))
        return bad("root.path", s.root_path + " is not a directory");
    s.vm.shares.push_back(ShareSpec{s.root_path, "/", s.root_readonly});
    TRY(parse_process(j.value("process", json()), s));
    if (j.contains("mounts")) {
        if (!j["mounts"].is_array())
            return bad("mounts", "not an array");
        for (const auto& m : j["mounts"])
            TRY(parse_mount(m, s));
    }
    if (j.contains("hostname")) {
        if (!j["hostname"].is_string())
            return bad("hostname", "not a string");
        s.vm.hostname = j["hostname"].get<std::string>();
    }
    if (s.vm.hostname.empty())
        s.vm.hostname = "lightvm";
    TRY(parse_linux(j.value("linux", json()), s));
    TRY(parse_hooks(j.value("hooks", json()), s));
    TRY(parse_annotations(j.value("annotations", json()), s));
    return s;
}

}  // namespace

Result<ContainerSpec> parse_spec(const std::string& text, const std::string& bundle) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
        return make_error(ErrorKind::BadInput, "config.json", "not valid JSON");
    // Type mismatches deep inside (a number where a string belongs) throw
    // from nlohmann's accessors; they end here as one line.
    try {
        return parse_json(j, bundle);
    } catch (const json::exception& e) {
        return make_error(ErrorKind::BadInput, "config.json", std::string("wrong type: ") + e.what());
    }
}

Result<ResolvedApp> resolve_app(const ContainerSpec& spec) {
    const std::string& name = spec.args[0];
    auto found = find_program_in_root(spec.root_path, name, spec.vm.cwd, spec.vm.env, kDefaultPath);
    if (!found && found.error().kind == ErrorKind::NotFound)
        // The end of the line is runc's wording: dockerd recognises it and
        // `docker run` exits 127 for a missing command, as with runc.
        return make_error(ErrorKind::NotFound, "process.args",
                          "executable '" + name + "' not found in the container's root: " +
                              (name.find('/') == std::string::npos ? "executable file not found in $PATH"
                                                                   : "no such file or directory"));
    if (!found)
        return tl::unexpected(found.error());
    return ResolvedApp{found->fd, found->guest_path};
}

Result<void> check_container_id(const std::string& id) {
    auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '+' || c == '-'; };
    if (id.empty() || id.size() > 1024 || !std::isalnum(static_cast<unsigned char>(id[0])) ||
        !std::all_of(id.begin(), id.end(), ok))
        return make_error(ErrorKind::BadInput, "container ID",
                          "'" + id.substr(0, 64) + "' is invalid (letters, digits, _ . + -; starting with a letter or digit)");
    return {};
}

}  // namespace lightvm::oci

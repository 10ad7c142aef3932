#include "daemon/protocol.hpp"

#include <algorithm>
#include <csignal>

namespace lightvm::daemon {

namespace {

Error bad(const std::string& field, const std::string& msg) { return Error{ErrorKind::BadInput, 0, field, msg}; }

Result<std::string> get_string(const json& j, const char* key, bool required) {
    auto it = j.find(key);
    if (it == j.end()) {
        if (required)
            return tl::unexpected(bad(key, "missing"));
        return std::string();
    }
    if (!it->is_string())
        return tl::unexpected(bad(key, "must be a string"));
    return it->get<std::string>();
}

Result<std::vector<std::string>> get_strings(const json& j, const char* key, size_t max) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end())
        return out;
    if (!it->is_array())
        return tl::unexpected(bad(key, "must be an array of strings"));
    if (it->size() > max)
        return tl::unexpected(bad(key, "more than " + std::to_string(max) + " entries"));
    for (const auto& e : *it) {
        if (!e.is_string())
            return tl::unexpected(bad(key, "must be an array of strings"));
        out.push_back(e.get<std::string>());
    }
    return out;
}

Result<bool> get_bool(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end())
        return false;
    if (!it->is_boolean())
        return tl::unexpected(bad(key, "must be true or false"));
    return it->get<bool>();
}

// A share's "owner": "passthrough" (the default) or "mapped" (lightvm run --fs DIR:mapped).
Result<ShareOwner> get_owner(const json& share) {
    auto it = share.find("owner");
    if (it == share.end())
        return ShareOwner::Passthrough;
    auto owner = it->is_string() ? share_owner_from_name(it->get<std::string>()) : std::nullopt;
    if (!owner)
        return tl::unexpected(bad("shares.owner", "must be \"passthrough\" or \"mapped\""));
    return *owner;
}

Result<void> absolute(const std::string& path, const char* field) {
    if (path.empty() || path[0] != '/')
        return tl::unexpected(bad(field, "'" + path + "' must be an absolute path"));
    if (path.find('\0') != std::string::npos)
        return tl::unexpected(bad(field, "contains a NUL byte"));
    return {};
}

Result<double> get_timeout(const json& j) {
    auto it = j.find("timeout");
    if (it == j.end())
        return 0.0;
    if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1e9)
        return tl::unexpected(bad("timeout", "must be a number of seconds >= 0"));
    return it->get<double>();
}

// "user": {"uid": N, "gid": N, "groups": [N, ...]}: who the program is in
// its VM (lightvm run --user). Ids are below 2^32 - 1.
Result<VmConfig::User> get_user(const json& u) {
    if (!u.is_object())
        return tl::unexpected(bad("user", "must be an object {\"uid\": N, \"gid\": N, \"groups\": [N]}"));
    TRY(reject_unknown_fields(u, {"uid", "gid", "groups"}, "user"));
    auto id = [](const json& v, const char* what) -> Result<uint32_t> {
        if (!v.is_number_unsigned() || v.get<uint64_t>() >= UINT32_MAX)
            return tl::unexpected(bad(what, "must be a number from 0 to 4294967294"));
        return static_cast<uint32_t>(v.get<uint64_t>());
    };
    VmConfig::User user;
    if (u.contains("uid"))
        user.uid = TRY(id(u["uid"], "user.uid"));
    if (u.contains("gid"))
        user.gid = TRY(id(u["gid"], "user.gid"));
    if (u.contains("groups")) {
        if (!u["groups"].is_array())
            return tl::unexpected(bad("user.groups", "must be an array of numbers"));
        for (const auto& g : u["groups"])
            user.groups.push_back(TRY(id(g, "user.groups")));
    }
    return user;
}

// "net", "publish", "dns", "tmpfs": the strings `lightvm run` takes
// (--net MODE, -p [HOSTIP:]HOSTPORT:GUESTPORT[/udp], --dns IP, --tmpfs
// PATH[:SIZE]), parsed by the same functions, so a VM made through the API
// is the one the flags make.
Result<void> parse_net_fields(const json& j, VmConfig& c) {
    auto field = [](const Error& e, const char* name) {
        Error out = e;
        out.where = name;
        return tl::unexpected(out);
    };
    if (j.contains("net")) {
        auto spec = parse_net(TRY(get_string(j, "net", true)));
        if (!spec)
            return field(spec.error(), "net");
        c.net = spec->mode;
        c.netns_path = spec->netns_path;
    }
    for (const auto& p : TRY(get_strings(j, "publish", 64))) {
        auto spec = parse_publish(p);
        if (!spec)
            return field(spec.error(), "publish");
        c.publish.push_back(*spec);
    }
    c.dns = TRY(get_strings(j, "dns", 3));
    for (const auto& t : TRY(get_strings(j, "tmpfs", abi::kMaxTmpfs))) {
        auto spec = parse_tmpfs(t);
        if (!spec)
            return field(spec.error(), "tmpfs");
        c.tmpfs.push_back(*spec);
    }
    return {};
}

// {"restore": PATH, ...}: a VM that continues a snapshot. Memory, shares,
// disks and the program come from the snapshot, so naming them is an error.
Result<CreateRequest> parse_restore_request(const json& j, CreateRequest req) {
    // cpus too: a restored VM continues with every vCPU it had started and the limit it had.
    for (const char* k : {"app", "args", "env", "memory", "shares", "disks", "workdir", "hostname", "pids", "user", "cpus",
                          "net", "publish", "dns", "tmpfs", "image", "entrypoint", "read_only"})
        if (j.contains(k))
            return tl::unexpected(bad(k, "not with restore: it comes from the snapshot"));
    VmConfig& c = req.config;
    c.restore_path = TRY(get_string(j, "restore", true));
    TRY(absolute(c.restore_path, "restore"));
    c.restore_prefault = TRY(get_bool(j, "prefault"));
    c.timeout_seconds = TRY(get_timeout(j));
    return req;
}

// {"image": REF, "args": [...], "entrypoint": PROG, "read_only": B}. Not
// with "app" (the image names the program) or "save" (a snapshot would
// need the writable layer back).
Result<ImageRequest> parse_image(const json& j) {
    if (j.contains("app"))
        return tl::unexpected(bad("app", "not with image: the image names the program (entrypoint, args)"));
    if (j.contains("save"))
        return tl::unexpected(bad("save", "not with image"));
    ImageRequest image;
    image.ref = TRY(get_string(j, "image", true));
    if (image.ref.empty() || image.ref.size() > 255 || image.ref.find('\0') != std::string::npos)
        return tl::unexpected(bad("image", "must be an image name or ID (lightvm image ls)"));
    if (image.ref[0] == '/' || image.ref[0] == '.')
        return tl::unexpected(bad("image", "'" + image.ref + "' is a path: import it first (lightvm image import)"));
    if (j.contains("entrypoint"))
        image.entrypoint = TRY(get_string(j, "entrypoint", true));
    image.cmd = TRY(get_strings(j, "args", 4096));
    image.read_only = TRY(get_bool(j, "read_only"));
    image.workdir_given = j.contains("workdir");
    image.user_given = j.contains("user");
    return image;
}

}  // namespace

json image_to_json(const ImageRequest& image) {
    json j = {{"ref", image.ref}, {"id", "sha256:" + image.id}, {"read_only", image.read_only}, {"root", image.root}};
    if (image.entrypoint)
        j["entrypoint"] = *image.entrypoint;
    return j;
}

std::optional<ImageRequest> image_from_json(const json& j) {
    if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || !j.contains("root") || !j["root"].is_string())
        return std::nullopt;
    ImageRequest image;
    image.ref = j.value("ref", "");
    image.id = j["id"].get<std::string>();
    if (image.id.rfind("sha256:", 0) == 0)
        image.id = image.id.substr(7);
    image.root = j["root"].get<std::string>();
    image.read_only = j.value("read_only", false);
    if (j.contains("entrypoint") && j["entrypoint"].is_string())
        image.entrypoint = j["entrypoint"].get<std::string>();
    return image;
}

Result<void> reject_unknown_fields(const json& j, std::initializer_list<const char*> allowed, const char* what) {
    for (const auto& item : j.items()) {
        bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* k) { return item.key() == k; });
        if (!known)
            return tl::unexpected(bad(what, "unknown field '" + item.key() + "'"));
    }
    return {};
}

int parse_signal(std::string_view text) {
    static const std::pair<const char*, int> names[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
        {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ALRM", SIGALRM},
    };
    if (text.rfind("SIG", 0) == 0)
        text.remove_prefix(3);
    for (auto& [n, s] : names)
        if (text == n)
            return s;
    if (text.empty() || text.size() > 2)
        return -1;
    int v = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    return v >= 1 && v <= 64 ? v : -1;
}

Result<void> check_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength)
        return tl::unexpected(bad("name", "must be 1-" + std::to_string(kMaxNameLength) + " characters"));
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (!alnum(name[0]))
        return tl::unexpected(bad("name", std::string("'").append(name).append("' must start with a letter or digit")));
    for (char c : name)
        if (!alnum(c) && c != '_' && c != '.' && c != '-')
            return tl::unexpected(bad("name", "'" + std::string(name) + "' may only hold letters, digits, '_', '.', '-'"));
    return {};
}

// {"save": {"path": "/abs", "at_ready": true | "after": S, "stop": B}}
Result<void> parse_save(const json& j, CreateRequest& req) {
    auto it = j.find("save");
    if (it == j.end())
        return {};
    if (!it->is_object())
        return tl::unexpected(bad("save", "must be an object {path, at_ready | after, stop}"));
    TRY(reject_unknown_fields(*it, {"path", "at_ready", "after", "stop"}, "save"));
    req.save_path = TRY(get_string(*it, "path", true));
    TRY(absolute(req.save_path, "save.path"));
    if (req.save_path.back() == '/')
        return tl::unexpected(bad("save.path", "must name a file"));
    SaveSpec& s = req.config.save;
    s.at_ready = TRY(get_bool(*it, "at_ready"));
    s.stop = TRY(get_bool(*it, "stop"));
    if (auto after = it->find("after"); after != it->end()) {
        if (!after->is_number() || after->get<double>() <= 0 || after->get<double>() > 1e9)
            return tl::unexpected(bad("save.after", "must be a number of seconds > 0"));
        s.after_seconds = after->get<double>();
    }
    if (s.at_ready == (s.after_seconds > 0))
        return tl::unexpected(bad("save", "needs exactly one of at_ready (true) and after (seconds)"));
    return {};
}

Result<CreateRequest> parse_create_request(std::string_view body) {
    if (body.size() > kMaxBodyBytes)
        return tl::unexpected(bad("request", "body larger than " + std::to_string(kMaxBodyBytes) + " bytes"));
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
        return tl::unexpected(bad("request", "body is not valid JSON"));
    if (!j.is_object())
        return tl::unexpected(bad("request", "body must be a JSON object"));
    TRY(reject_unknown_fields(j,
                              {"name", "app", "args", "env", "memory", "timeout", "shares", "disks", "workdir",
                               "hostname", "rm", "pids", "cpus", "restore", "prefault", "user", "save", "net",
                               "publish", "dns", "tmpfs", "image", "entrypoint", "read_only"},
                              "request"));
    CreateRequest req;
    req.name = TRY(get_string(j, "name", false));
    if (j.contains("name"))
        TRY(check_name(req.name));
    req.auto_remove = TRY(get_bool(j, "rm"));
    VmConfig& c = req.config;
    if (j.contains("restore"))
        return parse_restore_request(j, std::move(req));
    if (j.contains("prefault"))
        return tl::unexpected(bad("prefault", "only with restore"));
    TRY(parse_save(j, req));
    if (j.contains("image")) {
        req.image = TRY(parse_image(j));
    } else {
        for (const char* k : {"entrypoint", "read_only"})
            if (j.contains(k))
                return tl::unexpected(bad(k, "only with image"));
        c.app_path = TRY(get_string(j, "app", true));
        TRY(absolute(c.app_path, "app"));
        c.argv.push_back(c.app_path);
        for (auto& a : TRY(get_strings(j, "args", 4096)))
            c.argv.push_back(std::move(a));
    }
    c.env = TRY(get_strings(j, "env", 4096));
    if (auto it = j.find("memory"); it != j.end()) {
        if (it->is_number_unsigned())
            c.mem_size = it->get<uint64_t>();
        else if (it->is_string()) {
            auto size = parse_size(it->get<std::string>());
            if (!size)
                return tl::unexpected(bad("memory", size.error().message));
            c.mem_size = *size;
        } else
            return tl::unexpected(bad("memory", "must be a size such as \"256M\" or a number of bytes"));
    }
    if (auto it = j.find("pids"); it != j.end()) {
        if (!it->is_number_unsigned() || it->get<uint64_t>() > UINT32_MAX)
            return tl::unexpected(bad("pids", "must be a number of processes (1 to " + std::to_string(abi::kMaxPids) + ")"));
        c.max_procs = static_cast<uint32_t>(it->get<uint64_t>());
    }
    if (auto it = j.find("cpus"); it != j.end()) {
        if (!it->is_number_unsigned() || it->get<uint64_t>() > UINT32_MAX)
            return tl::unexpected(bad("cpus", "must be a number of vCPUs (1 to " + std::to_string(abi::kMaxCpus) + ")"));
        c.cpus = static_cast<uint32_t>(it->get<uint64_t>());
    }
    c.timeout_seconds = TRY(get_timeout(j));
    if (auto it = j.find("shares"); it != j.end()) {
        if (!it->is_array())
            return tl::unexpected(bad("shares", "must be an array"));
        for (const auto& s : *it) {
            if (!s.is_object())
                return tl::unexpected(bad("shares", "entries must be objects {host, guest, ro, owner}"));
            TRY(reject_unknown_fields(s, {"host", "guest", "ro", "owner"}, "shares"));
            ShareSpec spec;
            spec.host_path = TRY(get_string(s, "host", true));
            TRY(absolute(spec.host_path, "shares.host"));
            std::string guest = TRY(get_string(s, "guest", false));
            spec.guest_path = TRY(normalise_guest_path(guest.empty() ? spec.host_path : guest));
            spec.read_only = TRY(get_bool(s, "ro"));
            spec.owner = TRY(get_owner(s));
            c.shares.push_back(std::move(spec));
        }
    }
    if (auto it = j.find("disks"); it != j.end()) {
        if (!it->is_array())
            return tl::unexpected(bad("disks", "must be an array"));
        for (const auto& d : *it) {
            if (!d.is_object())
                return tl::unexpected(bad("disks", "entries must be objects {path, ro}"));
            TRY(reject_unknown_fields(d, {"path", "ro"}, "disks"));
            DiskSpec spec;
            spec.path = TRY(get_string(d, "path", true));
            TRY(absolute(spec.path, "disks.path"));
            spec.read_only = TRY(get_bool(d, "ro"));
            c.disks.push_back(std::move(spec));
        }
    }
    std::string workdir = TRY(get_string(j, "workdir", false));
    if (!workdir.empty())
        c.cwd = TRY(normalise_guest_path(workdir));
    std::string hostname = TRY(get_string(j, "hostname", false));
    if (!hostname.empty()) {
        if (hostname.size() > 63)
            return tl::unexpected(bad("hostname", "longer than 63 characters"));
        c.hostname = hostname;
    }
    if (j.contains("user"))
        c.user = TRY(get_user(j["user"]));
    TRY(parse_net_fields(j, c));
    if (req.image) {
        for (const auto& share : c.shares)
            if (share.guest_path == "/")
                return tl::unexpected(bad("shares", "not at / with image (the image is the root file system)"));
        return req;  // validated once the image is applied (daemon/images.cpp)
    }
    return validated(std::move(req));
}

Result<CreateRequest> validated(CreateRequest req) {
    VmConfig& c = req.config;
    auto valid = validate(std::move(c));
    if (!valid) {
        Error e = valid.error();
        if (e.where.rfind("--", 0) == 0)
            e.where = e.where.substr(2) == "mem" ? "memory" : e.where.substr(2);
        return tl::unexpected(e);
    }
    req.config = std::move(*valid);
    return req;
}

json config_to_json(const VmConfig& c) {
    json shares = json::array(), disks = json::array();
    for (const auto& s : c.shares)
        shares.push_back({{"host", s.host_path},
                          {"guest", s.guest_path},
                          {"ro", s.read_only},
                          {"owner", share_owner_name(s.owner)}});
    for (const auto& d : c.disks)
        disks.push_back({{"path", d.path}, {"ro", d.read_only}});
    json publish = json::array(), tmpfs = json::array();
    for (const auto& p : c.publish)
        publish.push_back({{"host_ip", p.host_ip}, {"host_port", p.host_port}, {"guest_port", p.guest_port}, {"udp", p.udp}});
    for (const auto& t : c.tmpfs)
        tmpfs.push_back({{"path", t.guest_path}, {"size", t.size}});
    return json{{"app", c.app_path},
                {"argv", c.argv},
                {"env", c.env},
                {"memory", c.mem_size},
                {"timeout", c.timeout_seconds},
                {"shares", shares},
                {"disks", disks},
                {"workdir", c.cwd},
                {"hostname", c.hostname},
                {"user", {{"uid", c.user.uid}, {"gid", c.user.gid}, {"groups", c.user.groups}}},
                {"trace", c.trace},
                {"stats", c.stats},
                {"overcommit", c.overcommit},
                {"no_aslr", c.no_aslr},
                {"pids", c.max_procs},
                {"cpus", c.cpus},
                {"restore", c.restore_path},
                {"prefault", c.restore_prefault},
                {"migrated", c.restore_migrated},
                {"save_at_ready", c.save.at_ready},
                {"save_after", c.save.after_seconds},
                {"save_stop", c.save.stop},
                {"net", net_mode_text(c.net, c.netns_path)},
                {"publish", publish},
                {"dns", c.dns},
                {"tmpfs", tmpfs}};
}

// The monitor and the run socket get this from a process of the same user;
// still, nothing here may throw: wrong types read as absent.
Result<VmConfig> config_from_json(const json& j) {
    if (!j.is_object())
        return tl::unexpected(bad("config", "not an object"));
    VmConfig c;
    auto str = [](const json& o, const char* k) -> std::string {
        auto it = o.find(k);
        return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto flag = [](const json& o, const char* k) {
        auto it = o.find(k);
        return it != o.end() && it->is_boolean() && it->get<bool>();
    };
    c.app_path = str(j, "app");
    if (auto it = j.find("argv"); it != j.end() && it->is_array())
        for (const auto& a : *it)
            if (a.is_string())
                c.argv.push_back(a.get<std::string>());
    if (auto it = j.find("env"); it != j.end() && it->is_array())
        for (const auto& a : *it)
            if (a.is_string())
                c.env.push_back(a.get<std::string>());
    if (auto it = j.find("memory"); it != j.end() && it->is_number_unsigned())
        c.mem_size = it->get<uint64_t>();
    if (auto it = j.find("timeout"); it != j.end() && it->is_number())
        c.timeout_seconds = it->get<double>();
    if (auto it = j.find("shares"); it != j.end() && it->is_array())
        for (const auto& s : *it)
            if (s.is_object())
                c.shares.push_back(ShareSpec{str(s, "host"), str(s, "guest"), flag(s, "ro"),
                                             share_owner_from_name(str(s, "owner")).value_or(ShareOwner::Passthrough)});
    if (auto it = j.find("disks"); it != j.end() && it->is_array())
        for (const auto& d : *it)
            if (d.is_object())
                c.disks.push_back(DiskSpec{str(d, "path"), flag(d, "ro")});
    c.cwd = str(j, "workdir").empty() ? "/" : str(j, "workdir");
    if (!str(j, "hostname").empty())
        c.hostname = str(j, "hostname");
    if (auto it = j.find("user"); it != j.end()) {
        auto user = get_user(*it);
        if (!user)
            return tl::unexpected(user.error());
        c.user = *user;
    }
    c.trace = flag(j, "trace");
    c.stats = flag(j, "stats");
    c.overcommit = flag(j, "overcommit");
    c.no_aslr = flag(j, "no_aslr");
    if (auto it = j.find("pids"); it != j.end() && it->is_number_unsigned())
        c.max_procs = static_cast<uint32_t>(std::min<uint64_t>(it->get<uint64_t>(), UINT32_MAX));
    if (auto it = j.find("cpus"); it != j.end() && it->is_number_unsigned())
        c.cpus = static_cast<uint32_t>(std::min<uint64_t>(it->get<uint64_t>(), UINT32_MAX));
    c.restore_path = str(j, "restore");
    c.restore_prefault = flag(j, "prefault");
    c.restore_migrated = flag(j, "migrated");
    if (auto net = parse_net(str(j, "net").empty() ? "none" : str(j, "net")); net) {
        c.net = net->mode;
        c.netns_path = net->netns_path;
    }
    auto port = [](const json& o, const char* k) -> uint16_t {
        auto it = o.find(k);
        return it != o.end() && it->is_number_unsigned() ? static_cast<uint16_t>(std::min<uint64_t>(it->get<uint64_t>(), 65535))
                                                         : 0;
    };
    if (auto it = j.find("publish"); it != j.end() && it->is_array())
        for (const auto& p : *it)
            if (p.is_object())
                c.publish.push_back(PublishSpec{str(p, "host_ip"), port(p, "host_port"), port(p, "guest_port"), flag(p, "udp")});
    if (auto it = j.find("dns"); it != j.end() && it->is_array())
        for (const auto& a : *it)
            if (a.is_string())
                c.dns.push_back(a.get<std::string>());
    if (auto it = j.find("tmpfs"); it != j.end() && it->is_array())
        for (const auto& t : *it)
            if (t.is_object() && t.contains("size") && t["size"].is_number_unsigned())
                c.tmpfs.push_back(TmpfsSpec{str(t, "path"), t["size"].get<uint64_t>()});
    c.save.at_ready = flag(j, "save_at_ready");
    c.save.stop = flag(j, "save_stop");
    if (auto it = j.find("save_after"); it != j.end() && it->is_number() && it->get<double>() > 0)
        c.save.after_seconds = it->get<double>();
    return validate(std::move(c));
}

json report_to_json(const RunReport& r) {
    const RunStats& s = r.stats;
    json exits = json::object();
    exits["total"] = s.exits.total;
    return json{{"status", r.outcome.status},
                {"signal", r.outcome.signal},
                {"report", r.outcome.report},
                {"timed_out", r.timed_out},
                {"stopped_by", r.stopped_by},
                {"stats",
                 {{"prepare_ns", s.prepare_ns},
                  {"app_checked_ns", s.app_checked_ns},
                  {"image_ready_ns", s.image_ready_ns},
                  {"kernel_entry_ns", s.kernel_entry_ns},
                  {"app_entry_ns", s.app_entry_ns},
                  {"finished_ns", s.finished_ns},
                  {"exits", s.exits.total},
                  {"guest_syscalls", s.guest_syscalls},
                  {"memory_size", s.memory_size}}}};
}

}  // namespace lightvm::daemon

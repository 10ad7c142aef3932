#include "image/run_settings.hpp"

#include <algorithm>
#include <charconv>

namespace lightvm::image {

namespace {

std::string_view key_of(std::string_view kv) { return kv.substr(0, kv.find('=')); }

// Sets or replaces KEY=... in `env`, keeping the first position.
void put_env(std::vector<std::string>& env, const std::string& kv) {
    for (auto& e : env)
        if (key_of(e) == key_of(kv)) {
            e = kv;
            return;
        }
    env.push_back(kv);
}

std::optional<uint32_t> number(std::string_view s) {
    uint32_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v == UINT32_MAX)
        return std::nullopt;
    return v;
}

// Field `index` of a colon-separated line.
std::string_view field(std::string_view line, size_t index) {
    for (size_t i = 0; i < index; ++i) {
        size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            return {};
        line.remove_prefix(colon + 1);
    }
    return line.substr(0, line.find(':'));
}

// Calls f(line) for each non-empty, non-comment line.
template <class F>
void each_line(std::string_view text, F f) {
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (!line.empty() && line[0] != '#')
            f(line);
    }
}

struct PasswdEntry {
    std::string name;
    uint32_t uid = 0, gid = 0;
    std::string home;
};

// By name, or by uid when `name` is a number.
std::optional<PasswdEntry> find_passwd(std::string_view passwd, std::string_view user) {
    std::optional<PasswdEntry> found;
    auto uid = number(user);
    each_line(passwd, [&](std::string_view line) {
        auto lu = number(field(line, 2)), lg = number(field(line, 3));
        if (found || !lu || !lg)
            return;
        if (uid ? *lu == *uid : field(line, 0) == user)
            found = PasswdEntry{std::string(field(line, 0)), *lu, *lg, std::string(field(line, 5))};
    });
    return found;
}

std::optional<uint32_t> find_group(std::string_view group, std::string_view name) {
    std::optional<uint32_t> gid;
    each_line(group, [&](std::string_view line) {
        if (!gid && field(line, 0) == name)
            gid = number(field(line, 2));
    });
    return gid;
}

// The groups whose member list (field 4) names `user`.
std::vector<uint32_t> member_groups(std::string_view group, std::string_view user, uint32_t primary) {
    std::vector<uint32_t> out;
    each_line(group, [&](std::string_view line) {
        auto gid = number(field(line, 2));
        std::string_view members = field(line, 3);
        while (gid && !members.empty()) {
            size_t comma = members.find(',');
            if (members.substr(0, comma) == user && *gid != primary &&
                std::find(out.begin(), out.end(), *gid) == out.end())
                out.push_back(*gid);
            members.remove_prefix(comma == std::string_view::npos ? members.size() : comma + 1);
        }
    });
    return out;
}

}  // namespace

Result<RunSettings> run_settings(const ImageConfig& config, const RunOverrides& o) {
    RunSettings s;
    s.argv = o.entrypoint ? (o.entrypoint->empty() ? std::vector<std::string>{} : std::vector<std::string>{*o.entrypoint})
                          : config.entrypoint;
    const std::vector<std::string>& cmd = !o.cmd.empty() || o.entrypoint ? o.cmd : config.cmd;
    s.argv.insert(s.argv.end(), cmd.begin(), cmd.end());
    if (s.argv.empty() || s.argv.front().empty())
        return make_error(ErrorKind::BadInput, "--image",
                          "the image has no Entrypoint or Cmd: name a command after the image");
    for (const auto& e : config.env)
        if (e.find('=') != std::string::npos && e.front() != '=')
            put_env(s.env, e);
    if (std::none_of(s.env.begin(), s.env.end(), [](const std::string& e) { return key_of(e) == "PATH"; }))
        s.env.insert(s.env.begin(), "PATH=" + std::string(kDefaultPath));
    for (const auto& e : o.env)
        put_env(s.env, e);
    // A relative WorkingDir is taken from "/", as docker does.
    s.cwd = config.working_dir.empty() ? "/" : (config.working_dir[0] == '/' ? "" : "/") + config.working_dir;
    return s;
}

Result<ResolvedUser> resolve_user(std::string_view spec, std::string_view passwd, std::string_view group) {
    size_t colon = spec.find(':');
    std::string_view user = spec.substr(0, colon);
    std::optional<std::string_view> grp;
    if (colon != std::string_view::npos)
        grp = spec.substr(colon + 1);
    if (user.empty())
        return make_error(ErrorKind::BadInput, "User", "'" + std::string(spec) + "' names no user");
    ResolvedUser r;
    auto entry = find_passwd(passwd, user);
    if (auto uid = number(user)) {
        r.uid = *uid;
        r.gid = entry ? entry->gid : 0;
    } else if (entry) {
        r.uid = entry->uid;
        r.gid = entry->gid;
    } else {
        return make_error(ErrorKind::BadInput, "User",
                          "no user '" + std::string(user) + "' in the image's /etc/passwd");
    }
    if (grp) {
        if (auto gid = number(*grp))
            r.gid = *gid;
        else if (auto named = find_group(group, *grp))
            r.gid = *named;
        else
            return make_error(ErrorKind::BadInput, "User",
                              "no group '" + std::string(*grp) + "' in the image's /etc/group");
    }
    if (entry)
        r.groups = member_groups(group, entry->name, r.gid);
    return r;
}

std::string home_of(uint32_t uid, std::string_view passwd) {
    auto entry = find_passwd(passwd, std::to_string(uid));
    return entry && !entry->home.empty() && entry->home[0] == '/' ? entry->home : "/";
}

}  // namespace lightvm::image

#include "monitor/config.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "lightvm/abi.h"

namespace lightvm {

Result<uint64_t> parse_size(std::string_view text) {
    auto bad = [&] {
        return make_error(ErrorKind::BadInput, "size",
                          "invalid size '" + std::string(text) + "' (use e.g. 256M, 1G, 65536K)");
    };
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr == text.data())
        return bad();
    std::string suffix(ptr, text.data() + text.size());
    for (char& c : suffix)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    unsigned shift = 0;
    if (suffix.empty() || suffix == "B")
        shift = 0;
    else if (suffix == "K" || suffix == "KB" || suffix == "KIB")
        shift = 10;
    else if (suffix == "M" || suffix == "MB" || suffix == "MIB")
        shift = 20;
    else if (suffix == "G" || suffix == "GB" || suffix == "GIB")
        shift = 30;
    else
        return bad();
    if (value == 0 || value > (UINT64_MAX >> shift))
        return bad();
    return value << shift;
}

Result<std::string> normalise_guest_path(std::string_view path) {
    if (path.empty() || path[0] != '/')
        return make_error(ErrorKind::BadInput, "--fs", "guest path '" + std::string(path) + "' must be absolute");
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/')
            ++i;
        size_t start = i;
        while (i < path.size() && path[i] != '/')
            ++i;
        std::string_view c = path.substr(start, i - start);
        if (c.empty() || c == ".")
            continue;
        if (c == "..") {
            if (!parts.empty())
                parts.pop_back();
            continue;
        }
        parts.push_back(c);
    }
    std::string out;
    for (auto c : parts) {
        out.push_back('/');
        out.append(c);
    }
    return out.empty() ? std::string("/") : out;
}

namespace {
std::string absolute_host_path(const std::string& p) {
    if (!p.empty() && p[0] == '/')
        return p;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd))
        return p;
    return std::string(cwd) + "/" + p;
}
}  // namespace

const char* share_owner_name(ShareOwner owner) { return owner == ShareOwner::Mapped ? "mapped" : "passthrough"; }

std::optional<ShareOwner> share_owner_from_name(std::string_view name) {
    if (name == "passthrough")
        return ShareOwner::Passthrough;
    if (name == "mapped")
        return ShareOwner::Mapped;
    return std::nullopt;
}

namespace {

// The option list after a share's last colon: "ro,mapped". Every word
// must be known; ro/rw and mapped/passthrough exclude each other.
Result<void> apply_share_options(std::string_view list, const char* flag, std::string_view whole, ShareSpec& s) {
    auto bad = [&](const std::string& why) {
        std::string msg = why;  // appended, not concatenated: GCC 12's bogus -Wrestrict (bug 105329)
        msg.append(" in '").append(whole).append("' (options: ro, rw, mapped, passthrough)");
        return make_error(ErrorKind::BadInput, flag, msg);
    };
    bool seen[4] = {};  // ro, rw, mapped, passthrough
    static constexpr std::string_view kWords[4] = {"ro", "rw", "mapped", "passthrough"};
    for (size_t at = 0; at <= list.size();) {
        size_t comma = std::min(list.find(',', at), list.size());
        std::string_view word = list.substr(at, comma - at);
        auto it = std::find(std::begin(kWords), std::end(kWords), word);
        if (it == std::end(kWords))
            return bad(word.empty() ? std::string("empty option") : "unknown option '" + std::string(word) + "'");
        seen[it - std::begin(kWords)] = true;
        at = comma + 1;
    }
    if (seen[0] && seen[1])
        return bad("'ro' and 'rw' conflict");
    if (seen[2] && seen[3])
        return bad("'mapped' and 'passthrough' conflict");
    s.read_only = seen[0];
    s.owner = seen[2] ? ShareOwner::Mapped : ShareOwner::Passthrough;
    return {};
}

// Takes a trailing ":OPTS" off text into s. A guest path is absolute, so a
// last field without a '/' can only be meant as options.
Result<std::string_view> take_share_options(std::string_view text, const char* flag, ShareSpec& s) {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find('/', colon) != std::string_view::npos)
        return text;
    TRY(apply_share_options(text.substr(colon + 1), flag, text, s));
    return text.substr(0, colon);
}

}  // namespace

Result<ShareSpec> parse_share(std::string_view text) {
    ShareSpec s;
    std::string t(TRY(take_share_options(text, "--fs", s)));
    auto colon = t.find(':');
    s.host_path = t.substr(0, colon);
    if (s.host_path.empty())
        return make_error(ErrorKind::BadInput, "--fs", "missing host directory in '" + std::string(text) + "'");
    std::string guest = colon == std::string::npos ? absolute_host_path(s.host_path) : t.substr(colon + 1);
    s.guest_path = TRY(normalise_guest_path(guest));
    return s;
}

Result<ShareSpec> parse_rootfs(std::string_view text) {
    ShareSpec s;
    s.host_path = std::string(TRY(take_share_options(text, "--rootfs", s)));
    if (s.host_path.empty())
        return make_error(ErrorKind::BadInput, "--rootfs", "missing directory in '" + std::string(text) + "'");
    s.guest_path = "/";
    return s;
}

Result<DiskSpec> parse_disk(std::string_view text) {
    DiskSpec d;
    std::string t(text);
    if (t.size() > 3 && t.compare(t.size() - 3, 3, ":ro") == 0) {
        d.read_only = true;
        t.resize(t.size() - 3);
    }
    if (t.empty())
        return make_error(ErrorKind::BadInput, "--disk", "missing file name");
    d.path = t;
    return d;
}

Result<TmpfsSpec> parse_tmpfs(std::string_view text) {
    TmpfsSpec t;
    std::string s(text);
    size_t colon = s.rfind(':');
    if (colon != std::string::npos) {
        auto size = parse_size(std::string_view(s).substr(colon + 1));
        if (!size)
            return make_error(ErrorKind::BadInput, "--tmpfs", "'" + s + "': " + size.error().message);
        t.size = *size;
        s.resize(colon);
    }
    if (s.empty() || s[0] != '/') {
        std::string why = "'";  // appended, not "'" + string: GCC 12's bogus -Wrestrict (bug 105329)
        why.append(text).append("': PATH must be absolute");
        return make_error(ErrorKind::BadInput, "--tmpfs", why);
    }
    t.guest_path = TRY(normalise_guest_path(s));
    if (t.guest_path == "/")
        return make_error(ErrorKind::BadInput, "--tmpfs", "'/' cannot be a tmpfs (use --rootfs)");
    return t;
}

namespace {

// effective_tmpfs before the cut to abi::kMaxTmpfs (validate refuses more).
std::vector<TmpfsSpec> all_tmpfs(const VmConfig& cfg) {
    std::vector<TmpfsSpec> out;
    auto at_or_below = [](const std::string& p, const std::string& dir) {
        return p == dir || dir == "/" ||
               (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/');
    };
    for (const char* def : {"/tmp", "/dev/shm"}) {
        bool covered = false;
        // A share at or below the path provides it; so does one above /tmp
        // (--rootfs: the root file system's own /tmp, as in a container
        // image). /dev is always the kernel's, so nothing above /dev/shm counts.
        for (const auto& s : cfg.shares)
            covered = covered || at_or_below(s.guest_path, def) ||
                      (std::string_view(def) == "/tmp" && at_or_below(def, s.guest_path));
        for (const auto& t : cfg.tmpfs)
            covered = covered || t.guest_path == def;
        if (!covered)
            out.push_back({def, 0});
    }
    out.insert(out.end(), cfg.tmpfs.begin(), cfg.tmpfs.end());
    for (auto& t : out)
        if (t.size == 0)
            t.size = cfg.mem_size / 2;
    return out;
}

}  // namespace

std::vector<TmpfsSpec> effective_tmpfs(const VmConfig& cfg) {
    std::vector<TmpfsSpec> out = all_tmpfs(cfg);
    if (out.size() > abi::kMaxTmpfs)
        out.resize(abi::kMaxTmpfs);
    return out;
}

Result<VmConfig> validate(VmConfig cfg) {
    using abi::kHugePageSize;
    if (cfg.mem_size > abi::kMaxMemSize)  // before rounding, which could wrap
        return make_error(ErrorKind::BadInput, "--mem",
                          std::to_string(cfg.mem_size >> 20) + " MiB is too large (maximum " +
                              std::to_string(abi::kMaxMemSize >> 30) + " GiB)");
    cfg.mem_size = (cfg.mem_size + kHugePageSize - 1) & ~(kHugePageSize - 1);
    if (cfg.mem_size < abi::kMinMemSize)
        return make_error(ErrorKind::BadInput, "--mem",
                          std::to_string(cfg.mem_size >> 20) + " MiB is too small (minimum " +
                              std::to_string(abi::kMinMemSize >> 20) + " MiB)");
    if (cfg.mem_size > abi::kMaxMemSize)
        return make_error(ErrorKind::BadInput, "--mem",
                          std::to_string(cfg.mem_size >> 20) + " MiB is too large (maximum " +
                              std::to_string(abi::kMaxMemSize >> 30) + " GiB)");
    if (cfg.max_procs < 1 || cfg.max_procs > abi::kMaxPids)
        return make_error(ErrorKind::BadInput, "--pids",
                          std::to_string(cfg.max_procs) + " is out of range (1 to " + std::to_string(abi::kMaxPids) + ")");
    if (cfg.cpus < 1 || cfg.cpus > abi::kMaxCpus)
        return make_error(ErrorKind::BadInput, "--cpus",
                          std::to_string(cfg.cpus) + " is out of range (1 to " + std::to_string(abi::kMaxCpus) + ")");
    if (cfg.timeout_seconds < 0)
        return make_error(ErrorKind::BadInput, "--timeout", "must not be negative");
    if (cfg.argv.empty())
        cfg.argv.push_back(cfg.app_path);
    for (const auto& e : cfg.env)
        if (e.find('=') == std::string::npos || e.front() == '=')
            return make_error(ErrorKind::BadInput, "--env", "'" + e + "' is not of the form KEY=VALUE");
    // /tmp and /dev/shm count unless a share provides them (--rootfs: /tmp).
    if (all_tmpfs(cfg).size() > abi::kMaxTmpfs)
        return make_error(ErrorKind::BadInput, "--tmpfs",
                          "at most " + std::to_string(abi::kMaxTmpfs) +
                              " in all, counting /tmp and /dev/shm unless a share provides them");
    for (size_t i = 0; i < cfg.tmpfs.size(); ++i) {
        const std::string& p = cfg.tmpfs[i].guest_path;
        if (p.size() >= sizeof(abi::TmpfsMount::guest_path))
            return make_error(ErrorKind::BadInput, "--tmpfs", "guest path '" + p + "' is too long");
        for (size_t j = 0; j < i; ++j)
            if (cfg.tmpfs[j].guest_path == p)
                return make_error(ErrorKind::BadInput, "--tmpfs", "two tmpfs at " + p);
        for (const auto& s : cfg.shares)
            if (s.guest_path == p)
                return make_error(ErrorKind::BadInput, "--tmpfs", p + " is also a share (--fs)");
    }
    if (cfg.shares.size() > abi::kMaxMounts)
        return make_error(ErrorKind::BadInput, "--fs", "at most " + std::to_string(abi::kMaxMounts) + " shares");
    for (size_t i = 0; i < cfg.shares.size(); ++i) {
        if (cfg.shares[i].guest_path.size() >= sizeof(abi::FsMount::guest_path))
            return make_error(ErrorKind::BadInput, "--fs", "guest path '" + cfg.shares[i].guest_path + "' is too long");
        for (size_t j = 0; j < i; ++j)
            if (cfg.shares[i].guest_path == cfg.shares[j].guest_path)
                return make_error(ErrorKind::BadInput, "--fs", "two shares at " + cfg.shares[i].guest_path);
    }
    if (cfg.disks.size() > abi::kMaxDevices)
        return make_error(ErrorKind::BadInput, "--disk", "at most " + std::to_string(abi::kMaxDevices) + " disks");
    // Values that do not fit are errors naming the option and its limit,
    // never a silent substitute (a wrong working directory is a wrong run).
    if (cfg.cwd.size() >= sizeof(abi::BootInfo::initial_cwd))
        return make_error(ErrorKind::BadInput, "--workdir",
                          "'" + cfg.cwd.substr(0, 40) + "...' is " + std::to_string(cfg.cwd.size()) +
                              " bytes long (at most " + std::to_string(sizeof(abi::BootInfo::initial_cwd) - 1) +
                              ")");
    if (cfg.app_path.size() >= sizeof(abi::BootInfo::exe_path))
        return make_error(ErrorKind::BadInput, "APP",
                          "path is " + std::to_string(cfg.app_path.size()) + " bytes long (at most " +
                              std::to_string(sizeof(abi::BootInfo::exe_path) - 1) + ")");
    if (cfg.hostname.empty() || cfg.hostname.size() >= sizeof(abi::BootInfo::hostname))
        return make_error(ErrorKind::BadInput, "--hostname",
                          "'" + cfg.hostname.substr(0, 40) + "' is " + std::to_string(cfg.hostname.size()) +
                              " bytes long (1 to " + std::to_string(sizeof(abi::BootInfo::hostname) - 1) + ")");
    if (cfg.hostname.find('\0') != std::string::npos)
        return make_error(ErrorKind::BadInput, "--hostname", "contains a NUL byte");
    if (cfg.user.groups.size() > abi::kMaxUserGroups)
        return make_error(ErrorKind::BadInput, "--user",
                          std::to_string(cfg.user.groups.size()) + " supplementary groups (at most " +
                              std::to_string(abi::kMaxUserGroups) + ")");
    TRY(resolv_conf_text(cfg.dns));
    return cfg;
}

Result<std::string> resolv_conf_text(const std::vector<std::string>& servers) {
    if (servers.size() > kMaxDns)
        return make_error(ErrorKind::BadInput, "--dns",
                          std::to_string(servers.size()) + " servers (at most " + std::to_string(kMaxDns) +
                              ", as the C library reads)");
    std::string text;
    for (const auto& s : servers) {
        in6_addr a6{};
        in_addr a4{};
        if (::inet_pton(AF_INET, s.c_str(), &a4) != 1 && ::inet_pton(AF_INET6, s.c_str(), &a6) != 1) {
            std::string why = "'";  // built step by step: GCC bug 105329 (-Wrestrict) otherwise
            why.append(s, 0, 60).append("' is not an IP address");
            return make_error(ErrorKind::BadInput, "--dns", why);
        }
        text.append("nameserver ").append(s).append("\n");
    }
    static_assert(kMaxDns * (sizeof "nameserver \n" + INET6_ADDRSTRLEN) < sizeof(abi::BootInfo::resolv_conf));
    return text;
}

namespace {

Result<uint16_t> parse_port(std::string_view text, std::string_view what, const std::string& where) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == 0 || v > 65535)
        return make_error(ErrorKind::BadInput, where,
                          std::string(what) + " '" + std::string(text) + "' is not a port (1-65535)");
    return static_cast<uint16_t>(v);
}

}  // namespace

Result<NetSpec> parse_net(std::string_view text) {
    if (text == "none")
        return NetSpec{NetMode::None, {}};
    if (text == "host")
        return NetSpec{NetMode::Host, {}};
    if (text == "user")
        return NetSpec{NetMode::User, {}};
    if (text.starts_with("ns:")) {
        std::string_view path = text.substr(3);
        if (path.empty() || path.front() != '/')
            return make_error(ErrorKind::BadInput, "--net",
                              "ns:PATH needs the absolute path of a network namespace (e.g. /run/netns/NAME)");
        return NetSpec{NetMode::Host, std::string(path)};
    }
    return make_error(ErrorKind::BadInput, "--net",
                      "unknown mode '" + std::string(text) + "' (none, user, host, ns:PATH)");
}

std::string net_mode_text(NetMode mode, const std::string& netns_path) {
    if (!netns_path.empty())
        return "ns:" + netns_path;
    return mode == NetMode::User ? "user" : mode == NetMode::Host ? "host" : "none";
}

std::string publish_text(const PublishSpec& p) {
    std::string ip = p.host_ip.find(':') != std::string::npos ? "[" + p.host_ip + "]" : p.host_ip;
    return (ip.empty() ? "" : ip + ":") + std::to_string(p.host_port) + ":" + std::to_string(p.guest_port) +
           (p.udp ? "/udp" : "");
}

std::string tmpfs_text(const TmpfsSpec& t) {
    return t.size ? t.guest_path + ":" + std::to_string(t.size) : t.guest_path;
}

Result<PublishSpec> parse_publish(std::string_view text) {
    const std::string where = "-p " + std::string(text);
    PublishSpec p;
    std::string_view body = text;
    if (auto slash = body.rfind('/'); slash != std::string_view::npos) {
        std::string_view proto = body.substr(slash + 1);
        if (proto != "tcp" && proto != "udp")
            return make_error(ErrorKind::BadInput, where, "protocol '" + std::string(proto) + "' is not tcp or udp");
        p.udp = proto == "udp";
        body = body.substr(0, slash);
    }
    auto last = body.rfind(':');
    if (last == std::string_view::npos)
        return make_error(ErrorKind::BadInput, where, "expected [HOSTIP:]HOSTPORT:GUESTPORT");
    p.guest_port = TRY(parse_port(body.substr(last + 1), "guest port", where));
    std::string_view rest = body.substr(0, last);
    auto sep = rest.rfind(':');
    std::string_view host_port = sep == std::string_view::npos ? rest : rest.substr(sep + 1);
    if (sep != std::string_view::npos) {
        std::string_view ip = rest.substr(0, sep);
        if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']')
            ip = ip.substr(1, ip.size() - 2);
        if (ip.empty())
            return make_error(ErrorKind::BadInput, where, "empty host address");
        p.host_ip = std::string(ip);
    }
    p.host_port = TRY(parse_port(host_port, "host port", where));
    return p;
}

uint32_t host_vcpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    const long n = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : ::sysconf(_SC_NPROCESSORS_ONLN);
    return static_cast<uint32_t>(std::clamp<long>(n, 1, abi::kMaxCpus));
}

}  // namespace lightvm

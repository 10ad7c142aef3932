#include "monitor/etc_files.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace lightvm {

namespace {
bool covers(const std::string& mount, std::string_view path) {
    return mount == "/" || (path.starts_with(mount) && (path.size() == mount.size() || path[mount.size()] == '/'));
}
}  // namespace

bool share_provides(const std::vector<ShareSpec>& shares, std::string_view guest_path,
                    const std::vector<TmpfsSpec>& tmpfs) {
    const ShareSpec* best = nullptr;
    for (const auto& s : shares)
        if (covers(s.guest_path, guest_path) && (!best || s.guest_path.size() > best->guest_path.size()))
            best = &s;
    if (!best)
        return false;
    for (const auto& t : tmpfs)
        if (covers(t.guest_path, guest_path) && t.guest_path.size() > best->guest_path.size())
            return false;
    std::string_view rest = guest_path.substr(best->guest_path == "/" ? 0 : best->guest_path.size());
    struct stat st;
    return ::lstat((best->host_path + std::string(rest)).c_str(), &st) == 0;
}

std::vector<std::string> name_servers(std::string_view resolv_conf, bool loopback_ok) {
    std::vector<std::string> out;
    std::istringstream in{std::string(resolv_conf)};
    std::string line;
    while (std::getline(in, line) && out.size() < kMaxDns) {
        std::istringstream words(line);
        std::string key, addr;
        if (!(words >> key >> addr) || key != "nameserver")
            continue;
        in_addr a4{};
        in6_addr a6{};
        bool v4 = ::inet_pton(AF_INET, addr.c_str(), &a4) == 1;
        if (!v4 && ::inet_pton(AF_INET6, addr.c_str(), &a6) != 1)
            continue;
        bool loopback = v4 ? (ntohl(a4.s_addr) >> 24) == 127 : IN6_IS_ADDR_LOOPBACK(&a6);
        if (loopback_ok || !loopback)
            out.push_back(addr);
    }
    return out;
}

Result<EtcFiles> etc_files(const VmConfig& cfg) {
    EtcFiles f;
    const std::vector<TmpfsSpec> tmpfs = effective_tmpfs(cfg);
    f.hosts = cfg.serve_etc_hosts || !share_provides(cfg.shares, "/etc/hosts", tmpfs);
    f.hostname = cfg.serve_etc_hostname;
    if (!cfg.dns.empty()) {
        f.resolv_conf = TRY(resolv_conf_text(cfg.dns));
    } else if (uses_host_sockets(cfg.net) && !share_provides(cfg.shares, "/etc/resolv.conf", tmpfs)) {
        // The host's servers; under --net user and ns the VM's 127.0.0.1 is
        // its own, so a local stub resolver (127.0.0.53) is out of reach.
        std::ifstream in("/etc/resolv.conf");
        std::stringstream text;
        text << in.rdbuf();
        f.resolv_conf = TRY(resolv_conf_text(name_servers(text.str(), cfg.net == NetMode::Host)));
    }
    return f;
}

}  // namespace lightvm

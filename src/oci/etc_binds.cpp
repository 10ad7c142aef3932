#include "oci/etc_binds.hpp"

#include <fstream>
#include <sstream>

#include "monitor/etc_files.hpp"

namespace lightvm::oci {

namespace {

Result<std::string> read_text(const std::string& path, const char* dest) {
    std::ifstream in(path);
    if (!in)
        return make_error(ErrorKind::NotFound, "config.json", std::string("mounts ") + dest + ": cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Lines other than comments and `nameserver` (search, options): the guest's
// resolv.conf names only the servers.
bool has_more_than_servers(const std::string& text) {
    std::istringstream in(text);
    std::string line, key;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        if ((words >> key) && key[0] != '#' && key[0] != ';' && key != "nameserver")
            return true;
    }
    return false;
}

// Names other than localhost, Debian's ip6-* names and the hostname: what
// `--add-host` adds, which the guest's /etc/hosts does not carry.
bool has_extra_hosts(const std::string& text, const std::string& hostname) {
    std::istringstream in(text);
    std::string line, addr, name;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        if (!(words >> addr) || addr[0] == '#')
            continue;
        while (words >> name && name[0] != '#')
            if (name != "localhost" && name != hostname && !name.starts_with("ip6-"))
                return true;
    }
    return false;
}

}  // namespace

Result<void> apply_etc_binds(ContainerSpec& spec) {
    VmConfig& vm = spec.vm;
    if (!spec.etc.resolv_conf.empty()) {
        const std::string text = TRY(read_text(spec.etc.resolv_conf, "/etc/resolv.conf"));
        // Docker leaves out loopback servers unless the container shares
        // the host's network, where they are reachable: keep what it wrote.
        vm.dns = name_servers(text, /*loopback_ok=*/true);
        if (has_more_than_servers(text))
            spec.warnings.push_back("mounts /etc/resolv.conf: only its nameserver lines reach the guest");
    }
    if (!spec.etc.hosts.empty()) {
        const std::string text = TRY(read_text(spec.etc.hosts, "/etc/hosts"));
        vm.serve_etc_hosts = true;
        if (has_extra_hosts(text, vm.hostname))
            spec.warnings.push_back("mounts /etc/hosts: the guest's has localhost and the hostname only "
                                    "(entries such as --add-host are not shown)");
    }
    vm.serve_etc_hostname = !spec.etc.hostname.empty();
    return {};
}

}  // namespace lightvm::oci

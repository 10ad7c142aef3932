// The guest's /etc/hosts and /etc/resolv.conf where its root file system
// lacks them, as container runtimes provide them: the guest kernel serves
// them from the boot page (kBootEtcHosts with BootInfo.hostname, and
// BootInfo.resolv_conf).
// docs/design.md "Networking", "Names".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "monitor/config.hpp"

namespace lightvm {

struct EtcFiles {
    bool hosts = false;       // serve localhost and the hostname (else the rootfs's own)
    bool hostname = false;    // serve /etc/hostname (VmConfig::serve_etc_hostname only)
    std::string resolv_conf;  // empty: the rootfs's own (or none)
};

// --dns always wins; otherwise each file only where no share provides it
// (or where the config asks for it over the share's: serve_etc_*),
// and resolv.conf only for guests with host sockets (--net host, user, ns),
// naming the host's name servers they can reach.
Result<EtcFiles> etc_files(const VmConfig& cfg);

// Pure parts, for unit tests.
// Would the guest find `guest_path` in the share that serves it (the one
// whose guest path is its longest prefix)? Checked on the host with lstat.
// A tmpfs mounted nearer the path (--tmpfs /etc) hides the share: a fresh
// tmpfs provides nothing.
bool share_provides(const std::vector<ShareSpec>& shares, std::string_view guest_path,
                    const std::vector<TmpfsSpec>& tmpfs = {});
// The `nameserver` addresses of a resolv.conf text, at most 3, without
// loopback ones unless `loopback_ok` (a VM's loopback is its own).
std::vector<std::string> name_servers(std::string_view resolv_conf, bool loopback_ok);

}  // namespace lightvm

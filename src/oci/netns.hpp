// The container's network namespace, entered by its process (the VM's
// monitor) before the VM is built: the guest's sockets are host sockets
// there. Joining needs CAP_SYS_ADMIN, which the sandbox drops later.
#pragma once

#include <string>

#include "common/result.hpp"

namespace lightvm::oci {

// linux.namespaces network with a path (a CNI-configured pod's).
Result<void> join_network_namespace(const std::string& path);

// Without a path: a namespace of the container's own with its loopback up,
// as runc makes one. Docker's prestart hook (libnetwork-setkey) and CNI
// find it through /proc/PID/ns/net and configure it, not the host's.
Result<void> new_network_namespace();

}  // namespace lightvm::oci

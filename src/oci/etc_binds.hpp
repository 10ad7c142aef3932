// Docker's bind mounts of /etc/hosts, /etc/hostname and /etc/resolv.conf
// (files it writes per container). A lightvm share is a directory, so
// instead of the files the guest kernel serves its own versions over the
// root's empty placeholders: /etc/resolv.conf with the file's name servers
// (VmConfig::dns), /etc/hosts with localhost and the hostname, and
// /etc/hostname. What the guest's versions lack (search domains,
// `docker run --add-host` entries) is a warning.
#pragma once

#include "common/result.hpp"
#include "oci/spec.hpp"

namespace lightvm::oci {

// Reads the bound files and sets spec.vm; warnings go to spec.warnings.
Result<void> apply_etc_binds(ContainerSpec& spec);

}  // namespace lightvm::oci

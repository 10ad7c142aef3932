// The mount pieces of an image's writable layer, shared by `lightvm run
// --image` (image/writable.hpp) and lightvmd's monitors (daemon/
// monitor_image.cpp). No store, no libarchive: a monitor links only this.
#pragma once

#include <string>

#include "common/result.hpp"
#include "monitor/config.hpp"

namespace lightvm::image {

// Enters a private mount namespace (and a user namespace when not root,
// which needs a single-threaded process). Our mounts stay ours; the
// host's still reach us.
Result<void> enter_private_mounts();
// Mounts an overlay of `lower` with `upper`/`work` at `target`.
Result<void> mount_overlay(const std::string& lower, const std::string& upper, const std::string& work,
                           const std::string& target, bool in_user_namespace);
// With a read-only image root, the places programs expect to write
// (/tmp, /run, /var/tmp) become tmpfs unless the config names them.
void add_scratch_tmpfs(VmConfig& config);
// The text of the warning given when overlayfs cannot be mounted.
std::string no_overlay_warning(const Error& why);

}  // namespace lightvm::image

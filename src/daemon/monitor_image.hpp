// The monitor's part of an image's VM (lightvmd): its writable layer, an
// overlay mounted in this monitor's own mount namespace before the sandbox
// (so the mount dies with the process and no other VM can see it), and its
// program opened inside that root.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "monitor/config.hpp"

namespace lightvm::daemon {

// `image` is the workload message's {"root": DIR, "layer": DIR or ""}: the
// cached root (config.shares[0], "/") and where the writable layer goes
// ("": read-only). Where overlayfs cannot be mounted the VM runs with a
// read-only root and tmpfs scratch directories, a warning on `warn_fd`, as
// `lightvm run --image` does. Must run while this process has one thread
// (a user namespace needs that, when not root). The descriptors returned
// must stay open for the VM's life: the program (config.app_path names
// it), and a shared flock on the image's lock, so that `lightvm image rm`
// refuses while this monitor runs, with or without a daemon.
struct ImageRootFds {
    UniqueFd program, hold;
};
Result<ImageRootFds> prepare_image_root(VmConfig& config, const nlohmann::json& image, int warn_fd);

}  // namespace lightvm::daemon

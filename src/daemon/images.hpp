// lightvmd's side of images (docs/design.md "Images through lightvmd"):
// a create request's "image" is found in the daemon's image cache and
// applied to the VM's config by `lightvm run --image`'s rules; the image is
// held (`lightvm image rm` refuses) from create until the VM is removed.
// The writable layer itself is the monitor's (daemon/monitor_image.cpp).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "common/unique_fd.hpp"
#include "common/result.hpp"
#include "daemon/protocol.hpp"

namespace lightvm::daemon {

// Applies request.image (found in the cache at `image_dir`) to
// request.config and validates it. Errors say "image: ..." (or name the
// field): NotFound for an image the cache lacks, BadInput for an ambiguous
// ID prefix, a program the image lacks or a bad config.
Result<void> apply_image(const std::string& image_dir, CreateRequest& request);

// Shared flocks on images' lock files, one descriptor per image in use
// however many VMs use it (lightvmd's descriptors bound its VM count).
class ImageHolds {
public:
    Result<void> acquire(const std::string& image_dir, const std::string& id);
    void release(const std::string& id);

private:
    struct Held {
        UniqueFd fd;
        unsigned count = 0;
    };
    std::mutex m_mu;
    std::map<std::string, Held> m_held;
};

// Where a VM's writable layer lives: below its own directory, so that
// removing the VM removes it, also after a restart.
inline std::string layer_dir(const std::string& vm_dir) { return vm_dir + "/layer"; }

}  // namespace lightvm::daemon

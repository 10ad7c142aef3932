// The writable layer of one VM over a cached image root, which itself is
// never modified. Preferred: overlayfs, lower = the cached rootfs, upper and
// work = a fresh directory under the cache's run/, mounted in a private
// mount namespace of this process (root: unshare(CLONE_NEWNS); others: a
// user namespace too, where Linux >= 5.11 allows overlayfs with
// "userxattr"), before the monitor's sandbox is entered. The mount dies with
// the process; a small cleaner process, forked first and left in the
// host's namespace, removes the directory once this process has exited
// (or the next run or import does, if the cleaner was killed).
//
// Where overlayfs cannot be mounted (no permission, no overlay, an upper
// file system it refuses), the root is shared read-only and the caller
// gives the guest tmpfs on /tmp, /run and /var/tmp; `warning` says why.
#pragma once

#include <string>

#include "common/result.hpp"
#include "image/overlay.hpp"  // its pieces, for tests
#include "image/store.hpp"

namespace lightvm::image {

struct WritableRoot {
    std::string root;     // the host directory to share as the guest's "/"
    bool read_only = false;
    std::string warning;  // set when overlayfs was wanted but not possible
};

// `read_only`: share the cached root read-only without trying overlayfs.
Result<WritableRoot> writable_root(const Store& store, const Digest& id, bool read_only);

}  // namespace lightvm::image

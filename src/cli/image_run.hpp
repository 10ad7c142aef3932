// `lightvm run --image IMAGE [CMD...]`: turns the run into an ordinary one
// before anything else happens. The image is imported if IMAGE is a path
// (a cache hit when it was before) or found by name or ID; it is held
// (`lightvm image rm` refuses) while the VM runs; the VM gets its
// writable layer (image/writable.hpp) as "/", and the program, argv,
// environment, working directory and user the image's config names,
// with the command line's overrides. A foreground run is always in this
// process: the overlay lives in this process's mount namespace.
#pragma once

#include "cli/options.hpp"
#include "common/result.hpp"

namespace lightvm::cli {

Result<void> prepare_image_run(RunCommand& run);

// `run -d --image` and `create --image`: lightvmd applies the image and
// its monitor mounts the writable layer; here a path is imported into the
// cache (the daemon's, when both use the same: image/store.hpp), and the
// reference sent becomes the imported image's ID.
Result<void> prepare_image_for_daemon(RunCommand& run);

}  // namespace lightvm::cli

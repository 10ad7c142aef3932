// `lightvm image import`: an image from its files into the cache, unpacked
// once. A second import of the same image (same config digest) reads only
// its index, manifest and config and unpacks nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "image/layer_apply.hpp"
#include "image/store.hpp"

namespace lightvm::image {

// "PATH[:TAG]": the whole argument if it exists, else split at the first
// ':' whose prefix exists (paths may hold ':' themselves; tags such as
// "busybox:1.36" do too); nullopt when no such file or directory exists.
struct PathAndTag {
    std::string path, tag;
};
std::optional<PathAndTag> split_path_tag(const std::string& arg);

struct ImportRequest {
    std::string path, tag;
    std::vector<std::string> names;  // --name; empty: the tags the image carries
};

struct ImportResult {
    ImageRecord record;
    bool cached = false;  // already in the cache: nothing unpacked
    ApplyStats stats;
};

Result<ImportResult> import_image(const Store& store, const ImportRequest& request);

}  // namespace lightvm::image

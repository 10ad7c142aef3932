// What an image consists of, read from its files before anything is
// unpacked: the format, the config (its bytes verified: their digest is the
// image's ID) and the layers to apply, each with the digests to check.
// Enough to decide whether the cache already holds the image.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "image/layer.hpp"
#include "image/manifest.hpp"
#include "image/source.hpp"

namespace lightvm::image {

struct LayerRef {
    std::string file;  // inside the image's files
    LayerCheck check;
};

struct ImagePlan {
    std::string format;       // oci-layout, oci-archive, docker-archive
    Digest id;                // the config's digest
    std::string config_json;  // exactly as stored
    ImageConfig config;
    std::vector<LayerRef> layers;
    std::vector<std::string> names;  // the tags the image carries (RepoTags, ref.name)
};

// `tag`: which image of several (PATH:TAG); empty for the only one.
Result<ImagePlan> read_plan(const ImageFiles& files, std::string_view tag);

}  // namespace lightvm::image

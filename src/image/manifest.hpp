// The JSON documents of an image, parsed into plain data: OCI image index,
// manifest and config (image-spec 1.x; Docker's schema 2 equivalents are
// accepted), and `docker save`'s manifest.json. Pure: no files, no side
// effects; every error is one line naming the document and the field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "image/digest.hpp"

namespace lightvm::image {

struct Platform {
    std::string os, architecture, variant;
};

struct Descriptor {
    std::string media_type;
    Digest digest;
    int64_t size = -1;       // -1: not given (docker-archive); checked when given
    std::string ref_name;    // annotation org.opencontainers.image.ref.name
    std::string image_name;  // annotation io.containerd.image.name (docker/containerd exports)
    bool has_platform = false;
    Platform platform;
};

struct Index {
    std::vector<Descriptor> manifests;
};

struct Manifest {
    Descriptor config;
    std::vector<Descriptor> layers;
};

// What the image's config says about running it (config.* in the spec)
// and the uncompressed digests of its layers (rootfs.diff_ids).
struct ImageConfig {
    std::vector<std::string> entrypoint, cmd, env;
    std::string working_dir, user, created;
    Platform platform;
    std::vector<Digest> diff_ids;
};

// One image of `docker save`'s manifest.json; paths are inside the tar.
struct DockerImage {
    std::string config_path;
    std::vector<std::string> repo_tags;
    std::vector<std::string> layer_paths;
};

// Media types, by role.
bool is_index_media_type(std::string_view type);     // OCI index, Docker manifest list
bool is_manifest_media_type(std::string_view type);  // OCI manifest, Docker schema 2 manifest
bool is_config_media_type(std::string_view type);    // OCI image config, Docker container config
// A layer lightvm can apply: an (optionally gzip/zstd-compressed) tar.
Result<void> check_layer_media_type(std::string_view type);

Result<Index> parse_index(std::string_view text, std::string_view what);
Result<Manifest> parse_manifest(std::string_view text, std::string_view what);
Result<ImageConfig> parse_config(std::string_view text, std::string_view what);
Result<std::vector<DockerImage>> parse_docker_manifest(std::string_view text);

// Which of an index's entries to use: those named `tag` (ref.name or the
// containerd image name; all of them when `tag` is empty), and among
// several, the linux/amd64 one. `where` names the index in errors.
Result<Descriptor> select_manifest(const Index& index, std::string_view tag, std::string_view where);
// docker-archive: the image tagged `tag` (a RepoTag, or the tag part of
// one), or the only one.
Result<DockerImage> select_docker_image(const std::vector<DockerImage>& images, std::string_view tag,
                                        std::string_view where);

// The image must hold x86-64 Linux programs.
Result<void> check_platform(const ImageConfig& config);

}  // namespace lightvm::image

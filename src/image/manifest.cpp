#include "image/manifest.hpp"

#include <nlohmann/json.hpp>

namespace lightvm::image {

namespace {

using nlohmann::json;

constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";

tl::unexpected<Error> bad(std::string_view what, const std::string& message) {
    return make_error(ErrorKind::BadInput, std::string(what), message);
}

Result<json> parse_object(std::string_view text, std::string_view what) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded())
        return bad(what, "not valid JSON");
    if (!j.is_object())
        return bad(what, "not a JSON object");
    return j;
}

// An optional string field ("" when absent or null).
Result<std::string> string_field(const json& j, const char* key, std::string_view what) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return std::string();
    if (!it->is_string())
        return bad(what, std::string(key) + " is not a string");
    return it->get<std::string>();
}

// An optional array of strings (empty when absent or null).
Result<std::vector<std::string>> strings_field(const json& j, const char* key, std::string_view what) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return out;
    if (!it->is_array())
        return bad(what, std::string(key) + " is not an array of strings");
    for (const auto& e : *it) {
        if (!e.is_string())
            return bad(what, std::string(key) + " is not an array of strings");
        out.push_back(e.get<std::string>());
    }
    return out;
}

Result<Platform> parse_platform(const json& j, std::string_view what) {
    if (!j.is_object())
        return bad(what, "platform is not an object");
    Platform p;
    p.os = TRY(string_field(j, "os", what));
    p.architecture = TRY(string_field(j, "architecture", what));
    p.variant = TRY(string_field(j, "variant", what));
    return p;
}

Result<Descriptor> parse_descriptor(const json& j, std::string_view what) {
    if (!j.is_object())
        return bad(what, "a descriptor is not an object");
    Descriptor d;
    d.media_type = TRY(string_field(j, "mediaType", what));
    auto digest = j.find("digest");
    if (digest == j.end() || !digest->is_string())
        return bad(what, "a descriptor has no digest");
    d.digest = TRY(parse_digest(digest->get<std::string>(), what));
    auto size = j.find("size");
    if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
        return bad(what, "descriptor " + d.digest.str() + " has no valid size");
    d.size = size->get<int64_t>();
    if (auto a = j.find("annotations"); a != j.end() && a->is_object()) {
        d.ref_name = TRY(string_field(*a, "org.opencontainers.image.ref.name", what));
        d.image_name = TRY(string_field(*a, "io.containerd.image.name", what));
    }
    if (auto p = j.find("platform"); p != j.end() && !p->is_null()) {
        d.platform = TRY(parse_platform(*p, what));
        d.has_platform = true;
    }
    return d;
}

Result<void> check_schema_version(const json& j, std::string_view what) {
    auto v = j.find("schemaVersion");
    if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != 2)
        return make_error(ErrorKind::Unsupported, std::string(what), "schemaVersion is not 2");
    return {};
}

std::string platform_text(const Platform& p) {
    return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

bool is_amd64_linux(const Descriptor& d) {
    return d.has_platform && d.platform.os == "linux" && d.platform.architecture == "amd64";
}

std::string names_of(const std::vector<Descriptor>& ds) {
    std::string out;
    for (const auto& d : ds) {
        std::string n = !d.ref_name.empty() ? d.ref_name : d.image_name;
        if (!n.empty())
            out += (out.empty() ? "" : ", ") + n;
    }
    return out.empty() ? "none" : out;
}

Result<Index> parse_index_json(const json& j, std::string_view what) {
    TRY(check_schema_version(j, what));
    std::string type = TRY(string_field(j, "mediaType", what));
    if (!type.empty() && !is_index_media_type(type))
        return make_error(ErrorKind::Unsupported, std::string(what), "media type '" + type + "' is not an image index");
    auto m = j.find("manifests");
    if (m == j.end() || !m->is_array())
        return bad(what, "manifests is not an array");
    Index index;
    for (const auto& e : *m)
        index.manifests.push_back(TRY(parse_descriptor(e, what)));
    return index;
}

Result<Manifest> parse_manifest_json(const json& j, std::string_view what) {
    TRY(check_schema_version(j, what));
    std::string type = TRY(string_field(j, "mediaType", what));
    if (!type.empty() && !is_manifest_media_type(type))
        return make_error(ErrorKind::Unsupported, std::string(what), "media type '" + type + "' is not an image manifest");
    auto c = j.find("config");
    if (c == j.end())
        return bad(what, "no config descriptor");
    Manifest m;
    m.config = TRY(parse_descriptor(*c, what));
    if (!is_config_media_type(m.config.media_type))
        return make_error(ErrorKind::Unsupported, std::string(what),
                          "config media type '" + m.config.media_type + "' is not an image config (an artifact?)");
    auto layers = j.find("layers");
    if (layers == j.end() || !layers->is_array())
        return bad(what, "layers is not an array");
    for (const auto& l : *layers) {
        Descriptor d = TRY(parse_descriptor(l, what));
        if (auto ok = check_layer_media_type(d.media_type); !ok)
            return make_error(ErrorKind::Unsupported, std::string(what), "layer " + d.digest.str() + ": " + ok.error().message);
        m.layers.push_back(std::move(d));
    }
    return m;
}

Result<ImageConfig> parse_config_json(const json& j, std::string_view what) {
    ImageConfig c;
    c.platform.os = TRY(string_field(j, "os", what));
    c.platform.architecture = TRY(string_field(j, "architecture", what));
    c.platform.variant = TRY(string_field(j, "variant", what));
    c.created = TRY(string_field(j, "created", what));
    if (auto cfg = j.find("config"); cfg != j.end() && !cfg->is_null()) {
        if (!cfg->is_object())
            return bad(what, "config is not an object");
        c.entrypoint = TRY(strings_field(*cfg, "Entrypoint", what));
        c.cmd = TRY(strings_field(*cfg, "Cmd", what));
        c.env = TRY(strings_field(*cfg, "Env", what));
        c.working_dir = TRY(string_field(*cfg, "WorkingDir", what));
        c.user = TRY(string_field(*cfg, "User", what));
    }
    auto rootfs = j.find("rootfs");
    if (rootfs == j.end() || !rootfs->is_object())
        return bad(what, "no rootfs");
    std::string type = TRY(string_field(*rootfs, "type", what));
    if (type != "layers")
        return make_error(ErrorKind::Unsupported, std::string(what), "rootfs.type '" + type + "' is not 'layers'");
    for (const auto& id : TRY(strings_field(*rootfs, "diff_ids", what)))
        c.diff_ids.push_back(TRY(parse_digest(id, what)));
    return c;
}

Result<DockerImage> parse_docker_entry(const json& j) {
    constexpr std::string_view what = "manifest.json";
    if (!j.is_object())
        return bad(what, "an entry is not an object");
    DockerImage d;
    d.config_path = TRY(string_field(j, "Config", what));
    if (d.config_path.empty())
        return bad(what, "an entry has no Config");
    d.repo_tags = TRY(strings_field(j, "RepoTags", what));
    d.layer_paths = TRY(strings_field(j, "Layers", what));
    return d;
}

// A RepoTag matches `tag` whole, or by its tag part ("busybox:1.36" for "1.36").
bool tag_matches(const std::string& repo_tag, std::string_view tag) {
    if (repo_tag == tag)
        return true;
    size_t colon = repo_tag.rfind(':');
    return tag.find(':') == std::string_view::npos && colon != std::string::npos &&
           repo_tag.find('/', colon) == std::string::npos && std::string_view(repo_tag).substr(colon + 1) == tag;
}

}  // namespace

bool is_index_media_type(std::string_view type) { return type == kOciIndex || type == kDockerList; }
bool is_manifest_media_type(std::string_view type) { return type == kOciManifest || type == kDockerManifest; }
bool is_config_media_type(std::string_view type) { return type == kOciConfig || type == kDockerConfig; }

Result<void> check_layer_media_type(std::string_view type) {
    static constexpr std::string_view kLayers[] = {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    };
    for (auto t : kLayers)
        if (type == t)
            return {};
    return make_error(ErrorKind::Unsupported, "layer",
                      "unsupported media type '" + std::string(type.substr(0, 100)) + "' (tar, tar+gzip, tar+zstd)");
}

Result<Index> parse_index(std::string_view text, std::string_view what) {
    json j = TRY(parse_object(text, what));
    try {
        return parse_index_json(j, what);
    } catch (const json::exception& e) {
        return bad(what, std::string("wrong type: ") + e.what());
    }
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view what) {
    json j = TRY(parse_object(text, what));
    try {
        return parse_manifest_json(j, what);
    } catch (const json::exception& e) {
        return bad(what, std::string("wrong type: ") + e.what());
    }
}

Result<ImageConfig> parse_config(std::string_view text, std::string_view what) {
    json j = TRY(parse_object(text, what));
    try {
        return parse_config_json(j, what);
    } catch (const json::exception& e) {
        return bad(what, std::string("wrong type: ") + e.what());
    }
}

Result<std::vector<DockerImage>> parse_docker_manifest(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded())
        return bad("manifest.json", "not valid JSON");
    if (!j.is_array() || j.empty())
        return bad("manifest.json", "not a non-empty JSON array");
    std::vector<DockerImage> out;
    try {
        for (const auto& e : j)
            out.push_back(TRY(parse_docker_entry(e)));
    } catch (const json::exception& e) {
        return bad("manifest.json", std::string("wrong type: ") + e.what());
    }
    return out;
}

Result<Descriptor> select_manifest(const Index& index, std::string_view tag, std::string_view where) {
    std::vector<Descriptor> candidates;
    for (const auto& d : index.manifests)
        if (tag.empty() || d.ref_name == tag || d.image_name == tag)
            candidates.push_back(d);
    if (candidates.empty())
        return make_error(ErrorKind::NotFound, std::string(where),
                          tag.empty() ? "the index lists no image"
                                      : "no image tagged '" + std::string(tag) + "' (tags: " + names_of(index.manifests) + ")");
    if (candidates.size() == 1)
        return candidates.front();
    // Several platforms of one image (a multi-platform index): ours.
    for (const auto& d : candidates)
        if (is_amd64_linux(d))
            return d;
    bool platforms = true;
    std::string listed;
    for (const auto& d : candidates) {
        platforms = platforms && d.has_platform;
        listed += (listed.empty() ? "" : ", ") + (d.has_platform ? platform_text(d.platform) : d.digest.short_id());
    }
    if (platforms)
        return make_error(ErrorKind::Unsupported, std::string(where), "no linux/amd64 image (platforms: " + listed + ")");
    return make_error(ErrorKind::BadInput, std::string(where),
                      std::to_string(candidates.size()) + " images: choose one with PATH:TAG (tags: " +
                          names_of(candidates) + ")");
}

Result<DockerImage> select_docker_image(const std::vector<DockerImage>& images, std::string_view tag,
                                        std::string_view where) {
    std::string listed;
    for (const auto& img : images)
        for (const auto& t : img.repo_tags) {
            if (!tag.empty() && tag_matches(t, tag))
                return img;
            listed += (listed.empty() ? "" : ", ") + t;
        }
    if (tag.empty() && images.size() == 1)
        return images.front();
    if (listed.empty())
        listed = "none";
    if (!tag.empty())
        return make_error(ErrorKind::NotFound, std::string(where),
                          "no image tagged '" + std::string(tag) + "' (tags: " + listed + ")");
    return make_error(ErrorKind::BadInput, std::string(where),
                      std::to_string(images.size()) + " images: choose one with PATH:TAG (tags: " + listed + ")");
}

Result<void> check_platform(const ImageConfig& config) {
    const Platform& p = config.platform;
    if ((!p.os.empty() && p.os != "linux") || (!p.architecture.empty() && p.architecture != "amd64"))
        return make_error(ErrorKind::Unsupported, "image",
                          "built for " + platform_text(p) + ": lightvm runs linux/amd64 programs");
    return {};
}

}  // namespace lightvm::image

#include "image/plan.hpp"

#include <nlohmann/json.hpp>

namespace lightvm::image {

namespace {

std::string blob_path(const Digest& d) { return "blobs/sha256/" + d.hex; }

// A small blob (index, manifest, config) whole, its digest and size checked.
Result<std::string> read_blob(const ImageFiles& files, const Descriptor& d, const std::string& label) {
    if (!files.exists(blob_path(d.digest)))
        return make_error(ErrorKind::NotFound, files.path(), "blob " + d.digest.str() + " (" + label + ") is missing");
    std::string bytes = TRY(files.read_small(blob_path(d.digest)));
    Digest actual = sha256_of(bytes);
    if (actual != d.digest)
        return digest_mismatch(d.digest, actual, label);
    if (d.size >= 0 && bytes.size() != static_cast<uint64_t>(d.size))
        return make_error(ErrorKind::BadInput, "image",
                          "blob " + d.digest.str() + " (" + label + "): " + std::to_string(bytes.size()) +
                              " bytes, its descriptor says " + std::to_string(d.size));
    return bytes;
}

Result<void> check_layout_version(const ImageFiles& files) {
    std::string text = TRY(files.read_small("oci-layout", 1 << 16));
    auto j = nlohmann::json::parse(text, nullptr, false);
    auto v = j.is_object() ? j.find("imageLayoutVersion") : j.end();
    if (!j.is_object() || v == j.end() || !v->is_string())
        return make_error(ErrorKind::BadInput, files.path(), "oci-layout: not an image layout file");
    if (v->get<std::string>().rfind("1.", 0) != 0)
        return make_error(ErrorKind::Unsupported, files.path(),
                          "oci-layout: imageLayoutVersion " + v->get<std::string>() + " (1.x only)");
    return {};
}

// The layers in order, paired with the config's diff_ids.
Result<void> pair_layers(ImagePlan& plan, std::vector<LayerRef> layers) {
    if (layers.size() != plan.config.diff_ids.size())
        return make_error(ErrorKind::BadInput, "image",
                          std::to_string(layers.size()) + " layers but " + std::to_string(plan.config.diff_ids.size()) +
                              " rootfs.diff_ids in the config");
    for (size_t i = 0; i < layers.size(); ++i) {
        layers[i].check.diff_id = plan.config.diff_ids[i];
        layers[i].check.label = "layer " + std::to_string(i + 1) + " of " + std::to_string(layers.size());
    }
    plan.layers = std::move(layers);
    return {};
}

Result<ImagePlan> read_oci(const ImageFiles& files, std::string_view tag) {
    TRY(check_layout_version(files));
    const std::string where = files.path() + ": index.json";
    Index index = TRY(parse_index(TRY(files.read_small("index.json")), where));
    Descriptor chosen = TRY(select_manifest(index, tag, where));
    ImagePlan plan;
    plan.format = files.is_tar() ? "oci-archive" : "oci-layout";
    for (const auto& n : {chosen.image_name, chosen.ref_name})
        if (!n.empty())
            plan.names.push_back(n);
    // A multi-platform image: an index inside the index.
    for (int depth = 0; is_index_media_type(chosen.media_type); ++depth) {
        if (depth == 4)
            return make_error(ErrorKind::BadInput, where, "indexes nested too deep");
        const std::string label = "index " + chosen.digest.short_id();
        Index nested = TRY(parse_index(TRY(read_blob(files, chosen, label)), label));
        chosen = TRY(select_manifest(nested, "", label));
    }
    if (!is_manifest_media_type(chosen.media_type))
        return make_error(ErrorKind::Unsupported, where,
                          "unsupported media type '" + chosen.media_type + "' for " + chosen.digest.str());
    Manifest manifest = TRY(parse_manifest(TRY(read_blob(files, chosen, "manifest")), "manifest " + chosen.digest.short_id()));
    plan.config_json = TRY(read_blob(files, manifest.config, "config"));
    plan.id = manifest.config.digest;
    plan.config = TRY(parse_config(plan.config_json, "config " + plan.id.short_id()));
    std::vector<LayerRef> layers;
    for (const auto& d : manifest.layers) {
        LayerRef ref;
        ref.file = blob_path(d.digest);
        ref.check.blob = d.digest;
        ref.check.blob_size = d.size;
        if (!files.exists(ref.file))
            return make_error(ErrorKind::NotFound, files.path(), "layer blob " + d.digest.str() + " is missing");
        layers.push_back(std::move(ref));
    }
    TRY(pair_layers(plan, std::move(layers)));
    return plan;
}

// A docker-archive member named by its digest (docker 25+: blobs/sha256/HEX;
// older configs: HEX.json) can be checked against it.
std::optional<Digest> digest_in_name(const std::string& member) {
    std::string name = clean_member_path(member);
    if (name.rfind("blobs/sha256/", 0) == 0 && is_sha256_hex(name.substr(13)))
        return Digest{name.substr(13)};
    if (name.size() == 69 && name.ends_with(".json") && is_sha256_hex(name.substr(0, 64)))
        return Digest{name.substr(0, 64)};
    return std::nullopt;
}

Result<ImagePlan> read_docker(const ImageFiles& files, std::string_view tag) {
    auto images = TRY(parse_docker_manifest(TRY(files.read_small("manifest.json"))));
    DockerImage chosen = TRY(select_docker_image(images, tag, files.path() + ": manifest.json"));
    ImagePlan plan;
    plan.format = "docker-archive";
    plan.names = chosen.repo_tags;
    if (!files.exists(chosen.config_path))
        return make_error(ErrorKind::NotFound, files.path(), "config " + chosen.config_path + " is missing");
    plan.config_json = TRY(files.read_small(chosen.config_path));
    plan.id = sha256_of(plan.config_json);
    if (auto named = digest_in_name(chosen.config_path); named && *named != plan.id)
        return digest_mismatch(*named, plan.id, "config");
    plan.config = TRY(parse_config(plan.config_json, "config " + plan.id.short_id()));
    std::vector<LayerRef> layers;
    for (const auto& path : chosen.layer_paths) {
        if (!files.exists(path))
            return make_error(ErrorKind::NotFound, files.path(), "layer " + path + " is missing");
        LayerRef ref;
        ref.file = path;
        ref.check.blob = digest_in_name(path);
        layers.push_back(std::move(ref));
    }
    TRY(pair_layers(plan, std::move(layers)));
    return plan;
}

}  // namespace

Result<ImagePlan> read_plan(const ImageFiles& files, std::string_view tag) {
    ImagePlan plan;
    if (files.exists("manifest.json"))
        plan = TRY(read_docker(files, tag));
    else if (files.exists("oci-layout"))
        plan = TRY(read_oci(files, tag));
    else
        return make_error(ErrorKind::BadInput, files.path(),
                          "not an image: no oci-layout (OCI image layout) and no manifest.json (docker-archive)");
    TRY(check_platform(plan.config));
    return plan;
}

}  // namespace lightvm::image

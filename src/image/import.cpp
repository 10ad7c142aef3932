#include "image/import.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "image/plan.hpp"
#include "image/tree.hpp"

namespace lightvm::image {

namespace {

bool path_exists(const std::string& p) {
    struct stat st;
    return !p.empty() && ::stat(p.c_str(), &st) == 0;
}

std::string absolute(const std::string& path) {
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

// The names to give: --name (checked), else the image's own valid tags.
Result<std::vector<std::string>> names_for(const ImportRequest& req, const ImagePlan& plan) {
    std::vector<std::string> out;
    for (const auto& n : req.names) {
        TRY(check_image_name(n));
        out.push_back(n);
    }
    if (req.names.empty())
        for (const auto& n : plan.names)
            if (check_image_name(n))
                out.push_back(n);
    return out;
}

Result<void> write_file(const std::string& path, const std::string& text) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid())
        return sys_error("create " + path);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return sys_error("write " + path, errno ? errno : ENOSPC);
    return {};
}

// Every layer, in order, into staged/rootfs.
Result<ApplyStats> unpack(const ImageFiles& files, const ImagePlan& plan, const std::string& rootfs) {
    // 0755 whatever the umask: the guest's "/" (a layer's "./" entry may say otherwise).
    if (::mkdir(rootfs.c_str(), 0755) != 0 || ::chmod(rootfs.c_str(), 0755) != 0)
        return sys_error("mkdir " + rootfs);
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid())
        return sys_error("open " + rootfs);
    LayerApplier applier(root.get(), ::geteuid() == 0);
    for (const auto& layer : plan.layers) {
        auto blob = TRY(files.open_file(layer.file));
        TRY(apply_layer(*blob, layer.check, applier));
    }
    TRY(applier.finish());
    return applier.stats();
}

}  // namespace

std::optional<PathAndTag> split_path_tag(const std::string& arg) {
    if (path_exists(arg))
        return PathAndTag{arg, ""};
    for (size_t colon = arg.find(':'); colon != std::string::npos; colon = arg.find(':', colon + 1))
        if (path_exists(arg.substr(0, colon)))
            return PathAndTag{arg.substr(0, colon), arg.substr(colon + 1)};
    return std::nullopt;
}

Result<ImportResult> import_image(const Store& store, const ImportRequest& req) {
    auto files = TRY(ImageFiles::open(req.path));
    ImagePlan plan = TRY(read_plan(*files, req.tag));
    const std::vector<std::string> names = TRY(names_for(req, plan));
    ImportResult result;
    if (store.get(plan.id)) {
        result.record = TRY(store.add_names(plan.id, names));
        result.cached = true;
        return result;
    }
    store.collect_garbage();
    Scratch staged = TRY(store.scratch("tmp"));
    result.stats = TRY(unpack(*files, plan, staged.path() + "/rootfs"));
    TRY(write_file(staged.path() + "/config.json", plan.config_json));
    UniqueFd root(::open((staged.path() + "/rootfs").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ImageRecord record;
    record.id = plan.id;
    record.names = names;
    record.source = absolute(req.path) + (req.tag.empty() ? "" : ":" + req.tag);
    record.format = plan.format;
    record.created = plan.config.created;
    record.size = TRY(tree_bytes(root.get()));
    record.imported = static_cast<int64_t>(std::time(nullptr));
    record.layers = static_cast<uint32_t>(plan.layers.size());
    result.record = TRY(store.commit(staged, std::move(record)));
    return result;
}

}  // namespace lightvm::image

#include "daemon/images.hpp"

#include <unistd.h>

#include <algorithm>

#include "image/overlay.hpp"
#include "image/root_files.hpp"
#include "image/run_settings.hpp"
#include "image/store.hpp"
#include "loader/program_in_root.hpp"

namespace lightvm::daemon {

namespace {

using namespace lightvm::image;

tl::unexpected<Error> image_error(const Error& e) {
    Error out = e;
    out.where = "image";
    out.message = e.where == "image" ? e.message : e.to_string();
    return tl::unexpected(out);
}

// Entrypoint, Cmd, Env, WorkingDir and User, as `lightvm run --image`
// applies them (cli/image_run.cpp), and the cached root as "/".
Result<void> apply_config(const Store& store, const ImageRecord& record, CreateRequest& request) {
    ImageRequest& image = *request.image;
    VmConfig& c = request.config;
    ImageConfig config = TRY(parse_config(TRY(store.config_json(record.id)), "config " + record.id.short_id()));
    RunSettings settings = TRY(run_settings(config, RunOverrides{image.entrypoint, image.cmd, c.env}));
    if (!image.workdir_given)
        c.cwd = settings.cwd;
    image.id = record.id.hex;
    image.root = store.rootfs(record.id);
    const std::string passwd = read_root_file(image.root, "/etc/passwd");
    if (!image.user_given && !config.user.empty()) {
        ResolvedUser user = TRY(resolve_user(config.user, passwd, read_root_file(image.root, "/etc/group")));
        c.user = VmConfig::User{user.uid, user.gid, user.groups};
    }
    if (std::none_of(settings.env.begin(), settings.env.end(), [](const std::string& e) { return e.rfind("HOME=", 0) == 0; }))
        settings.env.push_back("HOME=" + home_of(c.user.uid, passwd));
    // The monitor puts the writable layer over this root when it starts.
    c.shares.insert(c.shares.begin(), ShareSpec{image.root, "/", true});
    if (image.read_only)
        add_scratch_tmpfs(c);
    c.env = std::move(settings.env);
    c.argv = std::move(settings.argv);
    // Found now, so that a program the image lacks is the create's error;
    // the monitor opens it again inside the VM's own root.
    auto program = find_program_in_root(image.root, c.argv.front(), c.cwd, c.env, kDefaultPath);
    if (!program)
        return make_error(ErrorKind::BadInput, "image", program.error().message + " in the image");
    ::close(program->fd);
    c.app_path = program->guest_path;
    return {};
}

}  // namespace

Result<void> apply_image(const std::string& image_dir, CreateRequest& request) {
    auto store = Store::open(image_dir);
    if (!store)
        return image_error(store.error());
    auto record = store->find(request.image->ref);
    if (!record)
        return image_error(record.error());
    if (auto applied = apply_config(*store, *record, request); !applied)
        return image_error(applied.error());
    request = TRY(validated(std::move(request)));
    return {};
}

Result<void> ImageHolds::acquire(const std::string& image_dir, const std::string& id) {
    std::lock_guard lock(m_mu);
    Held& held = m_held[id];
    if (held.count == 0) {
        auto fd = parse_digest("sha256:" + id, "image").and_then([&](const Digest& digest) {
            return Store::open(image_dir).and_then([&](const Store& s) { return s.hold(digest); });
        });
        if (!fd) {
            m_held.erase(id);
            return tl::unexpected(fd.error());
        }
        held.fd = std::move(*fd);
    }
    held.count++;
    return {};
}

void ImageHolds::release(const std::string& id) {
    std::lock_guard lock(m_mu);
    auto it = m_held.find(id);
    if (it != m_held.end() && --it->second.count == 0)
        m_held.erase(it);
}

}  // namespace lightvm::daemon

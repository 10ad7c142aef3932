#include "daemon/monitor_image.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "image/overlay.hpp"
#include "loader/program_in_root.hpp"

namespace lightvm::daemon {

namespace {

Result<void> make_dirs(const std::string& layer) {
    for (const std::string& dir : {layer, layer + "/upper", layer + "/work"})
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return sys_error("mkdir " + dir);
    return {};
}

// The overlay on the layer directory itself (upper/ and work/ below it stay
// reachable through the mount's own descriptors).
Result<void> mount_layer(const std::string& root, const std::string& layer) {
    TRY(make_dirs(layer));
    TRY(image::enter_private_mounts());
    return image::mount_overlay(root, layer + "/upper", layer + "/work", layer, ::geteuid() != 0);
}

// The image's lock file sits beside its rootfs/ (image/store.hpp).
Result<UniqueFd> hold_image(const std::string& rootfs) {
    const std::string lock = rootfs.substr(0, rootfs.rfind('/')) + "/lock";
    UniqueFd fd(::open(lock.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return make_error(ErrorKind::NotFound, "image", lock + ": " + std::strerror(errno) + " (removed from the cache?)");
    while (::flock(fd.get(), LOCK_SH) != 0)
        if (errno != EINTR)
            return sys_error("flock " + lock);
    return fd;
}

void warn(int fd, const std::string& text) {
    const std::string line = "lightvm: warning: " + text + "\n";
    (void)!::write(fd, line.data(), line.size());
}

}  // namespace

Result<ImageRootFds> prepare_image_root(VmConfig& config, const nlohmann::json& image, int warn_fd) {
    if (!image.is_object() || config.shares.empty() || config.shares.front().guest_path != "/")
        return make_error(ErrorKind::BadInput, "monitor", "malformed image in the workload message");
    const std::string layer = image.value("layer", "");
    ShareSpec& root = config.shares.front();
    ImageRootFds fds;
    fds.hold = TRY(hold_image(root.host_path));
    if (!layer.empty()) {
        if (auto mounted = mount_layer(root.host_path, layer); mounted) {
            root.host_path = layer;
            root.read_only = false;
        } else {
            warn(warn_fd, image::no_overlay_warning(mounted.error()));
            image::add_scratch_tmpfs(config);
            config = TRY(validate(std::move(config)));
        }
    }
    // The daemon found the program in the image at create: open it again
    // inside this VM's root, symlinks resolved there.
    auto program = find_program_in_root(root.host_path, config.app_path, config.cwd, config.env, "");
    if (!program)
        return make_error(program.error().kind, "image", program.error().message + " in the image");
    config.exe_path = program->guest_path;
    config.app_path = "/proc/self/fd/" + std::to_string(program->fd);
    fds.program = UniqueFd(program->fd);
    return fds;
}

}  // namespace lightvm::daemon

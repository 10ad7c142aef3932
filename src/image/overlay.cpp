#include "image/overlay.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>

#include "common/unique_fd.hpp"

namespace lightvm::image {

namespace {

Result<void> write_proc(const char* file, const std::string& text) {
    UniqueFd fd(::open(file, O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return sys_error(std::string("write ") + file);
    return {};
}

}  // namespace

Result<void> enter_private_mounts() {
    const bool root = ::geteuid() == 0;
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(root ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return sys_error(root ? "unshare(CLONE_NEWNS)" : "unshare(CLONE_NEWUSER|CLONE_NEWNS)");
    if (!root) {
        // Ourselves as ourselves: files keep their owners on the host.
        TRY(write_proc("/proc/self/setgroups", "deny"));
        TRY(write_proc("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1"));
        TRY(write_proc("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1"));
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
        return sys_error("mount --make-rslave /");
    return {};
}

Result<void> mount_overlay(const std::string& lower, const std::string& upper, const std::string& work,
                           const std::string& target, bool in_user_namespace) {
    // Through /proc/self/fd: paths holding ',' or ':' need no escaping.
    UniqueFd l(::open(lower.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd u(::open(upper.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd w(::open(work.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!l.valid() || !u.valid() || !w.valid())
        return sys_error("open overlay layers");
    auto fd_path = [](const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); };
    std::string options = "lowerdir=" + fd_path(l) + ",upperdir=" + fd_path(u) + ",workdir=" + fd_path(w);
    if (in_user_namespace)
        options += ",userxattr";
    if (::mount("overlay", target.c_str(), "overlay", MS_NODEV, options.c_str()) != 0)
        return sys_error("mount overlay");
    return {};
}

void add_scratch_tmpfs(VmConfig& config) {
    for (const char* path : {"/tmp", "/run", "/var/tmp"}) {
        auto named = [&](const auto& list) {
            return std::any_of(list.begin(), list.end(), [&](const auto& m) { return m.guest_path == path; });
        };
        if (!named(config.tmpfs) && !named(config.shares))
            config.tmpfs.push_back(TmpfsSpec{path, 0});
    }
}

std::string no_overlay_warning(const Error& why) {
    return "no overlay file system for the image's writable layer (" + why.to_string() +
           "): its root is read-only, /tmp, /run and /var/tmp are tmpfs in guest RAM";
}

}  // namespace lightvm::image

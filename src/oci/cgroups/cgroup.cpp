#include "oci/cgroups/cgroup.hpp"

#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "oci/cgroups/files.hpp"

namespace lightvm::oci::cgroups {

Result<Hierarchy> detect(const std::string& mount) {
    struct statfs fs;
    if (::statfs(mount.c_str(), &fs) != 0)
        return sys_error("cgroups: statfs " + mount);
    if (fs.f_type == CGROUP2_SUPER_MAGIC)
        return Hierarchy{Version::V2, mount};
    if (fs.f_type == TMPFS_MAGIC)
        return Hierarchy{Version::V1, mount};
    return make_error(ErrorKind::Unsupported, "cgroups", mount + " is neither cgroup2 nor a tmpfs of v1 controllers");
}

std::vector<std::string> Cgroup::dirs() const {
    if (m_h.version == Version::V2)
        return {m_h.mount + m_path};
    std::vector<std::string> out;
    for (const auto& root : v1::controller_roots(m_h.mount))
        out.push_back(root + m_path);
    return out;
}

namespace {

// mkdir of each missing level of `root + path`, recorded in `made`;
// `each` runs on every level made (v1 cpuset: inherit; v2: nothing).
template <class Fn>
Result<void> make_levels(const std::string& root, const std::string& path, std::vector<std::string>& made, Fn each) {
    for (size_t i = 1; i <= path.size(); ++i) {
        if (i != path.size() && path[i] != '/')
            continue;
        std::string dir = root + path.substr(0, i);
        if (::mkdir(dir.c_str(), 0755) == 0) {
            made.push_back(dir);
            TRY(each(dir, i == path.size()));
        } else if (errno != EEXIST) {
            return sys_error("cgroups: mkdir " + dir);
        }
    }
    return {};
}

void remove_made(std::vector<std::string>& made) {
    for (auto it = made.rbegin(); it != made.rend(); ++it)
        ::rmdir(it->c_str());
    made.clear();
}

}  // namespace

Result<void> Cgroup::create() {
    auto done = [&]() -> Result<void> {
        if (m_h.version == Version::V2) {
            // v2 wants each level's controllers enabled by its parent before
            // the next level exists: root, then down to the leaf's parent.
            TRY(v2::enable_controllers(m_h.mount));
            return make_levels(m_h.mount, m_path, m_made, [](const std::string& dir, bool leaf) -> Result<void> {
                return leaf ? Result<void>{} : v2::enable_controllers(dir);
            });
        }
        auto roots = v1::controller_roots(m_h.mount);
        if (roots.empty())
            return make_error(ErrorKind::Unsupported, "cgroups", "no v1 controller is mounted under " + m_h.mount);
        for (const auto& root : roots) {
            bool cpuset = root.size() >= 7 && root.compare(root.size() - 7, 7, "/cpuset") == 0;
            TRY(make_levels(root, m_path, m_made, [cpuset](const std::string& dir, bool) -> Result<void> {
                return cpuset ? v1::init_cpuset(dir) : Result<void>{};
            }));
        }
        return {};
    }();
    if (!done)
        remove_made(m_made);
    return done;
}

Result<void> Cgroup::apply(const Resources& host, std::vector<std::string>& warnings) const {
    if (m_h.version == Version::V2)
        return v2::apply(m_h.mount + m_path, host, warnings);
    return v1::apply(m_h.mount, m_path, host, warnings);
}

Result<void> Cgroup::join(int pid) const {
    for (const auto& dir : dirs())
        TRY(write_text(dir + "/cgroup.procs", std::to_string(pid)));
    return {};
}

nlohmann::json Cgroup::stats() const {
    if (m_h.version == Version::V2)
        return v2::stats(m_h.mount + m_path);
    return v1::stats(m_h.mount, m_path);
}

Result<void> Cgroup::remove() const {
    for (const auto& dir : dirs()) {
        // The monitor leaves its cgroup as it exits; a delete right after
        // its SIGKILL can find it still counted for a moment.
        int tries = 0;
        while (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
            if (errno != EBUSY || ++tries > 200)
                return sys_error("cgroups: rmdir " + dir);
            ::usleep(5000);
        }
    }
    return {};
}

}  // namespace lightvm::oci::cgroups

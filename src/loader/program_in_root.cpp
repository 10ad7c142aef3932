#include "loader/program_in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/unique_fd.hpp"
#include "monitor/config.hpp"

namespace lightvm {

namespace {

// ".." and symlinks (absolute ones too) stay below root_fd.
int open_in_root(int root_fd, const std::string& path) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
}

bool regular_executable(int fd) {
    struct stat st;
    return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

std::vector<std::string> candidates(const std::string& name, const std::string& cwd,
                                    const std::vector<std::string>& env, std::string_view default_path) {
    if (name.find('/') != std::string::npos)
        return {name[0] == '/' ? name : cwd + "/" + name};
    std::string path(default_path);
    for (const auto& e : env)
        if (e.rfind("PATH=", 0) == 0)
            path = e.substr(5);
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= path.size()) {
        size_t colon = path.find(':', start);
        std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        if (!dir.empty() && dir[0] == '/')
            out.push_back(dir + "/" + name);
        if (colon == std::string::npos)
            break;
        start = colon + 1;
    }
    return out;
}

}  // namespace

Result<ProgramInRoot> find_program_in_root(const std::string& root, const std::string& name, const std::string& cwd,
                                           const std::vector<std::string>& env, std::string_view default_path) {
    UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd.valid())
        return sys_error("open " + root);
    for (const auto& c : candidates(name, cwd, env, default_path)) {
        int fd = open_in_root(root_fd.get(), c);
        if (fd < 0)
            continue;
        if (regular_executable(fd)) {
            auto guest = normalise_guest_path(c);
            return ProgramInRoot{fd, guest ? *guest : c};
        }
        ::close(fd);
    }
    return make_error(ErrorKind::NotFound, "program",
                      "'" + name + "' not found" + (name.find('/') == std::string::npos ? " (searched PATH)" : ""));
}

}  // namespace lightvm

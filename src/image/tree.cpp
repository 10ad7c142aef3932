#include "image/tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <set>
#include <utility>
#include <vector>

namespace lightvm::image {

int open_in_root(int root_fd, const char* path, int flags) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    for (int attempt = 0;; ++attempt) {
        long fd = ::syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof how);
        if (fd >= 0)
            return static_cast<int>(fd);
        // EAGAIN: a concurrent rename raced a ".." lookup; the kernel asks to retry.
        if (errno == EINTR || (errno == EAGAIN && attempt < 16))
            continue;
        return -errno;
    }
}

Result<UniqueFd> open_dir_in_root(int root_fd, std::string_view rel, bool create) {
    std::string path(rel);
    int fd = open_in_root(root_fd, path.c_str(), O_PATH | O_DIRECTORY);
    if (fd >= 0 || !create || fd != -ENOENT)
        return fd >= 0 ? Result<UniqueFd>(UniqueFd(fd)) : sys_error("open /" + path, -fd);
    size_t slash = path.rfind('/');
    std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    UniqueFd pfd = TRY(open_dir_in_root(root_fd, parent, true));
    if (::mkdirat(pfd.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
        return sys_error("mkdir /" + path);
    fd = open_in_root(root_fd, path.c_str(), O_PATH | O_DIRECTORY);
    if (fd < 0)
        return sys_error("open /" + path, -fd);
    return UniqueFd(fd);
}

Result<std::vector<std::string>> list_dir(int dirfd) {
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
    if (!d) {
        if (fd >= 0)
            ::close(fd);
        return sys_error("opendir");
    }
    std::vector<std::string> names;
    int err = 0;
    for (;;) {
        errno = 0;
        dirent* e = ::readdir(d);
        if (!e) {
            err = errno;
            break;
        }
        if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..")
            names.emplace_back(e->d_name);
    }
    ::closedir(d);
    if (err)
        return sys_error("readdir", err);
    return names;
}

namespace {

UniqueFd open_subdir(int dirfd, const char* name) {
    int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && ::fchmodat(dirfd, name, 0700, 0) == 0)
        fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return UniqueFd(fd);
}

Result<void> remove_contents(int dirfd) {
    for (const auto& n : TRY(list_dir(dirfd)))
        TRY(remove_tree(dirfd, n));
    return {};
}

}  // namespace

namespace {

Result<void> add_bytes(int dirfd, std::set<std::pair<dev_t, ino_t>>& seen, uint64_t& total) {
    for (const auto& n : TRY(list_dir(dirfd))) {
        struct stat st;
        if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            return sys_error("stat " + n);
        if (S_ISDIR(st.st_mode)) {
            UniqueFd sub(::openat(dirfd, n.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub.valid())
                return sys_error("open " + n);
            TRY(add_bytes(sub.get(), seen, total));
        } else if (S_ISLNK(st.st_mode) || (S_ISREG(st.st_mode) && (st.st_nlink == 1 || seen.insert({st.st_dev, st.st_ino}).second))) {
            total += static_cast<uint64_t>(st.st_size);
        }
    }
    return {};
}

}  // namespace

Result<uint64_t> tree_bytes(int dirfd) {
    std::set<std::pair<dev_t, ino_t>> seen;
    uint64_t total = 0;
    TRY(add_bytes(dirfd, seen, total));
    return total;
}

Result<void> remove_tree(int dirfd, const std::string& name) {
    if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT)
        return {};
    if (errno != EISDIR && errno != EPERM)
        return sys_error("unlink " + name);
    UniqueFd sub = open_subdir(dirfd, name.c_str());
    if (!sub.valid())
        return errno == ENOENT ? Result<void>() : sys_error("open " + name);
    TRY(remove_contents(sub.get()));
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        return sys_error("rmdir " + name);
    return {};
}

Result<void> remove_tree(const std::string& path) {
    size_t slash = path.rfind('/');
    std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    UniqueFd dir(::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid())
        return errno == ENOENT ? Result<void>() : sys_error("open " + parent);
    return remove_tree(dir.get(), path.substr(slash + 1));
}

}  // namespace lightvm::image

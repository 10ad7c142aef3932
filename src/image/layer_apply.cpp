#include "image/layer_apply.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.hpp"
#include "image/paths.hpp"
#include "image/tree.hpp"

namespace lightvm::image {

namespace {

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

std::string join(const std::string& parent, const std::string& name) {
    return parent.empty() ? name : parent + "/" + name;
}

void split(const std::string& path, std::string& parent, std::string& name) {
    size_t slash = path.rfind('/');
    parent = slash == std::string::npos ? "" : path.substr(0, slash);
    name = slash == std::string::npos ? path : path.substr(slash + 1);
}

timespec entry_mtime(archive_entry* e) {
    return timespec{static_cast<time_t>(archive_entry_mtime(e)), archive_entry_mtime_nsec(e)};
}

Result<void> write_all(int fd, const char* data, size_t size, int64_t offset, const std::string& path) {
    while (size) {
        ssize_t n = ::pwrite(fd, data, size, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return sys_error("write /" + path, n < 0 ? errno : ENOSPC);
        data += n;
        size -= static_cast<size_t>(n);
        offset += n;
    }
    return {};
}

}  // namespace

bool clean_entry_path(std::string_view in, std::string& out) { return normalise_path(in, false, out); }

Result<void> LayerApplier::apply(archive* a, archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    std::string path, parent, name;
    if (!raw || !clean_entry_path(raw, path))
        return make_error(ErrorKind::BadInput, "layer", "entry '" + std::string(raw ? raw : "") + "' leaves the root");
    ++m_stats.entries;
    if (path.empty()) {  // "./": the root directory's own metadata
        if (archive_entry_filetype(e) == AE_IFDIR)
            m_dirs[""] = DirMeta{archive_entry_perm(e), static_cast<uint32_t>(archive_entry_uid(e)),
                                 static_cast<uint32_t>(archive_entry_gid(e)), entry_mtime(e)};
        return {};
    }
    split(path, parent, name);
    if (name == kOpaque)
        return opaque(parent);
    if (name.rfind(kWhiteout, 0) == 0)
        // ".wh..wh.*" other than the opaque marker is AUFS bookkeeping: ignored.
        return name.rfind(".wh..wh.", 0) == 0 ? Result<void>() : whiteout(parent, name.substr(kWhiteout.size()));
    UniqueFd pfd = TRY(open_dir_in_root(m_root, parent, true));
    m_added.insert(path);
    return make(a, e, pfd.get(), path, name);
}

Result<void> LayerApplier::whiteout(const std::string& parent, const std::string& name) {
    const std::string target = join(parent, name);
    if (m_added.count(target))
        return {};  // added by this same layer: only a later layer may hide it
    auto pfd = open_dir_in_root(m_root, parent, false);
    if (!pfd)
        return pfd.error().code == ENOENT || pfd.error().code == ENOTDIR ? Result<void>() : tl::unexpected(pfd.error());
    TRY(remove_tree(pfd->get(), name));
    forget_dirs_below(target);
    return {};
}

Result<void> LayerApplier::opaque(const std::string& dir) {
    auto fd = open_dir_in_root(m_root, dir, false);
    if (!fd)
        return fd.error().code == ENOENT || fd.error().code == ENOTDIR ? Result<void>() : tl::unexpected(fd.error());
    return clear_lower(fd->get(), dir);
}

// Removes what the layers below put in `path`, keeping this layer's entries
// (and clearing the lower contents of directories this layer re-declared).
Result<void> LayerApplier::clear_lower(int dirfd, const std::string& path) {
    for (const auto& child : TRY(list_dir(dirfd))) {
        const std::string p = join(path, child);
        struct stat st;
        if (!m_added.count(p)) {
            TRY(remove_tree(dirfd, child));
            forget_dirs_below(p);
        } else if (::fstatat(dirfd, child.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            UniqueFd sub(::openat(dirfd, child.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub.valid())
                return sys_error("open /" + p);
            TRY(clear_lower(sub.get(), p));
        }
    }
    return {};
}

Result<void> LayerApplier::make(archive* a, archive_entry* e, int pfd, const std::string& path, const std::string& name) {
    const mode_t type = archive_entry_filetype(e);
    const bool is_link = archive_entry_hardlink(e) != nullptr;
    struct stat st;
    bool exists = ::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (type == AE_IFDIR && !is_link) {
        if (exists && !S_ISDIR(st.st_mode)) {
            TRY(remove_tree(pfd, name));
            exists = false;
        }
        if (!exists && ::mkdirat(pfd, name.c_str(), 0755) != 0)
            return sys_error("mkdir /" + path);
        m_dirs[path] = DirMeta{archive_entry_perm(e), static_cast<uint32_t>(archive_entry_uid(e)),
                               static_cast<uint32_t>(archive_entry_gid(e)), entry_mtime(e)};
        return {};
    }
    std::string target;
    if (is_link && !clean_entry_path(archive_entry_hardlink(e), target))
        return make_error(ErrorKind::BadInput, "layer", "hard link /" + path + " leaves the root");
    if (is_link && target == path)
        return {};
    if (exists) {
        TRY(remove_tree(pfd, name));
        forget_dirs_below(path);
    }
    if (is_link)
        return hard_link(e, pfd, path, name);
    const uid_t uid = static_cast<uid_t>(archive_entry_uid(e));
    const gid_t gid = static_cast<gid_t>(archive_entry_gid(e));
    const timespec times[2] = {entry_mtime(e), entry_mtime(e)};
    switch (type) {
    case AE_IFREG:
        return write_file(a, e, pfd, path, name);
    case AE_IFLNK:
        if (::symlinkat(archive_entry_symlink(e) ? archive_entry_symlink(e) : "", pfd, name.c_str()) != 0)
            return sys_error("symlink /" + path);
        break;
    case AE_IFIFO:
        if (::mkfifoat(pfd, name.c_str(), 0600) != 0 || ::fchmodat(pfd, name.c_str(), archive_entry_perm(e), 0) != 0)
            return sys_error("mkfifo /" + path);
        break;
    case AE_IFCHR:
    case AE_IFBLK:
        if (m_stats.devices_skipped++ == 0)
            m_stats.first_device = "/" + path;
        return {};
    default:
        return {};  // sockets cannot be in a tar; anything else is not a file
    }
    if (m_chown && ::fchownat(pfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
        return sys_error("chown /" + path);
    if (::utimensat(pfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        return sys_error("utimes /" + path);
    return {};
}

Result<void> LayerApplier::write_file(archive* a, archive_entry* e, int pfd, const std::string& path,
                                      const std::string& name) {
    UniqueFd fd(::openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid())
        return sys_error("create /" + path);
    for (;;) {
        const void* buf = nullptr;
        size_t size = 0;
        la_int64_t offset = 0;
        int rc = archive_read_data_block(a, &buf, &size, &offset);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc < ARCHIVE_WARN) {
            const char* why = archive_error_string(a);
            return make_error(ErrorKind::BadInput, "layer", "/" + path + ": " + (why ? why : "read error"));
        }
        TRY(write_all(fd.get(), static_cast<const char*>(buf), size, offset, path));
    }
    // A sparse file's tail hole, if any.
    if (::ftruncate(fd.get(), archive_entry_size(e)) != 0)
        return sys_error("truncate /" + path);
    if (m_chown && ::fchown(fd.get(), static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e))) != 0)
        return sys_error("chown /" + path);
    // After chown, which clears set-user-ID and set-group-ID bits.
    if (::fchmod(fd.get(), archive_entry_perm(e)) != 0)
        return sys_error("chmod /" + path);
    const timespec times[2] = {entry_mtime(e), entry_mtime(e)};
    if (::futimens(fd.get(), times) != 0)
        return sys_error("utimes /" + path);
    return {};
}

Result<void> LayerApplier::hard_link(archive_entry* e, int pfd, const std::string& path, const std::string& name) {
    std::string target, tparent, tname;
    clean_entry_path(archive_entry_hardlink(e), target);
    split(target, tparent, tname);
    UniqueFd tfd = TRY(open_dir_in_root(m_root, tparent, false));
    // Flags 0: a symlink target is linked itself, never followed.
    if (::linkat(tfd.get(), tname.c_str(), pfd, name.c_str(), 0) != 0)
        return sys_error("link /" + path + " to /" + target);
    return {};
}

void LayerApplier::forget_dirs_below(const std::string& path) {
    m_dirs.erase(path);
    const std::string below = path + "/";
    auto it = m_dirs.lower_bound(below);
    while (it != m_dirs.end() && it->first.compare(0, below.size(), below) == 0)
        it = m_dirs.erase(it);
}

Result<void> LayerApplier::finish() {
    for (const auto& [path, meta] : m_dirs) {
        std::string parent, name;
        split(path, parent, name);
        UniqueFd fd;
        if (path.empty()) {
            fd = UniqueFd(::openat(m_root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        } else {
            auto pfd = open_dir_in_root(m_root, parent, false);
            if (!pfd)
                continue;  // replaced by a later layer
            fd = UniqueFd(::openat(pfd->get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        }
        if (!fd.valid())
            continue;
        if (m_chown && ::fchown(fd.get(), meta.uid, meta.gid) != 0)
            return sys_error("chown /" + path);
        const timespec times[2] = {meta.mtime, meta.mtime};
        if (::fchmod(fd.get(), meta.mode) != 0 || ::futimens(fd.get(), times) != 0)
            return sys_error("chmod /" + path);
    }
    return {};
}

}  // namespace lightvm::image

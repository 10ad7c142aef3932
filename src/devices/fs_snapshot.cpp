// The fs device's part of a snapshot: host fds cannot be saved, so an open
// handle is saved as (share, path below the share's root, flags, offset,
// identity) and reopened at restore below the same share, with the same
// RESOLVE_IN_ROOT rules as any guest open. A file that was deleted, replaced
// or modified since is refused: the guest's cached idea of it (size, data
// in its page cache) would be wrong.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include "devices/fs.hpp"
#include "devices/fs_host.hpp"
#include "snapshot/format.hpp"

namespace lightvm {

using fs_detail::host_openat2;

namespace {

// Flags that describe how the file was opened and can be given to open again.
constexpr uint32_t kKeptFlags = O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH | O_DSYNC | O_SYNC | O_NOATIME;

Result<std::string> fd_path(int fd) {
    char link[64], buf[PATH_MAX];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = ::readlink(link, buf, sizeof buf - 1);
    if (n < 0)
        return sys_error("readlink " + std::string(link));
    return std::string(buf, static_cast<size_t>(n));
}

snapshot::FileIdentity identity(const struct stat& st) {
    return {uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size),
            int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

}  // namespace

Result<std::vector<snapshot::HandleState>> FsDevice::save_handles() const {
    std::vector<std::string> roots;
    for (const auto& r : m_roots)
        roots.push_back(TRY(fd_path(r.get())));
    std::vector<snapshot::HandleState> out;
    for (size_t i = 0; i < m_handles.size(); ++i) {
        const Handle& h = m_handles[i];
        if (!h.fd.valid())
            continue;
        snapshot::HandleState s;
        s.index = static_cast<uint32_t>(i);
        s.share = h.share;
        s.read_only = h.read_only;
        std::string path = TRY(fd_path(h.fd.get()));
        const std::string& root = roots[h.share];
        struct stat st;
        if (::fstat(h.fd.get(), &st) < 0)
            return sys_error("fstat " + path);
        if (st.st_nlink == 0 && !S_ISDIR(st.st_mode))
            return make_error(ErrorKind::Unsupported, "snapshot", "open file " + path + " was deleted (it cannot be reopened at restore)");
        if (path == root)
            s.path = "";
        else if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                 (root == "/" || path[root.size()] == '/'))
            s.path = path.substr(root == "/" ? 1 : root.size() + 1);
        else
            return make_error(ErrorKind::Unsupported, "snapshot", "open file " + path + " is no longer below its share " + root);
        int fl = ::fcntl(h.fd.get(), F_GETFL);
        if (fl < 0)
            return sys_error("fcntl " + path);
        s.flags = static_cast<uint32_t>(fl) & kKeptFlags;
        if (S_ISDIR(st.st_mode))
            s.flags |= O_DIRECTORY;
        if (S_ISLNK(st.st_mode))
            s.flags |= O_NOFOLLOW;
        s.offset = (fl & O_PATH) ? 0 : ::lseek(h.fd.get(), 0, SEEK_CUR);
        if (s.offset < 0)
            s.offset = 0;  // not seekable: nothing to restore
        s.id = identity(st);
        out.push_back(std::move(s));
    }
    return out;
}

Result<void> FsDevice::restore_handles(const std::vector<snapshot::HandleState>& handles) {
    for (const auto& s : handles) {
        if (s.share >= m_roots.size() || s.index >= kMaxHandles)
            return make_error(ErrorKind::BadInput, "snapshot", "open file in an unknown share");
        const std::string shown = m_shares[s.share].host_path + (s.path.empty() ? "" : "/" + s.path);
        const uint32_t flags = (s.flags & (kKeptFlags | O_DIRECTORY | O_NOFOLLOW));
        Base b;
        (void)share_base(s.share, b);
        int fd = open_below(b, s.path, flags, 0);
        if (fd < 0)
            return make_error(ErrorKind::BadInput, "snapshot",
                              "open file " + shown + " cannot be reopened: " + std::strerror(-fd));
        UniqueFd owned(fd);
        struct stat st;
        if (::fstat(fd, &st) < 0)
            return sys_error("fstat " + shown);
        snapshot::FileIdentity now = identity(st);
        // A directory's size and mtime change with its entries, which the
        // guest re-reads anyway: only its identity must match.
        bool same = S_ISDIR(st.st_mode) ? (now.dev == s.id.dev && now.ino == s.id.ino) : now == s.id;
        if (!same)
            return make_error(ErrorKind::BadInput, "snapshot",
                              "open file " + shown + " changed since the snapshot was taken");
        if (!(flags & O_PATH) && s.offset > 0 && ::lseek(fd, s.offset, SEEK_SET) < 0)
            return sys_error("lseek " + shown);
        if (s.index >= m_handles.size())
            m_handles.resize(s.index + 1);
        if (m_handles[s.index].fd.valid())
            return make_error(ErrorKind::BadInput, "snapshot", "two open files with one handle number");
        m_handles[s.index] = Handle{std::move(owned), s.share, s.read_only};
        ++m_open_handles;
    }
    return {};
}

}  // namespace lightvm

// File-system shares: the device, its handles and confined path resolution
// (data operations: fs_data.cpp; metadata and names: fs_names.cpp).
#include "devices/fs.hpp"

#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <vector>

#include "devices/fs_host.hpp"
#include "devices/fs_owner.hpp"

namespace lightvm {

using namespace fs_detail;

Result<FsDevice> FsDevice::create(std::vector<FsShare> shares) {
    if (shares.size() > abi::kMaxMounts)
        return make_error(ErrorKind::BadInput, "--fs",
                          "too many shares (" + std::to_string(shares.size()) + ", at most " +
                              std::to_string(abi::kMaxMounts) + ")");
    FsDevice dev;
    for (FsShare& share : shares) {
        std::string where = "--fs " + share.host_path;
        // FsMount.guest_path holds it with its NUL.
        if (share.guest_path.size() >= sizeof(abi::FsMount::guest_path))
            return make_error(ErrorKind::BadInput, where, "guest path '" + share.guest_path + "' is too long");
        // A symlink at host_path is followed once, here, as `mount --bind`
        // does; what it named then is the share from now on.
        UniqueFd fd(::open(share.host_path.c_str(), O_PATH | O_CLOEXEC));
        struct stat st{};
        if (!fd.valid() || ::fstat(fd.get(), &st) != 0)
            return sys_error(where);
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
            return make_error(ErrorKind::BadInput, where, "not a directory or regular file");
        share.file = S_ISREG(st.st_mode);
        if (share.file && share.guest_path == "/")
            return make_error(ErrorKind::BadInput, where, "not a directory (the guest's / must be one)");
        // A mapped share keeps owners in user.* attributes: a writable one
        // on a file system without them is refused now, not at each chown.
        if (share.mapped && !share.read_only &&
            ::getxattr(proc_fd_path(fd.get()).c_str(), fs_owner::kAttr, nullptr, 0) < 0 && errno == EOPNOTSUPP)
            return make_error(ErrorKind::BadInput, where,
                              "mapped ownership needs user.* extended attributes, which this file system lacks");
        dev.m_roots.push_back(std::move(fd));
    }
    dev.m_shares = std::move(shares);
    return dev;
}

Result<void> FsDevice::hypercall(GuestMemory& mem, uint64_t arg_gpa) {
    auto hc = TRY(mem.read<abi::HcFs>(arg_gpa));
    ++m_operations;
    hc.aux = 0;
    if ((hc.options & abi::kFsOptRedirect) && TRY(maybe_redirect(mem, hc)))
        return write_result(mem, arg_gpa, -abi::kFsRedirect, hc.aux);
    int64_t result = TRY(dispatch(mem, hc));
    return write_result(mem, arg_gpa, result, hc.aux);
}

// kFsOptStat: an open also returns the file's stat (abi.h), so the guest's
// page cache can check a file's version at no extra exit.
Result<int64_t> FsDevice::with_stat(GuestMemory& mem, const abi::HcFs& hc, Result<int64_t> opened) {
    if (!opened || *opened < 0 || !(hc.options & abi::kFsOptStat))
        return opened;
    Handle* h = handle(static_cast<uint32_t>(*opened));
    struct stat st{};
    if (!h || ::fstat(h->fd.get(), &st) < 0)
        return opened;  // the guest sees no stat: st_mode 0 caches nothing
    guest_view(h->share, h->fd.get(), nullptr, st);
    auto out = mem.span(hc.buf, sizeof st);
    if (!out || hc.len < sizeof st) {
        abi::HcFs close{};
        close.handle = static_cast<uint32_t>(*opened);
        (void)op_close(close);
        return make_error(ErrorKind::GuestFault, "fs", "open: stat buffer outside guest memory");
    }
    std::memcpy(out->data(), &st, sizeof st);
    return opened;
}

Result<int64_t> FsDevice::dispatch(GuestMemory& mem, abi::HcFs& hc) {
    m_requests[hc.op % m_requests.size()]++;
    switch (hc.op) {
    case abi::kFsOpen: return with_stat(mem, hc, op_open(mem, hc));
    case abi::kFsClose: return op_close(hc);
    case abi::kFsRead: return op_read(mem, hc);
    case abi::kFsWrite: return op_write(mem, hc);
    case abi::kFsSendfile: return op_sendfile(hc);
    case abi::kFsGetdentsPlus: return op_getdents_plus(mem, hc);
    case abi::kFsListTree: return op_list_tree(mem, hc);
    case abi::kFsCloseMany: return op_close_many(mem, hc);
    case abi::kFsBatch: return op_batch(mem, hc);
    case abi::kFsRealpath: return op_realpath(mem, hc);
    case abi::kFsStat: return op_stat(mem, hc);
    case abi::kFsFstat: return op_fstat(mem, hc);
    case abi::kFsGetdents: return op_getdents(mem, hc);
    case abi::kFsMkdir: return op_mkdir(mem, hc);
    case abi::kFsUnlink: return op_unlink(mem, hc);
    case abi::kFsRename: return op_rename(mem, hc);
    case abi::kFsReadlink: return op_readlink(mem, hc);
    case abi::kFsSymlink: return op_symlink(mem, hc);
    case abi::kFsLink: return op_link(mem, hc);
    case abi::kFsTruncate: return op_truncate(hc);
    case abi::kFsFsync: return op_fsync(hc);
    case abi::kFsUtimens: return op_utimens(mem, hc);
    case abi::kFsChmod: return op_chmod(mem, hc);
    case abi::kFsAccess: return op_access(mem, hc);
    case abi::kFsSeek: return op_seek(hc);
    case abi::kFsStatfs: return op_statfs(mem, hc);
    case abi::kFsChown: return op_chown(mem, hc);
    case abi::kFsFallocate: return op_fallocate(hc);
    case abi::kFsMknod: return op_mknod(mem, hc);
    case abi::kFsReopen: return with_stat(mem, hc, op_reopen(hc));
    case abi::kFsXattr: return op_xattr(mem, hc);
    case abi::kFsLock: return op_lock(mem, hc);
    }
    return make_error(ErrorKind::GuestFault, "fs", "unknown operation " + std::to_string(hc.op));
}

// ---------------------------------------------------------------------------
// Handles, bases and path resolution
// ---------------------------------------------------------------------------

FsDevice::Handle* FsDevice::handle(uint32_t index) {
    if (index >= m_handles.size() || !m_handles[index].fd.valid())
        return nullptr;
    return &m_handles[index];
}

int64_t FsDevice::share_base(uint32_t share, Base& out) {
    if (share >= m_roots.size())
        return -EINVAL;
    out = Base{m_roots[share].get(), share, m_shares[share].read_only, false, m_shares[share].file};
    return 0;
}

// A request's path is relative to its share root, or to a directory handle.
int64_t FsDevice::base(const abi::HcFs& hc, Base& out) {
    if (hc.handle == abi::kNoHandle)
        return share_base(hc.share, out);
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    out = Base{h->fd.get(), h->share, h->read_only, true};
    return 0;
}

// Copy a guest path out. Bad ranges fault the guest; bad contents are errnos.
Result<int64_t> FsDevice::read_path(GuestMemory& mem, uint64_t gpa, uint64_t len, std::string& out) {
    if (len > abi::kMaxPath)
        return -ENAMETOOLONG;
    auto bytes = TRY(mem.span(gpa, len));
    if (std::memchr(bytes.data(), 0, bytes.size()))
        return -EINVAL;
    out.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return 0;
}

// Open `path` below the base. Share roots act as "/" (RESOLVE_IN_ROOT: `..`
// and absolute symlinks stay inside). A directory handle is not a root: a
// path that would leave it fails with EXDEV (RESOLVE_BENEATH) rather than
// silently naming something else. Magic links (/proc/self/fd/N, ...) never
// resolve. The empty path is the base itself.
uint64_t FsDevice::resolve_flags(const Base& b) {
    return RESOLVE_NO_MAGICLINKS | (b.is_handle ? RESOLVE_BENEATH : RESOLVE_IN_ROOT);
}

int FsDevice::open_below(const Base& b, const std::string& path, uint64_t flags, uint64_t mode) {
    if (!b.file_root)
        return host_openat2(b.fd, path.empty() ? "." : path.c_str(), flags, mode, resolve_flags(b));
    // A single-file share: nothing is below a file. The root is reopened
    // through its own fd (a new open file description, as Linux's open of a
    // bind-mounted file), never by its host name: a file swapped in at that
    // name, or a sibling, is not reachable. O_NOFOLLOW would refuse the
    // /proc link itself; the file it names is no symlink.
    if (!path.empty())
        return -ENOTDIR;
    int fd = (flags & O_PATH) ? ::fcntl(b.fd, F_DUPFD_CLOEXEC, 0)
                              : ::open(proc_fd_path(b.fd).c_str(), static_cast<int>((flags & ~O_NOFOLLOW) | O_CLOEXEC),
                                       static_cast<mode_t>(mode));
    return fd < 0 ? -errno : fd;
}

int64_t FsDevice::resolve(const Base& b, const std::string& path, uint64_t flags, Target& out) {
    int fd = open_below(b, path, flags, 0);
    if (fd < 0)
        return fd;
    out.owned = UniqueFd(fd);
    out.fd = fd;
    return 0;
}

// Split "a/b/c//" into parent "a/b" (opened, confined) and name "c"; the
// caller checks the name for "", "." and ".." before anything is opened.
int64_t FsDevice::split_name(const Base& b, const std::string& path, Named& out) {
    out.path = path;
    size_t end = path.find_last_not_of('/');
    if (end == std::string::npos) {  // "" or "/": the base itself has no name here
        out.name.clear();
        out.trailing_slash = !path.empty();
        return 0;
    }
    out.trailing_slash = end + 1 < path.size();
    size_t slash = path.rfind('/', end);
    size_t start = slash == std::string::npos ? 0 : slash + 1;
    out.name = path.substr(start, end + 1 - start);
    if (is_special(out.name))
        return 0;
    if (slash == std::string::npos) {
        out.parent.fd = b.fd;
        return 0;
    }
    std::string parent = path.substr(0, slash + 1);  // keeps "/" for a path like "/x"
    return resolve(b, parent, O_PATH | O_DIRECTORY, out.parent);
}

// Path (or handle with an empty path) to an fd, following a final symlink
// inside the share unless !follow.
Result<int64_t> FsDevice::resolve_request(GuestMemory& mem, const abi::HcFs& hc, bool follow, Base& b,
                                          Target& out) {
    std::string path;
    if (int64_t r = TRY(read_path(mem, hc.path, hc.path_len, path)); r < 0)
        return r;
    if (int64_t r = base(hc, b); r < 0)
        return r;
    if (path.empty()) {
        out.fd = b.fd;
        return 0;
    }
    return resolve(b, path, O_PATH | (follow ? 0 : O_NOFOLLOW), out);
}

// Path to (parent fd, last component) for operations on a name.
Result<int64_t> FsDevice::name_request(GuestMemory& mem, const abi::HcFs& hc, Base& b, Named& out) {
    std::string path;
    if (int64_t r = TRY(read_path(mem, hc.path, hc.path_len, path)); r < 0)
        return r;
    if (int64_t r = base(hc, b); r < 0)
        return r;
    return split_name(b, path, out);
}

int64_t FsDevice::allocate(UniqueFd fd, const Base& b) {
    size_t slot = 0;
    while (slot < m_handles.size() && m_handles[slot].fd.valid())
        ++slot;
    if (slot == m_handles.size()) {
        if (slot >= kMaxHandles)
            return -EMFILE;
        m_handles.emplace_back();
    }
    m_handles[slot] = Handle{std::move(fd), b.share, b.read_only};
    ++m_open_handles;
    return static_cast<int64_t>(slot);
}


bool FsDevice::absolute_link_redirect(int root, const std::string& path, bool follow_last, std::string& rewritten) {
    // Fast path: no symlink anywhere on the way (one syscall).
    int fast = host_openat2(root, path.empty() ? "." : path.c_str(), O_PATH | (follow_last ? 0 : O_NOFOLLOW), 0,
                            RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
    if (fast >= 0) {
        ::close(fast);
        return false;
    }
    if (fast != -ELOOP)
        return false;  // let the real request report the error
    // Walk component by component with fds pinned below the root, as
    // RESOLVE_IN_ROOT would (`..` stops at the root), looking at links.
    std::vector<UniqueFd> dirs;
    dirs.emplace_back(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    if (!dirs.back().valid())
        return false;
    std::vector<std::string> comps;  // reversed: next component at the back
    auto push_path = [&comps](const std::string& p) {
        std::vector<std::string> parts;
        size_t i = 0;
        while (i <= p.size()) {
            size_t j = p.find('/', i);
            if (j == std::string::npos)
                j = p.size();
            parts.push_back(p.substr(i, j - i));
            i = j + 1;
        }
        for (auto it = parts.rbegin(); it != parts.rend(); ++it)
            comps.push_back(*it);
    };
    push_path(path);
    for (int hops = 0; !comps.empty();) {
        std::string c = comps.back();
        comps.pop_back();
        if (c.empty() || c == ".")
            continue;
        if (c == "..") {
            if (dirs.size() > 1)
                dirs.pop_back();
            continue;
        }
        bool last = true;
        for (const auto& rest : comps)
            if (!rest.empty() && rest != ".")
                last = false;
        struct stat st;
        if (::fstatat(dirs.back().get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            return false;
        if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
            if (++hops > 40)
                return false;
            char buf[abi::kMaxPath];
            ssize_t n = ::readlinkat(dirs.back().get(), c.c_str(), buf, sizeof buf);
            if (n <= 0 || static_cast<size_t>(n) >= sizeof buf)
                return false;
            std::string target(buf, static_cast<size_t>(n));
            if (target[0] == '/') {
                rewritten = target;
                for (auto it = comps.rbegin(); it != comps.rend(); ++it)
                    rewritten += "/" + *it;
                return rewritten.size() < abi::kMaxPath;
            }
            push_path(target);
            continue;
        }
        if (last || !S_ISDIR(st.st_mode))
            return false;
        int d = ::openat(dirs.back().get(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
            return false;
        dirs.emplace_back(d);
        if (dirs.size() > 256)
            return false;
    }
    return false;
}

Result<bool> FsDevice::maybe_redirect(GuestMemory& mem, abi::HcFs& hc) {
    bool follow_last;
    switch (hc.op) {
    case abi::kFsOpen:
        follow_last = !(hc.flags & O_NOFOLLOW);
        break;
    case abi::kFsStat:
    case abi::kFsUtimens:
        follow_last = !(hc.flags & AT_SYMLINK_NOFOLLOW);
        break;
    case abi::kFsAccess:
    case abi::kFsChmod:
    case abi::kFsStatfs:
    case abi::kFsRealpath:
        follow_last = true;
        break;
    case abi::kFsXattr:
        follow_last = !(hc.flags & abi::kXattrNoFollow);
        break;
    case abi::kFsMkdir:
    case abi::kFsUnlink:
    case abi::kFsReadlink:
        follow_last = false;
        break;
    default:
        return false;  // path2 is in use (or no path): no redirects
    }
    if (hc.handle != abi::kNoHandle || hc.path_len == 0 || hc.share >= m_roots.size())
        return false;
    std::string path;
    if (TRY(read_path(mem, hc.path, hc.path_len, path)) < 0)
        return false;
    std::string rewritten;
    if (!absolute_link_redirect(m_roots[hc.share].get(), path, follow_last, rewritten))
        return false;
    auto out = TRY(mem.span(hc.path2, hc.path2_len));
    if (rewritten.size() > out.size())
        return false;
    std::memcpy(out.data(), rewritten.data(), rewritten.size());
    hc.aux = rewritten.size();
    return true;
}

// Where a path really is (for the guest's getcwd after `cd link/..`): the
// confined O_PATH fd's /proc path, minus the share root's own.
Result<int64_t> FsDevice::op_realpath(GuestMemory& mem, const abi::HcFs& hc) {
    auto out = TRY(mem.span(hc.buf, hc.len));
    std::string path;
    if (int64_t r = TRY(read_path(mem, hc.path, hc.path_len, path)); r < 0)
        return r;
    Base b;
    if (int64_t r = share_base(hc.share, b); r < 0)
        return r;
    Target t;
    if (int64_t r = resolve(b, path, O_PATH | O_DIRECTORY, t); r < 0)
        return r;
    auto proc_path = [](int fd) {
        char link[64], buf[4096];
        std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = ::readlink(link, buf, sizeof buf);
        return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
    };
    std::string root = proc_path(b.fd), full = proc_path(t.fd);
    if (root.empty() || full.compare(0, root.size(), root) != 0)
        return -ENOENT;
    std::string rel = full.substr(root.size());
    while (!rel.empty() && rel[0] == '/')
        rel.erase(0, 1);
    if (rel.size() > out.size())
        return -ENAMETOOLONG;
    std::memcpy(out.data(), rel.data(), rel.size());
    return static_cast<int64_t>(rel.size());
}


}  // namespace lightvm

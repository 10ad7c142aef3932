#include "devices/fs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "lightvm/abi.h"

namespace lightvm {

namespace {

// The guest's struct stat / struct statfs are the host's (both x86-64 Linux).
static_assert(sizeof(struct stat) == 144);
static_assert(sizeof(struct statfs) == 120);
static_assert(sizeof(timespec) == 16);

// Linux O_* values as the guest sends them. glibc defines O_LARGEFILE as 0
// on x86-64, but musl passes the kernel's bit, so name it here.
constexpr uint32_t kLinuxOLargefile = 0100000;
constexpr uint32_t kOpenAllowed = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY |
                                  O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | kLinuxOLargefile | O_NOATIME |
                                  O_SYNC | O_DSYNC | O_NOCTTY;
// The guest's flags that reach the host open; the monitor adds its own.
constexpr uint32_t kOpenPassed = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY |
                                 O_NOFOLLOW | O_NOATIME | O_SYNC | O_DSYNC;
constexpr uint32_t kFdatasync = 1;  // kFsFsync flag

#ifndef SYS_fchmodat2
constexpr long kSysFchmodat2 = 452;  // Linux 6.6; older headers lack the name
#else
constexpr long kSysFchmodat2 = SYS_fchmodat2;
#endif

int64_t neg_errno() { return -static_cast<int64_t>(errno); }

// Permission bits the guest may set on the host: no set-user-ID anywhere,
// and set-group-ID only on directories (where it just means "inherit the
// group"). Files in a share must never become privileged executables.
mode_t host_mode(uint32_t mode, bool directory) {
    mode_t allowed = 07777 & ~S_ISUID;
    if (!directory)
        allowed &= ~S_ISGID;
    return static_cast<mode_t>(mode) & allowed;
}

// openat2 with the usual retries: EAGAIN is how RESOLVE_IN_ROOT reports a
// concurrent rename it could not prove harmless. -errno on failure.
int host_openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    open_how how{};
    how.flags = flags | O_CLOEXEC;
    how.mode = mode;
    how.resolve = resolve;
    for (int attempt = 0;; ++attempt) {
        long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0)
            return static_cast<int>(fd);
        if (errno == EINTR || (errno == EAGAIN && attempt < 16))
            continue;
        return -errno;
    }
}

bool is_special(const std::string& name) { return name.empty() || name == "." || name == ".."; }

// /proc/self/fd/N: a fallback to act on an O_PATH fd with calls that only
// take a path (kernels without fchmodat2).
std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Result<void> write_result(GuestMemory& mem, uint64_t arg_gpa, int64_t result, uint64_t aux) {
    TRY(mem.write(arg_gpa + offsetof(abi::HcFs, result), result));
    return mem.write(arg_gpa + offsetof(abi::HcFs, aux), aux);
}

}  // namespace

Result<FsDevice> FsDevice::create(std::vector<FsShare> shares) {
    if (shares.size() > abi::kMaxMounts)
        return make_error(ErrorKind::BadInput, "--fs",
                          "too many shares (" + std::to_string(shares.size()) + ", at most " +
                              std::to_string(abi::kMaxMounts) + ")");
    FsDevice dev;
    for (const FsShare& share : shares) {
        std::string where = "--fs " + share.host_path;
        // FsMount.guest_path holds it with its NUL.
        if (share.guest_path.size() >= sizeof(abi::FsMount::guest_path))
            return make_error(ErrorKind::BadInput, where, "guest path '" + share.guest_path + "' is too long");
        UniqueFd fd(::open(share.host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!fd.valid()) {
            if (errno == ENOTDIR)
                return make_error(ErrorKind::BadInput, where, "not a directory");
            return sys_error(where);
        }
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

Result<int64_t> FsDevice::dispatch(GuestMemory& mem, abi::HcFs& hc) {
    switch (hc.op) {
    case abi::kFsOpen: return op_open(mem, hc);
    case abi::kFsClose: return op_close(hc);
    case abi::kFsRead: return op_read(mem, hc);
    case abi::kFsWrite: return op_write(mem, hc);
    case abi::kFsSendfile: return op_sendfile(hc);
    case abi::kFsGetdentsPlus: return op_getdents_plus(mem, hc);
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
    out = Base{m_roots[share].get(), share, m_shares[share].read_only, false};
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

int64_t FsDevice::resolve(const Base& b, const std::string& path, uint64_t flags, Target& out) {
    int fd = host_openat2(b.fd, path.empty() ? "." : path.c_str(), flags, 0, resolve_flags(b));
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

// ---------------------------------------------------------------------------
// Operations on handles
// ---------------------------------------------------------------------------

Result<int64_t> FsDevice::op_open(GuestMemory& mem, abi::HcFs& hc) {
    uint32_t flags = hc.flags;
    if ((flags & ~kOpenAllowed) || (flags & O_ACCMODE) == O_ACCMODE)
        return -EINVAL;
    std::string path;
    if (int64_t r = TRY(read_path(mem, hc.path, hc.path_len, path)); r < 0)
        return r;
    Base b;
    if (int64_t r = base(hc, b); r < 0)
        return r;
    if (m_open_handles >= kMaxHandles)  // before anything is created
        return -EMFILE;
    uint32_t host = flags & kOpenPassed;
    const bool want_create = host & O_CREAT;
    const bool exclusive = want_create && (host & O_EXCL);
    if (b.read_only) {
        if ((host & O_ACCMODE) != O_RDONLY || (host & O_TRUNC))
            return -EROFS;
        // Opening an existing file with O_CREAT is still a read; creating is not.
        host &= ~(O_CREAT | O_EXCL);
    }

    // Look before opening: FIFOs block and device nodes have open-time side
    // effects, so only regular files and directories are opened for real.
    // O_CREAT|O_EXCL never opens an existing file, so it needs no look. If
    // the name is swapped between the look and the open, look again.
    if (exclusive && !b.read_only)
        return open_checked(hc, b, path, host, nullptr);
    int64_t r = -EAGAIN;
    for (int attempt = 0; attempt < 4 && r == -EAGAIN; ++attempt) {
        Target probe;
        r = resolve(b, path, O_PATH | (host & (O_NOFOLLOW | O_DIRECTORY)), probe);
        if (r == -ENOENT && want_create)
            return b.read_only ? -EROFS : open_checked(hc, b, path, host, nullptr);
        if (r < 0)
            return r;
        struct stat before{};
        if (::fstat(probe.fd, &before) < 0)
            return neg_errno();
        if (exclusive)
            return -EEXIST;  // read-only share: it exists, so O_EXCL fails as on Linux
        if (S_ISLNK(before.st_mode))
            return -ELOOP;  // O_NOFOLLOW on a symlink
        if (!S_ISREG(before.st_mode) && !S_ISDIR(before.st_mode))
            return -ENXIO;
        r = open_checked(hc, b, path, host, &before);
    }
    return r;
}

// The real open, with O_NONBLOCK so that nothing can block the monitor, and
// a check that it opened what was looked at (or, when creating, a regular
// file): a swap in between is EAGAIN (the caller looks again).
int64_t FsDevice::open_checked(abi::HcFs& hc, const Base& b, const std::string& path, uint32_t host,
                               const struct stat* before) {
    uint64_t mode = (host & O_CREAT) ? host_mode(hc.mode, false) : 0;  // openat2 insists on 0 otherwise
    int fd = host_openat2(b.fd, path.empty() ? "." : path.c_str(), host | O_NONBLOCK | O_NOCTTY, mode,
                          resolve_flags(b));
    if (fd < 0)
        return fd;
    UniqueFd file(fd);
    struct stat st{};
    if (::fstat(fd, &st) < 0)
        return neg_errno();
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return -ENXIO;
    if (before && (st.st_dev != before->st_dev || st.st_ino != before->st_ino ||
                   (st.st_mode & S_IFMT) != (before->st_mode & S_IFMT)))
        return -EAGAIN;
    if (!(hc.flags & O_NONBLOCK)) {
        int fl = ::fcntl(fd, F_GETFL);
        if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
            return neg_errno();
    }
    int64_t index = allocate(std::move(file), b);
    if (index >= 0)
        hc.aux = st.st_mode;
    return index;
}

int64_t FsDevice::op_close(const abi::HcFs& hc) {
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    *h = Handle{};
    --m_open_handles;
    return 0;
}

Result<int64_t> FsDevice::op_read(GuestMemory& mem, const abi::HcFs& hc) {
    auto buf = TRY(mem.span(hc.buf, hc.len));
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    if (hc.offset < -1)
        return -EINVAL;
    ssize_t n = hc.offset >= 0 ? ::pread(h->fd.get(), buf.data(), buf.size(), hc.offset)
                               : ::read(h->fd.get(), buf.data(), buf.size());
    return n < 0 ? neg_errno() : n;
}

Result<int64_t> FsDevice::op_write(GuestMemory& mem, abi::HcFs& hc) {
    auto buf = TRY(mem.span(hc.buf, hc.len));
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    if (h->read_only)
        return -EROFS;
    if (hc.offset < -1)
        return -EINVAL;
    if (hc.offset >= 0) {
        ssize_t n = ::pwrite(h->fd.get(), buf.data(), buf.size(), hc.offset);
        return n < 0 ? neg_errno() : n;
    }
    // At the file position (or the end, for O_APPEND): tell the guest where
    // that left the position, which it cannot know for appends.
    ssize_t n = ::write(h->fd.get(), buf.data(), buf.size());
    if (n < 0)
        return neg_errno();
    off_t pos = ::lseek(h->fd.get(), 0, SEEK_CUR);
    hc.aux = pos < 0 ? 0 : static_cast<uint64_t>(pos);
    return n;
}

Result<size_t> FsDevice::apply_pending(GuestMemory& mem, uint64_t table_gpa, uint32_t count) {
    if (count > 64)
        return make_error(ErrorKind::GuestFault, "fs", "pending-write table too large");
    size_t done = 0;
    for (uint32_t i = 0; i < count; ++i) {
        auto p = TRY(mem.read<abi::PendingWrite>(table_gpa + i * sizeof(abi::PendingWrite)));
        if (p.len == 0)
            continue;
        abi::HcFs hc{};
        hc.op = abi::kFsWrite;
        hc.handle = p.handle;
        hc.buf = p.data;
        hc.len = p.len;
        hc.offset = p.append ? -1 : p.offset;
        if (TRY(op_write(mem, hc)) >= 0)
            ++done;
    }
    return done;
}

// sendfile/cat/cp: the whole copy happens on the host in one exit instead of
// two exits per 64 KiB through guest memory.
Result<int64_t> FsDevice::op_sendfile(abi::HcFs& hc) {
    Handle* src = handle(hc.handle);
    if (!src)
        return -EBADF;
    if (hc.offset < 0)
        return -EINVAL;
    int out_fd = -1;
    bool to_handle = hc.flags == abi::kSendToHandle;
    Handle* dst = nullptr;
    if (to_handle) {
        dst = handle(hc.handle2);
        if (!dst)
            return -EBADF;
        if (dst->read_only)
            return -EROFS;
        if (hc.offset2 < -1)
            return -EINVAL;
        out_fd = dst->fd.get();
    } else if (hc.flags == abi::kSendToStdout) {
        out_fd = m_stdout_fd;
    } else if (hc.flags == abi::kSendToStderr) {
        out_fd = m_stderr_fd;
    }
    if (out_fd < 0)
        return -EBADF;
    off_t in_off = hc.offset;
    uint64_t done = 0;
    std::vector<uint8_t> buf;
    while (done < hc.len) {
        size_t chunk = static_cast<size_t>(std::min<uint64_t>(hc.len - done, 1u << 20));
        ssize_t n;
        if (to_handle && hc.offset2 >= 0) {
            // File to file at explicit offsets: copy_file_range, falling back to read/write.
            off_t out_off = hc.offset2 + static_cast<off_t>(done);
            n = ::copy_file_range(src->fd.get(), &in_off, out_fd, &out_off, chunk, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                buf.resize(chunk);
                n = ::pread(src->fd.get(), buf.data(), chunk, in_off);
                if (n > 0) {
                    ssize_t w = ::pwrite(out_fd, buf.data(), static_cast<size_t>(n), out_off);
                    if (w < 0)
                        return done ? static_cast<int64_t>(done) : neg_errno();
                    in_off += w;
                    n = w;
                }
            }
        } else {
            n = ::sendfile(out_fd, src->fd.get(), &in_off, chunk);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return done ? static_cast<int64_t>(done) : neg_errno();
        }
        if (n == 0)
            break;
        done += static_cast<uint64_t>(n);
    }
    if (to_handle) {
        off_t pos = hc.offset2 >= 0 ? hc.offset2 + static_cast<off_t>(done) : ::lseek(out_fd, 0, SEEK_CUR);
        hc.aux = pos < 0 ? 0 : static_cast<uint64_t>(pos);
    }
    return static_cast<int64_t>(done);
}

Result<int64_t> FsDevice::op_fstat(GuestMemory& mem, const abi::HcFs& hc) {
    auto out = TRY(mem.span(hc.buf, sizeof(struct stat)));
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    struct stat st{};
    if (::fstat(h->fd.get(), &st) < 0)
        return neg_errno();
    std::memcpy(out.data(), &st, sizeof st);
    return 0;
}

Result<int64_t> FsDevice::op_getdents(GuestMemory& mem, const abi::HcFs& hc) {
    // The host's linux_dirent64 records are the guest's: no translation.
    auto buf = TRY(mem.span(hc.buf, std::min(hc.len, kMaxDirentBytes)));
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    long n = ::syscall(SYS_getdents64, h->fd.get(), buf.data(), buf.size());
    return n < 0 ? neg_errno() : n;
}

// getdents + lstat of every entry in one exit ("readdirplus"): `ls -l`,
// `du`, `find` then stat names the guest kernel already knows.
Result<int64_t> FsDevice::op_getdents_plus(GuestMemory& mem, const abi::HcFs& hc) {
    constexpr uint64_t kStat = sizeof(struct stat);
    uint64_t cap = hc.mode;
    auto stats = TRY(mem.span(static_cast<uint64_t>(hc.offset2), cap * kStat));
    // Never return more records than there are stat slots (records are >= 24 bytes).
    uint64_t len = std::min<uint64_t>({hc.len, kMaxDirentBytes, cap * 24});
    auto buf = TRY(mem.span(hc.buf, len));
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    long n = ::syscall(SYS_getdents64, h->fd.get(), buf.data(), buf.size());
    if (n < 0)
        return neg_errno();
    // Walk the records the host just wrote (our memory, but check anyway).
    uint64_t off = 0, i = 0;
    while (off + 19 < static_cast<uint64_t>(n) && i < cap) {
        uint16_t reclen;
        std::memcpy(&reclen, buf.data() + off + 16, 2);
        if (reclen < 20 || off + reclen > static_cast<uint64_t>(n))
            break;
        const char* name = reinterpret_cast<const char*>(buf.data() + off + 19);
        size_t max_name = reclen - 19;
        struct stat st{};
        if (strnlen(name, max_name) < max_name &&
            ::fstatat(h->fd.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            st = {};
        std::memcpy(stats.data() + i * kStat, &st, kStat);
        off += reclen;
        ++i;
    }
    return n;
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
    if (int64_t r = resolve(b, path, O_PATH, t); r < 0)
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

Result<int64_t> FsDevice::op_batch(GuestMemory& mem, const abi::HcFs& hc) {
    if (hc.len > abi::kMaxFsBatch)
        return -EINVAL;
    TRY(mem.span(hc.buf, hc.len * sizeof(abi::HcFs)));  // the whole array must be guest memory
    for (uint64_t i = 0; i < hc.len; ++i) {
        uint64_t gpa = hc.buf + i * sizeof(abi::HcFs);
        auto op = TRY(mem.read<uint32_t>(gpa));
        if (op == abi::kFsBatch)
            return make_error(ErrorKind::GuestFault, "fs", "nested batch request");
        TRY(hypercall(mem, gpa));
    }
    return static_cast<int64_t>(hc.len);
}

// Closes are not urgent: the guest batches them and sends one exit.
Result<int64_t> FsDevice::op_close_many(GuestMemory& mem, const abi::HcFs& hc) {
    if (hc.len > abi::kMaxCloseBatch)
        return -EINVAL;
    auto list = TRY(mem.span(hc.buf, hc.len * sizeof(uint32_t)));
    int64_t closed = 0;
    for (uint64_t i = 0; i < hc.len; ++i) {
        abi::HcFs one{};
        std::memcpy(&one.handle, list.data() + i * sizeof(uint32_t), sizeof(uint32_t));
        if (op_close(one) == 0)
            ++closed;
    }
    return closed;
}

int64_t FsDevice::op_truncate(const abi::HcFs& hc) {
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    if (h->read_only)
        return -EROFS;
    if (hc.offset < 0)
        return -EINVAL;
    return ::ftruncate(h->fd.get(), hc.offset) < 0 ? neg_errno() : 0;
}

int64_t FsDevice::op_fsync(const abi::HcFs& hc) {
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    int r = (hc.flags & kFdatasync) ? ::fdatasync(h->fd.get()) : ::fsync(h->fd.get());
    return r < 0 ? neg_errno() : 0;
}

int64_t FsDevice::op_seek(const abi::HcFs& hc) {
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    off_t pos = ::lseek(h->fd.get(), hc.offset, static_cast<int>(hc.flags));
    return pos < 0 ? neg_errno() : pos;
}

// ---------------------------------------------------------------------------
// Operations on paths that follow a final symlink (inside the share): the
// path is resolved to an O_PATH fd and the call acts on that fd
// (AT_EMPTY_PATH), never on a name the kernel would resolve unconfined.
// ---------------------------------------------------------------------------

Result<int64_t> FsDevice::op_stat(GuestMemory& mem, const abi::HcFs& hc) {
    auto out = TRY(mem.span(hc.buf, sizeof(struct stat)));
    if (hc.flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH))
        return -EINVAL;
    Base b;
    Target t;
    if (int64_t r = TRY(resolve_request(mem, hc, !(hc.flags & AT_SYMLINK_NOFOLLOW), b, t)); r < 0)
        return r;
    struct stat st{};
    if (::fstat(t.fd, &st) < 0)
        return neg_errno();
    std::memcpy(out.data(), &st, sizeof st);
    return 0;
}

Result<int64_t> FsDevice::op_statfs(GuestMemory& mem, const abi::HcFs& hc) {
    auto out = TRY(mem.span(hc.buf, sizeof(struct statfs)));
    Base b;
    Target t;
    if (int64_t r = TRY(resolve_request(mem, hc, true, b, t)); r < 0)
        return r;
    struct statfs st{};
    if (::fstatfs(t.fd, &st) < 0)
        return neg_errno();
    if (b.read_only)
        st.f_flags |= ST_RDONLY;  // what the guest's mount is, whatever the host's is
    std::memcpy(out.data(), &st, sizeof st);
    return 0;
}

Result<int64_t> FsDevice::op_utimens(GuestMemory& mem, const abi::HcFs& hc) {
    using Times = std::array<timespec, 2>;  // atime, mtime; UTIME_NOW/UTIME_OMIT pass through
    Times times{};
    if (hc.buf != 0)
        times = TRY(mem.read<Times>(hc.buf));
    if (hc.flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    Base b;
    Target t;
    if (int64_t r = TRY(resolve_request(mem, hc, !(hc.flags & AT_SYMLINK_NOFOLLOW), b, t)); r < 0)
        return r;
    if (b.read_only)
        return -EROFS;
    // On an O_PATH fd of a symlink this changes the link itself, as NOFOLLOW asks.
    int r = ::utimensat(t.fd, "", hc.buf != 0 ? times.data() : nullptr, AT_EMPTY_PATH);
    return r < 0 ? neg_errno() : 0;
}

Result<int64_t> FsDevice::op_chmod(GuestMemory& mem, const abi::HcFs& hc) {
    Base b;
    Target t;
    if (int64_t r = TRY(resolve_request(mem, hc, true, b, t)); r < 0)
        return r;
    if (b.read_only)
        return -EROFS;
    struct stat st{};
    if (::fstat(t.fd, &st) < 0)
        return neg_errno();
    mode_t mode = host_mode(hc.mode, S_ISDIR(st.st_mode));
    if (::syscall(kSysFchmodat2, t.fd, "", mode, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOSYS)
        return neg_errno();
    // Before Linux 6.6: fchmod cannot take O_PATH fds, their /proc link can.
    bool o_path = t.owned.valid() || !b.is_handle;  // resolved here, or a share root
    int r = o_path ? ::chmod(proc_fd_path(t.fd).c_str(), mode) : ::fchmod(t.fd, mode);
    return r < 0 ? neg_errno() : 0;
}

Result<int64_t> FsDevice::op_access(GuestMemory& mem, const abi::HcFs& hc) {
    if (hc.mode & ~static_cast<uint32_t>(R_OK | W_OK | X_OK))
        return -EINVAL;
    if (hc.flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    Base b;
    Target t;
    if (int64_t r = TRY(resolve_request(mem, hc, !(hc.flags & AT_SYMLINK_NOFOLLOW), b, t)); r < 0)
        return r;
    if ((hc.mode & W_OK) && b.read_only)
        return -EROFS;
    long r = ::syscall(SYS_faccessat2, t.fd, "", hc.mode, AT_EMPTY_PATH | (hc.flags & AT_EACCESS));
    return r < 0 ? neg_errno() : 0;
}

// ---------------------------------------------------------------------------
// Operations on a name: the parent is resolved inside the share, the last
// component goes to an *at call that does not follow it.
// ---------------------------------------------------------------------------

Result<int64_t> FsDevice::op_mkdir(GuestMemory& mem, const abi::HcFs& hc) {
    Base b;
    Named n;
    if (int64_t r = TRY(name_request(mem, hc, b, n)); r < 0)
        return r;
    if (b.read_only)
        return -EROFS;
    if (is_special(n.name))
        return -EEXIST;
    return ::mkdirat(n.parent.fd, n.name.c_str(), host_mode(hc.mode, true)) < 0 ? neg_errno() : 0;
}

Result<int64_t> FsDevice::op_unlink(GuestMemory& mem, const abi::HcFs& hc) {
    if (hc.flags & ~static_cast<uint32_t>(AT_REMOVEDIR))
        return -EINVAL;
    const bool rmdir = hc.flags & AT_REMOVEDIR;
    Base b;
    Named n;
    if (int64_t r = TRY(name_request(mem, hc, b, n)); r < 0)
        return r;
    if (b.read_only)
        return -EROFS;
    if (is_special(n.name))  // Linux: rmdir "/" EBUSY, "." EINVAL, ".." ENOTEMPTY; unlink: EISDIR
        return !rmdir ? -EISDIR : n.name.empty() ? -EBUSY : n.name == "." ? -EINVAL : -ENOTEMPTY;
    // unlinkat never follows the last component; a trailing slash makes
    // the kernel insist on a directory, as for the guest's own path walk.
    std::string name = n.trailing_slash ? n.name + "/" : n.name;
    return ::unlinkat(n.parent.fd, name.c_str(), rmdir ? AT_REMOVEDIR : 0) < 0 ? neg_errno() : 0;
}

Result<int64_t> FsDevice::op_rename(GuestMemory& mem, const abi::HcFs& hc) {
    if (hc.flags & ~static_cast<uint32_t>(RENAME_NOREPLACE | RENAME_EXCHANGE))
        return -EINVAL;  // no RENAME_WHITEOUT: that needs CAP_MKNOD on the host
    Base b, b2;
    Named from, to;
    if (int64_t r = TRY(two_names(mem, hc, b, from, b2, to)); r < 0)
        return r;
    if (is_special(from.name) || is_special(to.name))
        return -EBUSY;
    std::string old_name = from.trailing_slash ? from.name + "/" : from.name;
    std::string new_name = to.trailing_slash ? to.name + "/" : to.name;
    int r = ::renameat2(from.parent.fd, old_name.c_str(), to.parent.fd, new_name.c_str(), hc.flags);
    return r < 0 ? neg_errno() : 0;
}

Result<int64_t> FsDevice::op_link(GuestMemory& mem, const abi::HcFs& hc) {
    if (hc.flags & ~static_cast<uint32_t>(AT_SYMLINK_FOLLOW))
        return -EINVAL;
    Base b, b2;
    Named from, to;
    if (int64_t r = TRY(two_names(mem, hc, b, from, b2, to)); r < 0)
        return r;
    if (is_special(from.name))
        return -EPERM;  // a directory: no hard links
    if (is_special(to.name))
        return -EEXIST;
    std::string new_name = to.trailing_slash ? to.name + "/" : to.name;
    // linkat would follow an old name with a trailing slash (or with
    // AT_SYMLINK_FOLLOW) without confinement: resolve it ourselves and link
    // the result through its /proc link, the documented way for O_PATH fds.
    if (from.trailing_slash || (hc.flags & AT_SYMLINK_FOLLOW)) {
        Target old_target;
        if (int64_t r = resolve(b, from.path, O_PATH, old_target); r < 0)
            return r;
        int r = ::linkat(AT_FDCWD, proc_fd_path(old_target.fd).c_str(), to.parent.fd, new_name.c_str(),
                         AT_SYMLINK_FOLLOW);
        return r < 0 ? neg_errno() : 0;
    }
    int r = ::linkat(from.parent.fd, from.name.c_str(), to.parent.fd, new_name.c_str(), 0);
    return r < 0 ? neg_errno() : 0;
}

Result<int64_t> FsDevice::op_symlink(GuestMemory& mem, const abi::HcFs& hc) {
    // The target is text, stored as is: it is only ever resolved by openat2
    // inside the share, where an absolute target means the share root.
    std::string target;
    if (int64_t r = TRY(read_path(mem, hc.path2, hc.path2_len, target)); r < 0)
        return r;
    Base b;
    Named n;
    if (int64_t r = TRY(name_request(mem, hc, b, n)); r < 0)
        return r;
    if (b.read_only)
        return -EROFS;
    if (target.empty())
        return -ENOENT;
    if (is_special(n.name))
        return -EEXIST;
    std::string name = n.trailing_slash ? n.name + "/" : n.name;
    return ::symlinkat(target.c_str(), n.parent.fd, name.c_str()) < 0 ? neg_errno() : 0;
}

Result<int64_t> FsDevice::op_readlink(GuestMemory& mem, const abi::HcFs& hc) {
    auto buf = TRY(mem.span(hc.buf, hc.len));
    Base b;
    Named n;
    if (int64_t r = TRY(name_request(mem, hc, b, n)); r < 0)
        return r;
    if (is_special(n.name))
        return -EINVAL;  // a directory is not a symlink
    if (n.trailing_slash) {
        // "link/" means what the link points to, which is never a link;
        // readlinkat would follow it unconfined, so look it up ourselves.
        Target t;
        int64_t r = resolve(b, n.path, O_PATH, t);
        return r < 0 ? r : -EINVAL;
    }
    ssize_t len = ::readlinkat(n.parent.fd, n.name.c_str(), reinterpret_cast<char*>(buf.data()), buf.size());
    return len < 0 ? neg_errno() : len;
}

// rename/link: path (share or handle) and path2 (share2) must be in one share.
Result<int64_t> FsDevice::two_names(GuestMemory& mem, const abi::HcFs& hc, Base& b, Named& from, Base& b2,
                                    Named& to) {
    std::string path, path2;
    if (int64_t r = TRY(read_path(mem, hc.path, hc.path_len, path)); r < 0)
        return r;
    if (int64_t r = TRY(read_path(mem, hc.path2, hc.path2_len, path2)); r < 0)
        return r;
    if (int64_t r = base(hc, b); r < 0)
        return r;
    if (int64_t r = share_base(hc.share2, b2); r < 0)
        return r;
    if (b.share != b2.share)
        return -EXDEV;
    if (b.read_only)
        return -EROFS;
    if (int64_t r = split_name(b, path, from); r < 0)
        return r;
    return split_name(b2, path2, to);
}

}  // namespace lightvm

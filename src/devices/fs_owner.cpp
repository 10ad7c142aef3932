// The mapped ownership model (devices/fs_owner.hpp): the attribute's
// format, reading and writing it, and the fs device's operations that
// change ownership in a mapped share.
#include "devices/fs_owner.hpp"

#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>

#include "devices/fs.hpp"
#include "devices/fs_host.hpp"

namespace lightvm {

namespace fs_owner {

namespace {

// Longest value: "4294967295:4294967295:7777".
constexpr size_t kMaxText = 32;

// /proc/self/fd/N[/name] into buf; false when it does not fit.
bool proc_path(int fd, const char* name, char* buf, size_t size) {
    int n = name ? std::snprintf(buf, size, "/proc/self/fd/%d/%s", fd, name)
                 : std::snprintf(buf, size, "/proc/self/fd/%d", fd);
    return n > 0 && static_cast<size_t>(n) < size;
}

// One field of the attribute: digits of `base` only, the whole field, in range.
bool parse_field(std::string_view field, int base, uint32_t& out) {
    if (field.empty() || field.find_first_not_of(base == 8 ? "01234567" : "0123456789") != std::string_view::npos)
        return false;
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), out, base);
    return ec == std::errc() && ptr == field.data() + field.size();
}

// getxattrat(2) (Linux 6.13); its number, for headers that lack it.
#ifdef SYS_getxattrat
constexpr long kSysGetxattrat = SYS_getxattrat;
#else
constexpr long kSysGetxattrat = 464;
#endif
struct XattrArgs {  // struct xattr_args
    uint64_t value;
    uint32_t size, flags;
};

// The attribute of entry `name` of directory fd, never following it (it may
// be a symlink swapped in since it was looked at). getxattrat costs ~1.3 us
// here; before Linux 6.13, lgetxattr through /proc/self/fd/DIR/NAME ~3.9 us.
ssize_t get_at(int fd, const char* name, char* value, size_t size) {
    static std::atomic<bool> have_getxattrat{true};  // vCPU threads may share the device
    if (have_getxattrat.load(std::memory_order_relaxed)) {
        XattrArgs args{reinterpret_cast<uintptr_t>(value), static_cast<uint32_t>(size), 0};
        long n = ::syscall(kSysGetxattrat, fd, name, AT_SYMLINK_NOFOLLOW, kAttr, &args, sizeof args);
        if (n >= 0 || errno != ENOSYS)
            return n;
        have_getxattrat.store(false, std::memory_order_relaxed);
    }
    char path[300];
    if (!proc_path(fd, name, path, sizeof path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return ::lgetxattr(path, kAttr, value, size);
}

// The attribute of the file at fd: fgetxattr (~0.7 us), or for an O_PATH fd
// (EBADF there) getxattr through its /proc/self/fd link (~3.3 us).
ssize_t get_fd(int fd, char* value, size_t size) {
    ssize_t n = ::fgetxattr(fd, kAttr, value, size);
    if (n >= 0 || errno != EBADF)
        return n;
    char path[40];
    if (!proc_path(fd, nullptr, path, sizeof path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return ::getxattr(path, kAttr, value, size);
}

}  // namespace

std::string format(const Owner& owner) {
    char buf[kMaxText];
    int n = std::snprintf(buf, sizeof buf, "%u:%u:%o", owner.uid, owner.gid, owner.mode & 07777);
    return std::string(buf, static_cast<size_t>(n));
}

std::optional<Owner> parse(std::string_view text) {
    size_t a = text.find(':'), b = a == std::string_view::npos ? a : text.find(':', a + 1);
    Owner o;
    if (b == std::string_view::npos || !parse_field(text.substr(0, a), 10, o.uid) ||
        !parse_field(text.substr(a + 1, b - a - 1), 10, o.gid) || !parse_field(text.substr(b + 1), 8, o.mode) ||
        o.mode > 07777)
        return std::nullopt;
    return o;
}

int read_attr(int fd, const char* name, Owner& out) {
    char value[kMaxText];
    ssize_t n = name ? get_at(fd, name, value, sizeof value) : get_fd(fd, value, sizeof value);
    if (n < 0)
        return errno == ERANGE ? -ENODATA : -errno;  // too long: not ours
    auto parsed = parse({value, static_cast<size_t>(n)});
    if (!parsed)
        return -ENODATA;
    out = *parsed;
    return 0;
}

int write_attr(int fd, const Owner& owner, int flags) {
    char path[40];
    if (!proc_path(fd, nullptr, path, sizeof path))
        return -ENAMETOOLONG;
    std::string text = format(owner);
    return ::setxattr(path, kAttr, text.data(), text.size(), flags) < 0 ? -errno : 0;
}

void show(int fd, const char* name, struct stat& st) {
    Owner o;
    if (!carries(st.st_mode) || read_attr(fd, name, o) != 0)
        return;
    st.st_uid = o.uid;
    st.st_gid = o.gid;
    st.st_mode = (st.st_mode & S_IFMT) | o.mode;
}

Owner current(int fd, const char* name, const struct stat& st) {
    Owner o{st.st_uid, st.st_gid, st.st_mode & 07777u};
    if (carries(st.st_mode))
        (void)read_attr(fd, name, o);
    return o;
}

}  // namespace fs_owner

using namespace fs_detail;

bool FsDevice::mapped(uint32_t share) const { return share < m_shares.size() && m_shares[share].mapped; }

// Every stat that reaches the guest goes through here.
void FsDevice::guest_view(uint32_t share, int fd, const char* name, struct stat& st) const {
    if (mapped(share))
        fs_owner::show(fd, name, st);
}

// chown in a mapped share: only the attribute changes (-1 keeps a value),
// and with it the mode as Linux's chown changes it. The guest kernel has
// decided who may. A file that cannot carry the attribute (a symlink, a
// FIFO) keeps showing its host owner: asking for that is fine, anything
// else is EOPNOTSUPP.
int64_t FsDevice::mapped_chown(int fd, bool o_path, int64_t uid, int64_t gid) {
    struct stat st{};
    if (::fstat(fd, &st) < 0)
        return neg_errno();
    fs_owner::Owner was = fs_owner::current(fd, nullptr, st), now = was;
    if (uid != -1)
        now.uid = static_cast<uint32_t>(uid);
    if (gid != -1)
        now.gid = static_cast<uint32_t>(gid);
    if (!fs_owner::carries(st.st_mode))
        return now == was ? 0 : -EOPNOTSUPP;
    now.mode = fs_owner::mode_after_chown(now.mode, S_ISDIR(st.st_mode));
    int r = fs_owner::write_attr(fd, now, 0);
    if (r == -EACCES) {
        // A host file without owner write (an old read-only file of the
        // monitor's user): give it the mode the model keeps, then again.
        if (host_chmod(fd, o_path, fs_owner::host_mode(was.mode, S_ISDIR(st.st_mode))) == 0)
            r = fs_owner::write_attr(fd, now, 0);
    }
    return r;
}

// chmod in a mapped share: the mode goes into the attribute, and the host
// file gets its safe stand-in (fs_owner.hpp). The host mode changes first,
// as it is what lets the monitor write the attribute; a failed write puts
// it back.
int64_t FsDevice::mapped_chmod(int fd, bool o_path, uint32_t mode) {
    struct stat st{};
    if (::fstat(fd, &st) < 0)
        return neg_errno();
    const bool dir = S_ISDIR(st.st_mode);
    if (!fs_owner::carries(st.st_mode))
        return host_chmod(fd, o_path, host_mode(mode, dir));  // a FIFO or socket node: host bits, as passthrough
    fs_owner::Owner now = fs_owner::current(fd, nullptr, st);
    now.mode = mode & 07777;
    if (int64_t r = host_chmod(fd, o_path, fs_owner::host_mode(now.mode, dir)); r < 0)
        return r;
    int r = fs_owner::write_attr(fd, now, 0);
    if (r < 0)
        (void)host_chmod(fd, o_path, st.st_mode & 07777);
    return r;
}

// access in a mapped share. Only a guest root asks (the guest kernel
// decides for everyone else from the stat it is shown), and the host's
// answer would be about the monitor's ids: decide as Linux does for root,
// from the mode the guest sees. Execute needs some x bit (or a directory).
int64_t FsDevice::mapped_access(int fd, uint32_t mode) const {
    struct stat st{};
    if (::fstat(fd, &st) < 0)
        return neg_errno();
    fs_owner::show(fd, nullptr, st);
    if ((mode & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111))
        return -EACCES;
    return 0;
}

// A name the guest just created: passthrough gives it to the creator's ids
// when the monitor may (give_to_guest); a mapped share records the
// creator's ids and the mode asked for in the attribute. Without
// kFsOptOwner the creator is root (the guest kernel sends its ids whenever
// they are not 0:0). A symlink, FIFO or socket node cannot carry it and
// keeps the monitor's ids. XATTR_CREATE: a file that turned out to exist
// already keeps what it has. dirfd/name as for give_to_guest.
void FsDevice::new_owner(const abi::HcFs& hc, uint32_t share, int dirfd, const char* name, uint32_t mode) {
    if (!mapped(share)) {
        give_to_guest(hc, dirfd, name);
        return;
    }
    UniqueFd made;
    int fd = dirfd;
    if (*name) {  // pin what is there now: never a symlink swapped in since
        made = UniqueFd(::openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
        fd = made.get();
    }
    struct stat st{};
    if (fd < 0 || ::fstat(fd, &st) < 0 || !fs_owner::carries(st.st_mode))
        return;
    fs_owner::Owner o{0, 0, mode & 07777};
    if (hc.options & abi::kFsOptOwner) {
        auto ids = static_cast<uint64_t>(hc.offset2);
        o.uid = static_cast<uint32_t>(ids & 0xffffffffu);
        o.gid = static_cast<uint32_t>(ids >> 32);
    }
    // A host file system without user.* attributes: the file shows the
    // host's values, as the share's root check (create()) already said.
    (void)fs_owner::write_attr(fd, o, XATTR_CREATE);
}

}  // namespace lightvm

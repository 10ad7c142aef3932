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

}  // namespace lightvm

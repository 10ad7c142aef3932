// Metadata and names: stat, statfs, utimens, chmod, access, mkdir,
// unlink, rename, link, symlink, readlink.
#include "devices/fs.hpp"

#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "devices/fs_host.hpp"
#include "devices/fs_owner.hpp"

namespace lightvm {

using namespace fs_detail;

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
    guest_view(b.share, t.fd, nullptr, st);
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
    const bool o_path = t.owned.valid() || !b.is_handle;  // resolved here, or a share root
    if (mapped(b.share))
        return mapped_chmod(t.fd, o_path, hc.mode);
    struct stat st{};
    if (::fstat(t.fd, &st) < 0)
        return neg_errno();
    return host_chmod(t.fd, o_path, host_mode(hc.mode, S_ISDIR(st.st_mode)));
}

// Extended attributes: the host file's user.* attributes, where its file
// system has them (else the host's EOPNOTSUPP). Other namespaces are
// refused here and hidden from lists: security.* and trusted.* are the
// host's business, and system.* (ACLs) would grant access on the host.
// user.lightvm.* is lightvm's (the mapped model's owner, fs_owner.hpp), in
// every share: not listed, absent to get (ENODATA), EPERM to set or
// remove. The *xattr calls take the resolved O_PATH fd's /proc link, so
// they act on exactly what was resolved inside the share.
Result<int64_t> FsDevice::op_xattr(GuestMemory& mem, const abi::HcFs& hc) {
    constexpr uint64_t kNameMax = 255, kSizeMax = 65536;  // XATTR_NAME_MAX, XATTR_SIZE_MAX
    uint32_t op = hc.flags & ~abi::kXattrNoFollow;
    if (op > abi::kXattrRemove || (hc.mode & ~static_cast<uint32_t>(XATTR_CREATE | XATTR_REPLACE)))
        return -EINVAL;
    std::string name;
    if (op != abi::kXattrList) {
        if (hc.offset2 <= 0 || static_cast<uint64_t>(hc.offset2) > kNameMax)
            return -ERANGE;
        if (int64_t r = TRY(read_path(mem, static_cast<uint64_t>(hc.offset), static_cast<uint64_t>(hc.offset2),
                                      name));
            r < 0)
            return r;
        if (name.compare(0, 5, "user.") != 0 || name.size() == 5)
            return -EOPNOTSUPP;
    }
    if (hc.len > kSizeMax)
        return op == abi::kXattrSet ? -E2BIG : -EINVAL;
    std::span<uint8_t> value;
    if (hc.len)
        value = TRY(mem.span(hc.buf, hc.len));
    Base b;
    Target t;
    if (int64_t r = TRY(resolve_request(mem, hc, !(hc.flags & abi::kXattrNoFollow), b, t)); r < 0)
        return r;
    if ((op == abi::kXattrSet || op == abi::kXattrRemove) && b.read_only)
        return -EROFS;
    if (op != abi::kXattrList && name.starts_with(fs_owner::kReservedPrefix))
        return op == abi::kXattrGet ? -ENODATA : -EPERM;
    std::string p = proc_fd_path(t.fd);
    ssize_t r = 0;
    switch (op) {
    case abi::kXattrGet:
        r = ::getxattr(p.c_str(), name.c_str(), value.data(), value.size());
        break;
    case abi::kXattrSet:
        r = ::setxattr(p.c_str(), name.c_str(), value.data(), value.size(), static_cast<int>(hc.mode));
        break;
    case abi::kXattrRemove:
        r = ::removexattr(p.c_str(), name.c_str());
        break;
    case abi::kXattrList:
        return list_user_xattrs(p, value);
    }
    return r < 0 ? neg_errno() : r;
}

// The user.* names of the host file's list, in its order, but lightvm's own.
int64_t FsDevice::list_user_xattrs(const std::string& proc_path, std::span<uint8_t> out) {
    std::vector<char> all(65536);
    ssize_t n = ::listxattr(proc_path.c_str(), all.data(), all.size());
    if (n < 0)
        return neg_errno();
    std::string names;
    for (ssize_t i = 0; i < n;) {
        size_t len = ::strnlen(all.data() + i, static_cast<size_t>(n - i));
        std::string_view name(all.data() + i, len);
        if (name.size() > 5 && name.starts_with("user.") && !name.starts_with(fs_owner::kReservedPrefix))
            names.append(name).push_back('\0');
        i += static_cast<ssize_t>(len) + 1;
    }
    if (out.empty())
        return static_cast<int64_t>(names.size());
    if (names.size() > out.size())
        return -ERANGE;
    std::memcpy(out.data(), names.data(), names.size());
    return static_cast<int64_t>(names.size());
}

// Passthrough: the host decides (a monitor without CAP_CHOWN may only give
// a file to a group it is in, or leave it as it is), and its EPERM reaches
// the guest instead of a silent no-op. AT_EMPTY_PATH on the O_PATH fd acts
// on exactly what was resolved inside the share (the link itself for
// lchown). Mapped: the attribute changes instead (fs_owner.cpp).
Result<int64_t> FsDevice::op_chown(GuestMemory& mem, const abi::HcFs& hc) {
    if (hc.flags & ~static_cast<uint32_t>(AT_SYMLINK_NOFOLLOW))
        return -EINVAL;
    Base b;
    Target t;
    if (int64_t r = TRY(resolve_request(mem, hc, !(hc.flags & AT_SYMLINK_NOFOLLOW), b, t)); r < 0)
        return r;
    if (b.read_only)
        return -EROFS;
    if (mapped(b.share))
        return mapped_chown(t.fd, t.owned.valid() || !b.is_handle, hc.offset, hc.offset2);
    auto uid = static_cast<uid_t>(hc.offset), gid = static_cast<gid_t>(hc.offset2);
    return ::fchownat(t.fd, "", uid, gid, AT_EMPTY_PATH) < 0 ? neg_errno() : 0;
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
    if (mapped(b.share))
        return mapped_access(t.fd, hc.mode);
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
    // Linux's mkdir keeps only the permission and sticky bits it is given.
    const uint32_t mode = hc.mode & 01777;
    const mode_t bits = mapped(b.share) ? fs_owner::host_mode(mode, true) : host_mode(mode, true);
    if (::mkdirat(n.parent.fd, n.name.c_str(), bits) < 0)
        return neg_errno();
    new_owner(hc, b.share, n.parent.fd, n.name.c_str(), mode);
    return 0;
}

// mknod of what a share may hold: FIFOs and socket nodes (their data and
// their peers live in the guest; the host only keeps the name) and regular
// files. Device nodes are EPERM, as for a process without CAP_MKNOD.
Result<int64_t> FsDevice::op_mknod(GuestMemory& mem, const abi::HcFs& hc) {
    Base b;
    Named n;
    if (int64_t r = TRY(name_request(mem, hc, b, n)); r < 0)
        return r;
    if (b.read_only)
        return -EROFS;
    if (is_special(n.name))
        return -EEXIST;
    mode_t type = hc.mode & S_IFMT;
    if (type != S_IFIFO && type != S_IFSOCK && type != S_IFREG)
        return -EPERM;
    // Mapped: a regular file carries its mode in the attribute; FIFOs and
    // socket nodes cannot, so they get the host bits as in passthrough.
    const bool attr = mapped(b.share) && type == S_IFREG;
    mode_t mode = type | (attr ? fs_owner::host_mode(hc.mode, false) : host_mode(hc.mode & 07777, false));
    if (::mknodat(n.parent.fd, n.name.c_str(), mode, 0) < 0)
        return neg_errno();
    new_owner(hc, b.share, n.parent.fd, n.name.c_str(), hc.mode & 07777);
    return 0;
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
    if (::symlinkat(target.c_str(), n.parent.fd, name.c_str()) < 0)
        return neg_errno();
    new_owner(hc, b.share, n.parent.fd, n.name.c_str(), 0777);
    return 0;
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

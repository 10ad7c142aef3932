// The mapped ownership model of a share (--fs DIR:GUEST:mapped; docs/compat.md,
// "Users and permissions"). The owner, group and permission bits the guest
// sees of a regular file or directory live in its extended attribute
// user.lightvm.owner, as text "UID:GID:MODE": decimal ids and the octal
// 07777 bits, e.g. "1234:5678:4750". The host file keeps the monitor's
// owner; its mode is the guest's permission bits without set-user-ID,
// set-group-ID and sticky, plus owner read and write (and search for a
// directory), so the monitor can always serve it and nothing privileged
// ever lands on the host. A file without the attribute shows the host's
// values. Symlinks, FIFOs and socket nodes cannot carry user.* attributes
// on Linux: they show their host owner and mode.
//
// The guest can neither see nor change user.lightvm.* names through its
// own *xattr calls, in any share (a passthrough run must not forge what a
// later mapped run trusts).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lightvm::fs_owner {

inline constexpr char kAttr[] = "user.lightvm.owner";
inline constexpr std::string_view kReservedPrefix = "user.lightvm.";

struct Owner {
    uint32_t uid = 0, gid = 0;
    uint32_t mode = 0;  // permission bits only (07777)
    bool operator==(const Owner&) const = default;
};

// "1234:5678:4750"; parse() takes exactly that form (no sign, no spaces,
// ids below 2^32, mode at most 07777) and nothing else.
std::string format(const Owner& owner);
std::optional<Owner> parse(std::string_view text);

// Only regular files and directories can carry the attribute.
inline bool carries(mode_t st_mode) { return S_ISREG(st_mode) || S_ISDIR(st_mode); }

// The host mode that stands for guest permission bits (see the top).
inline mode_t host_mode(uint32_t mode, bool directory) {
    return static_cast<mode_t>((mode & 0777) | (directory ? 0700 : 0600));
}

// The attribute of the file at fd (any fd, O_PATH ones through their
// /proc/self/fd link), or, with a name, of that entry of directory fd
// without following it (getxattrat, before Linux 6.13 lgetxattr). 0 with
// out set; -ENODATA when there is none or it is malformed (the host's
// values stand); another -errno from the host.
int read_attr(int fd, const char* name, Owner& out);
// Sets it on the file at fd, through its /proc/self/fd link (flags:
// XATTR_CREATE, XATTR_REPLACE or 0). 0 or -errno.
int write_attr(int fd, const Owner& owner, int flags);

// What the guest sees of a file: the host's owner, group and permission
// bits, or the attribute's where st's file has one (read as read_attr() does).
void show(int fd, const char* name, struct stat& st);
// The owner a file shows now (st: its host stat, fd/name as for read_attr()).
Owner current(int fd, const char* name, const struct stat& st);

// chown's effect on the mode of a non-directory, as Linux's: set-user-ID
// always goes, set-group-ID when group execute is set.
inline uint32_t mode_after_chown(uint32_t mode, bool directory) {
    if (directory)
        return mode;
    mode &= ~static_cast<uint32_t>(S_ISUID);
    if (mode & S_IXGRP)
        mode &= ~static_cast<uint32_t>(S_ISGID);
    return mode;
}

}  // namespace lightvm::fs_owner

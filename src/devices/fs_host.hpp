// Host-side helpers shared by the fs device's translation units
// (fs.cpp: device, handles, path resolution; fs_data.cpp: file data;
// fs_names.cpp: metadata and names). Not part of any public interface.
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <ctime>
#include <string>

#include "common/result.hpp"
#include "common/stop.hpp"
#include "lightvm/abi.h"
#include "memory/guest_memory.hpp"

namespace lightvm::fs_detail {

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

inline int64_t neg_errno() { return -static_cast<int64_t>(errno); }

// Permission bits the guest may set on the host: no set-user-ID anywhere,
// and set-group-ID only on directories (where it just means "inherit the
// group"). Files in a share must never become privileged executables.
inline mode_t host_mode(uint32_t mode, bool directory) {
    mode_t allowed = 07777 & ~S_ISUID;
    if (!directory)
        allowed &= ~S_ISGID;
    return static_cast<mode_t>(mode) & allowed;
}

// kFsOptOwner: the ids a new name goes to, when the guest asked and the
// monitor may (EPERM without CAP_CHOWN is not an error: the name stays the
// monitor's, as docs/compat.md says). Relative to dirfd, or dirfd itself
// when name is "".
inline void give_to_guest(const abi::HcFs& hc, int dirfd, const char* name) {
    if (!(hc.options & abi::kFsOptOwner))
        return;
    auto ids = static_cast<uint64_t>(hc.offset2);
    (void)::fchownat(dirfd, name, static_cast<uid_t>(ids & 0xffffffffu), static_cast<gid_t>(ids >> 32),
                     *name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH);
}

// openat2 with the usual retries: EAGAIN is how RESOLVE_IN_ROOT reports a
// concurrent rename it could not prove harmless. -errno on failure.
inline int host_openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    open_how how{};
    how.flags = flags | O_CLOEXEC;
    how.mode = mode;
    how.resolve = resolve;
    for (int attempt = 0;; ++attempt) {
        long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0)
            return static_cast<int>(fd);
        if ((errno == EINTR && !stop_requested()) || (errno == EAGAIN && attempt < 16))
            continue;
        return -errno;
    }
}

inline bool is_special(const std::string& name) { return name.empty() || name == "." || name == ".."; }

// /proc/self/fd/N: a fallback to act on an O_PATH fd with calls that only
// take a path (kernels without fchmodat2).
inline std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// chmod of exactly the file at fd (o_path: an O_PATH fd, a resolved path
// or a share root; else an open handle). 0 or -errno.
inline int64_t host_chmod(int fd, bool o_path, mode_t mode) {
    if (::syscall(kSysFchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
        return 0;
    if (errno != ENOSYS)
        return neg_errno();
    // Before Linux 6.6: fchmod cannot take O_PATH fds, their /proc link can.
    int r = o_path ? ::chmod(proc_fd_path(fd).c_str(), mode) : ::fchmod(fd, mode);
    return r < 0 ? neg_errno() : 0;
}

inline Result<void> write_result(GuestMemory& mem, uint64_t arg_gpa, int64_t result, uint64_t aux) {
    TRY(mem.write(arg_gpa + offsetof(abi::HcFs, result), result));
    return mem.write(arg_gpa + offsetof(abi::HcFs, aux), aux);
}

}  // namespace lightvm::fs_detail

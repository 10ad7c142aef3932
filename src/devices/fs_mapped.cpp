// The mapped ownership model, the fs device's side (devices/fs_owner.hpp
// has the attribute itself): what the guest sees, chown, chmod, access and
// the owner of what it creates in a mapped share.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "devices/fs.hpp"
#include "devices/fs_host.hpp"
#include "devices/fs_owner.hpp"

namespace lightvm {

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

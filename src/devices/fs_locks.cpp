// kFsLock: the guest's advisory locks on a share's file, mirrored on the
// host. The guest kernel decides its own locks (owners, waits, Linux's
// rules) and sends the union it holds per file; here one open file
// description per file holds that union, record locks as OFD locks and
// flock locks as a flock (Linux keeps the two apart, as the guest does).
// A host process's POSIX, OFD or flock lock then conflicts with the
// guest's, and the other way round (docs/compat.md "Locks").
#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "devices/fs.hpp"
#include "devices/fs_host.hpp"

namespace lightvm {

using namespace fs_detail;

namespace {

bool valid(const abi::FsLock& l) {
    const bool type_ok = l.type == F_RDLCK || l.type == F_WRLCK || l.type == F_UNLCK;
    const bool kind_ok = l.kind == abi::kFsLockRecord || l.kind == abi::kFsLockFlock;
    const bool range_ok = l.start <= uint64_t(INT64_MAX) && l.len <= uint64_t(INT64_MAX) - l.start;
    return type_ok && kind_ok && range_ok && l.cmd <= abi::kFsLockDrop && l.reserved == 0;
}

struct flock record(const abi::FsLock& l, uint32_t type) {
    struct flock fl{};
    fl.l_type = static_cast<short>(type);
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(l.start);
    fl.l_len = static_cast<off_t>(l.len);
    return fl;
}

}  // namespace

// The file's lock description: the one kept for it, or (a handle's first
// lock, or a query) one opened from the handle. A query without a kept one
// gets a temporary (closed by the caller's UniqueFd). -errno when neither.
int FsDevice::lock_fd(const abi::HcFs& hc, const abi::FsLock& l, UniqueFd* temporary) {
    auto key = std::make_pair(l.dev, l.ino);
    if (auto it = m_lock_fds.find(key); it != m_lock_fds.end())
        return it->second.get();
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    if (l.cmd == abi::kFsLockSet && m_lock_fds.size() >= abi::kMaxLockedFiles)
        return -ENOLCK;
    // Read and write when the share allows (a write lock needs a writable
    // description), else read only: read-only shares take read locks.
    std::string path = proc_fd_path(h->fd.get());
    int fd = h->read_only ? -1 : ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        fd = ::open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return neg_errno();
    if (l.cmd != abi::kFsLockSet) {
        *temporary = UniqueFd(fd);
        return fd;
    }
    return m_lock_fds.emplace(key, UniqueFd(fd)).first->second.get();
}

int64_t FsDevice::lock_set(const abi::FsLock& l, int fd) {
    if (l.kind == abi::kFsLockFlock) {
        int op = l.type == F_WRLCK ? LOCK_EX : l.type == F_RDLCK ? LOCK_SH : LOCK_UN;
        if (::flock(fd, op | LOCK_NB) == 0)
            return 0;
        return errno == EWOULDBLOCK ? -EAGAIN : neg_errno();
    }
    struct flock fl = record(l, l.type);
    if (::fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    return errno == EACCES ? -EAGAIN : neg_errno();
}

// Only locks of other descriptions are reported: the guest's own (held on
// fd) never conflict with themselves.
int64_t FsDevice::lock_get(abi::FsLock& l, int fd) {
    if (l.kind != abi::kFsLockRecord)
        return -EINVAL;
    struct flock fl = record(l, l.type);
    if (::fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return neg_errno();
    l.type = static_cast<uint32_t>(fl.l_type);
    l.start = static_cast<uint64_t>(fl.l_start);
    l.len = static_cast<uint64_t>(fl.l_len);
    return 0;
}

Result<int64_t> FsDevice::op_lock(GuestMemory& mem, const abi::HcFs& hc) {
    abi::FsLock l = TRY(mem.read<abi::FsLock>(hc.buf));
    if (!valid(l))
        return -EINVAL;
    if (l.cmd == abi::kFsLockDrop) {
        m_lock_fds.erase(std::make_pair(l.dev, l.ino));  // closing the description drops its locks
        return 0;
    }
    UniqueFd temporary;
    int fd = lock_fd(hc, l, &temporary);
    if (fd < 0)
        return fd;
    if (l.cmd == abi::kFsLockSet)
        return lock_set(l, fd);
    int64_t r = lock_get(l, fd);
    if (r == 0)
        TRY(mem.write(hc.buf, l));
    return r;
}

}  // namespace lightvm

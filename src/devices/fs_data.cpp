// File data: open, close, read, write, sendfile, directories, batches.
#include "devices/fs.hpp"

#include <sys/sendfile.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/stop.hpp"
#include "devices/fs_host.hpp"
#include "devices/fs_owner.hpp"

namespace lightvm {

using namespace fs_detail;

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
        if (((host & O_ACCMODE) != O_RDONLY || (host & O_TRUNC)) && is_busy(before))
            return -ETXTBSY;
        r = open_checked(hc, b, path, host, &before);
    }
    return r;
}

// The real open, with O_NONBLOCK so that nothing can block the monitor, and
// a check that it opened what was looked at (or, when creating, a regular
// file): a swap in between is EAGAIN (the caller looks again).
int64_t FsDevice::open_checked(abi::HcFs& hc, const Base& b, const std::string& path, uint32_t host,
                               const struct stat* before) {
    uint64_t mode = 0;  // openat2 insists on 0 without O_CREAT
    if (host & O_CREAT)
        mode = mapped(b.share) ? fs_owner::host_mode(hc.mode, false) : host_mode(hc.mode, false);
    int fd = open_below(b, path, host | O_NONBLOCK | O_NOCTTY, mode);
    if (fd < 0)
        return fd;
    UniqueFd file(fd);
    struct stat st{};
    if (::fstat(fd, &st) < 0)
        return neg_errno();
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return -ENXIO;
    if (!before && (host & O_CREAT) && st.st_size == 0)  // made now (or empty and unlooked-at: O_EXCL races aside)
        new_owner(hc, b.share, fd, "", hc.mode & 07777);
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

// The guest's open of /dev/fd/N or /proc/PID/fd/N: Linux opens the file
// anew (a new open file description with its own offset and access mode),
// so the monitor opens the handle's file again through its /proc link,
// with the share's read-only rule.
int64_t FsDevice::op_reopen(abi::HcFs& hc) {
    uint32_t flags = hc.flags;
    if ((flags & ~kOpenAllowed) || (flags & O_ACCMODE) == O_ACCMODE)
        return -EINVAL;
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    uint32_t host = flags & kOpenPassed & ~static_cast<uint32_t>(O_CREAT | O_EXCL | O_NOFOLLOW);
    if (h->read_only && ((host & O_ACCMODE) != O_RDONLY || (host & O_TRUNC)))
        return -EROFS;
    if (m_open_handles >= kMaxHandles)
        return -EMFILE;
    int fd = ::open(proc_fd_path(h->fd.get()).c_str(), static_cast<int>(host | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (fd < 0)
        return neg_errno();
    UniqueFd file(fd);
    struct stat st{};
    if (::fstat(fd, &st) < 0)
        return neg_errno();
    if (!(hc.flags & O_NONBLOCK)) {
        int fl = ::fcntl(fd, F_GETFL);
        if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
            return neg_errno();
    }
    Base b;
    b.share = h->share;
    b.read_only = h->read_only;
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
    const uint64_t len = std::min<uint64_t>(hc.len, kMaxTransfer);
    std::vector<uint8_t> buf;
    while (done < len) {
        // Bounded work per exit: a stop request (timeout, SIGTERM) ends the
        // copy with what was done, as a signal ends a Linux sendfile.
        if (stop_requested())
            return done ? static_cast<int64_t>(done) : -EINTR;
        size_t chunk = static_cast<size_t>(std::min<uint64_t>(len - done, 1u << 20));
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
                continue;  // the loop head sees a stop
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
    guest_view(h->share, h->fd.get(), nullptr, st);
    std::memcpy(out.data(), &st, sizeof st);
    return 0;
}

// The `..` entry of a share's root names the host directory above the share:
// nothing about it may reach the guest. As at the root of a Linux file
// system, `..` there is the root itself (its inode, and its stat for
// readdirplus). Records are the host's own output, walked with bounds checks.
void FsDevice::hide_above_root(const Handle& h, uint8_t* buf, uint64_t n, uint8_t* stats, uint64_t cap) {
    struct stat self{}, root{};
    bool known = false, is_root = false;
    for (uint64_t off = 0, i = 0; off + 19 < n; ++i) {
        uint16_t reclen;
        std::memcpy(&reclen, buf + off + 16, 2);
        if (reclen < 20 || off + reclen > n)
            break;
        const char* name = reinterpret_cast<const char*>(buf + off + 19);
        if (reclen - 19 >= 3 && std::memcmp(name, "..", 3) == 0) {
            if (!known) {
                known = true;
                is_root = h.share < m_roots.size() && ::fstat(h.fd.get(), &self) == 0 &&
                          ::fstat(m_roots[h.share].get(), &root) == 0 && self.st_dev == root.st_dev &&
                          self.st_ino == root.st_ino;
            }
            if (is_root) {
                uint64_t ino = self.st_ino;
                std::memcpy(buf + off, &ino, sizeof ino);
                if (stats && i < cap) {
                    struct stat seen = self;
                    guest_view(h.share, h.fd.get(), nullptr, seen);
                    std::memcpy(stats + i * sizeof(struct stat), &seen, sizeof seen);
                }
            }
        }
        off += reclen;
    }
}

Result<int64_t> FsDevice::op_getdents(GuestMemory& mem, const abi::HcFs& hc) {
    // The host's linux_dirent64 records are the guest's: no translation.
    auto buf = TRY(mem.span(hc.buf, std::min(hc.len, kMaxDirentBytes)));
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    long n = ::syscall(SYS_getdents64, h->fd.get(), buf.data(), buf.size());
    if (n < 0)
        return neg_errno();
    hide_above_root(*h, buf.data(), static_cast<uint64_t>(n), nullptr, 0);
    return n;
}

// getdents + lstat of every entry in one exit ("readdirplus"): `ls -l`,
// `du`, `find` then stat names the guest kernel already knows.
// One kFsOptLinks record for the symlink `name` (a directory entry, no
// slash) into out: its size, or 0 when the target does not fit or cannot
// be read (the guest then asks with kFsReadlink).
uint64_t FsDevice::link_record(int dirfd, const char* name, uint32_t index, std::span<uint8_t> out) {
    constexpr uint64_t kHead = sizeof(abi::FsLinkRecord);
    if (out.size() <= kHead)
        return 0;
    ssize_t n = ::readlinkat(dirfd, name, reinterpret_cast<char*>(out.data() + kHead), out.size() - kHead);
    if (n <= 0 || static_cast<uint64_t>(n) >= out.size() - kHead)
        return 0;  // an error, or possibly cut short
    abi::FsLinkRecord rec{index, static_cast<uint32_t>(n)};
    std::memcpy(out.data(), &rec, kHead);
    return kHead + static_cast<uint64_t>(n);
}

Result<int64_t> FsDevice::op_getdents_plus(GuestMemory& mem, abi::HcFs& hc) {
    constexpr uint64_t kStat = sizeof(struct stat);
    uint64_t cap = hc.mode;
    auto stats = TRY(mem.span(static_cast<uint64_t>(hc.offset2), cap * kStat));
    // Never return more records than there are stat slots (records are >= 24 bytes).
    uint64_t len = std::min<uint64_t>({hc.len, kMaxDirentBytes, cap * 24});
    auto buf = TRY(mem.span(hc.buf, len));
    std::span<uint8_t> links;  // kFsOptLinks: symlink targets (abi.h)
    if (hc.options & abi::kFsOptLinks)
        links = TRY(mem.span(hc.path2, std::min<uint64_t>(hc.path2_len, kMaxDirentBytes)));
    uint64_t used = 0;
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
        if (strnlen(name, max_name) == max_name || ::fstatat(h->fd.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            st = {};
        else
            guest_view(h->share, h->fd.get(), name, st);
        std::memcpy(stats.data() + i * kStat, &st, kStat);
        if (S_ISLNK(st.st_mode) && links.size() - used >= sizeof(abi::FsLinkRecord))
            used += link_record(h->fd.get(), name, static_cast<uint32_t>(i), links.subspan(used));
        off += reclen;
        ++i;
    }
    hide_above_root(*h, buf.data(), static_cast<uint64_t>(n), stats.data(), cap);
    hc.aux = used;
    return n;
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

bool FsDevice::is_busy(const struct stat& st) const {
    for (const auto& f : m_busy)
        if (f.dev == st.st_dev && f.ino == st.st_ino)
            return true;
    return false;
}

int64_t FsDevice::op_truncate(const abi::HcFs& hc) {
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    if (h->read_only)
        return -EROFS;
    if (hc.offset < 0)
        return -EINVAL;
    struct stat st{};
    if (!m_busy.empty() && ::fstat(h->fd.get(), &st) == 0 && is_busy(st))
        return -ETXTBSY;
    return ::ftruncate(h->fd.get(), hc.offset) < 0 ? neg_errno() : 0;
}

// The modes the host file system supports (EOPNOTSUPP otherwise, as the
// guest would hear from Linux); the host checks offset, length and mode.
int64_t FsDevice::op_fallocate(const abi::HcFs& hc) {
    Handle* h = handle(hc.handle);
    if (!h)
        return -EBADF;
    if (h->read_only)
        return -EROFS;
    struct stat st{};
    if (!m_busy.empty() && ::fstat(h->fd.get(), &st) == 0 && is_busy(st))
        return -ETXTBSY;
    return ::fallocate(h->fd.get(), static_cast<int>(hc.flags), hc.offset, static_cast<off_t>(hc.len)) < 0
               ? neg_errno()
               : 0;
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


}  // namespace lightvm

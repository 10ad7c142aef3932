#include "devices/block.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>

#include "common/stop.hpp"
#include "lightvm/abi.h"

namespace lightvm {

Result<BlockDevice> BlockDevice::open(const std::string& path, bool read_only) {
    const std::string where = "--disk " + path;
    // O_NONBLOCK until the type is known: opening a FIFO read-only would
    // wait for a writer forever.
    int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    UniqueFd fd(::open(path.c_str(), flags));
    if (!fd.valid())
        return sys_error(where);
    struct stat st{};
    if (::fstat(fd.get(), &st) < 0)
        return sys_error(where);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return make_error(ErrorKind::BadInput, where, "not a regular file or block device");
    if (::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK) < 0)
        return sys_error(where);
    // Advisory, but every lightvm honours it: one writer or many readers.
    if (::flock(fd.get(), (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return tl::unexpected(Error{ErrorKind::System, EWOULDBLOCK, where, "in use by another VM"});
        return sys_error(where);
    }
    uint64_t capacity = static_cast<uint64_t>(st.st_size);
    if (S_ISBLK(st.st_mode) && ::ioctl(fd.get(), BLKGETSIZE64, &capacity) < 0)
        return sys_error(where + ": BLKGETSIZE64");

    BlockDevice dev;
    dev.m_fd = std::move(fd);
    dev.m_path = path;
    dev.m_capacity = capacity;
    dev.m_read_only = read_only;
    return dev;
}

// Move up to `len` bytes at `offset` (already clipped to the capacity),
// looping over short transfers. Bytes moved, or -errno if none were.
int64_t BlockDevice::transfer(uint8_t* data, uint64_t len, uint64_t offset, bool write) {
    uint64_t done = 0;
    while (done < len) {
        if (stop_requested()) {  // bounded work once the VM is being stopped
            if (done == 0)
                return -EINTR;
            break;
        }
        size_t chunk = static_cast<size_t>(std::min<uint64_t>(len - done, 64ull << 20));
        off_t at = static_cast<off_t>(offset + done);
        ssize_t n = write ? ::pwrite(m_fd.get(), data + done, chunk, at) : ::pread(m_fd.get(), data + done, chunk, at);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (done == 0)
                return -static_cast<int64_t>(errno);
            break;
        }
        if (n == 0)  // the file shrank under us: short read
            break;
        done += static_cast<uint64_t>(n);
    }
    (write ? m_bytes_written : m_bytes_read) += done;
    return static_cast<int64_t>(done);
}

Result<void> BlockDevice::hypercall(GuestMemory& mem, uint64_t arg_gpa) {
    auto hc = TRY(mem.read<abi::HcBlock>(arg_gpa));
    switch (hc.op) {
    case abi::kBlockRead:
    case abi::kBlockWrite: {
        auto buf = TRY(mem.span(hc.buf, hc.len));
        const bool write = hc.op == abi::kBlockWrite;
        if (write && m_read_only) {
            hc.result = -EROFS;
        } else if (hc.offset >= m_capacity) {
            hc.result = write && hc.len > 0 ? -ENOSPC : 0;
        } else {
            uint64_t len = std::min(hc.len, m_capacity - hc.offset);  // no overflow: offset < capacity
            hc.result = transfer(buf.data(), len, hc.offset, write);
        }
        break;
    }
    case abi::kBlockFlush:
        // fdatasync: the data (and the size, were it to change) reach the disk.
        hc.result = ::fdatasync(m_fd.get()) < 0 ? -static_cast<int64_t>(errno) : 0;
        break;
    default:
        return make_error(ErrorKind::GuestFault, "block", "unknown operation " + std::to_string(hc.op));
    }
    return mem.write(arg_gpa + offsetof(abi::HcBlock, result), hc.result);
}

}  // namespace lightvm

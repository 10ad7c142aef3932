// Block device, host half: a host file (or block device) served to the
// guest one kHcBlock request at a time, straight between guest memory and
// the file. The file is flock()ed for as long as the device lives, so two
// VMs cannot write the same disk image.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "memory/guest_memory.hpp"

namespace lightvm {

class BlockDevice {
public:
    // Opens FILE (a regular file or a block device) read-write, or
    // read-only, and locks it: exclusively, or shared when read-only.
    // Errors are one line naming the flag: NotFound "--disk FILE: No such
    // file or directory", "--disk FILE: in use by another VM", BadInput
    // "--disk FILE: not a regular file or block device".
    static Result<BlockDevice> open(const std::string& path, bool read_only);

    BlockDevice(BlockDevice&&) noexcept = default;
    BlockDevice& operator=(BlockDevice&&) noexcept = default;
    BlockDevice(const BlockDevice&) = delete;
    BlockDevice& operator=(const BlockDevice&) = delete;

    // One kHcBlock request. Reads past the capacity are short (0 at or after
    // the end); writes at or after it get -ENOSPC, a write straddling it is
    // short; writes to a read-only device get -EROFS; kBlockFlush is
    // fdatasync. Host errors become -errno. A guest range outside guest
    // memory or an unknown op is an ErrorKind::GuestFault error. The device
    // index in the request is the caller's to check.
    Result<void> hypercall(GuestMemory& mem, uint64_t arg_gpa);

    uint64_t capacity() const { return m_capacity; }
    int fd() const { return m_fd.get(); }  // snapshots: the file's identity
    bool read_only() const { return m_read_only; }
    const std::string& path() const { return m_path; }
    uint64_t bytes_read() const { return m_bytes_read; }
    uint64_t bytes_written() const { return m_bytes_written; }

private:
    BlockDevice() = default;

    int64_t transfer(uint8_t* data, uint64_t len, uint64_t offset, bool write);

    UniqueFd m_fd;
    std::string m_path;
    uint64_t m_capacity = 0;
    bool m_read_only = false;
    uint64_t m_bytes_read = 0;
    uint64_t m_bytes_written = 0;
};

}  // namespace lightvm

// A VM's log as lightvmd keeps it: guest output appended to
// STATE_DIR/vms/ID/output.log, at most `max` bytes per file, the previous
// file kept as output.log.1. Used by the supervisor of a VM the daemon
// started and by the one of a VM it found again after a restart.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>

#include "common/unique_fd.hpp"

namespace lightvm::daemon {

// Appends guest output to the VM's log, keeping at most two files of
// `max` bytes: output.log and the previous one, output.log.1.
class LogWriter {
public:
    LogWriter(std::string dir, uint64_t max) : m_dir(std::move(dir)), m_max(max) { open(); }
    // One read of the guest's output pipe into the log; false once it is
    // at its end (or broken).
    bool pump(int fd) {
        char buf[65536];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0)
            write(buf, static_cast<size_t>(n));
        return n > 0 || (n < 0 && errno == EINTR);
    }
    void write(const char* data, size_t n) {
        while (n) {
            if (m_size >= m_max)
                rotate();
            size_t chunk = std::min<uint64_t>(n, m_max - m_size);
            ssize_t w = ::write(m_fd.get(), data, chunk);
            if (w <= 0)
                return;  // disk full: drop output rather than stall the guest
            m_size += static_cast<uint64_t>(w);
            data += w;
            n -= static_cast<size_t>(w);
        }
    }

private:
    void open() {
        m_fd = UniqueFd(::open((m_dir + "/output.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
        struct stat st;
        m_size = m_fd.valid() && ::fstat(m_fd.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    }
    void rotate() {
        ::rename((m_dir + "/output.log").c_str(), (m_dir + "/output.log.1").c_str());
        open();
    }
    std::string m_dir;
    uint64_t m_max;
    UniqueFd m_fd;
    uint64_t m_size = 0;
};

}  // namespace lightvm::daemon

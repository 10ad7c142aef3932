#include "devices/console.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "lightvm/abi.h"

namespace lightvm {

namespace {

Result<void> hostile(std::string what) {
    return make_error(ErrorKind::GuestFault, "console", std::move(what));
}

void sigpipe(Outcome& outcome) {
    outcome.finished = true;
    outcome.signal = SIGPIPE;
    outcome.status = 128 + SIGPIPE;
}

}  // namespace

int Console::host_fd(uint32_t stream) const {
    switch (stream) {
    case abi::kStreamStdout:
        return m_out;
    case abi::kStreamStderr:
        return m_err;
    case abi::kStreamTrace:
        return m_trace;
    default:
        return -1;
    }
}

bool Console::write_all(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= static_cast<size_t>(w);
        m_bytes_out += static_cast<uint64_t>(w);
    }
    return true;
}

Result<void> Console::drain(Outcome& outcome) {
    constexpr uint64_t size = abi::kConsoleDataSize;
    auto header = TRY(m_mem.span(abi::kConsoleGpa, sizeof(abi::ConsoleRing)));
    auto data = TRY(m_mem.span(abi::kConsoleGpa + abi::kConsoleDataOffset, size));
    auto* ring = reinterpret_cast<abi::ConsoleRing*>(header.data());
    uint32_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
    uint32_t tail = ring->tail;
    if (head - tail > size)
        return hostile("ring corrupt: " + std::to_string(head - tail) + " bytes pending in a " +
                       std::to_string(size) + "-byte ring");
    auto copy_out = [&](uint32_t pos, uint8_t* dst, uint32_t n) {
        uint32_t off = pos & (size - 1);
        uint32_t first = std::min<uint32_t>(n, size - off);
        std::memcpy(dst, data.data() + off, first);
        std::memcpy(dst + first, data.data(), n - first);
    };
    while (tail != head) {
        uint32_t pending = head - tail;
        if (pending < 4)
            return hostile("ring corrupt: truncated record header");
        uint32_t hdr;
        copy_out(tail, reinterpret_cast<uint8_t*>(&hdr), 4);
        uint32_t stream = hdr >> 24, len = hdr & 0xffffff;
        if (len > abi::kConsoleMaxRecord || len > pending - 4)
            return hostile("ring corrupt: record of " + std::to_string(len) + " bytes with " +
                           std::to_string(pending - 4) + " pending");
        int fd = host_fd(stream);
        if (fd < 0)
            return hostile("ring corrupt: unknown stream " + std::to_string(stream));
        // Write in place (at most two pieces when the record wraps).
        uint32_t off = (tail + 4) & (size - 1);
        uint32_t first = std::min<uint32_t>(len, size - off);
        bool ok = write_all(fd, data.data() + off, first) && write_all(fd, data.data(), len - first);
        tail += 4 + len;
        if (!ok) {
            if (errno == EPIPE && stream != abi::kStreamTrace) {
                sigpipe(outcome);
                break;
            }
            int saved = errno;
            __atomic_store_n(&ring->tail, tail, __ATOMIC_RELEASE);
            return sys_error(stream == abi::kStreamStdout   ? "writing guest stdout"
                             : stream == abi::kStreamStderr ? "writing guest stderr"
                                                            : "writing the syscall trace",
                             saved);
        }
    }
    __atomic_store_n(&ring->tail, head, __ATOMIC_RELEASE);
    return {};
}

Result<void> Console::hc_write(uint64_t arg_gpa, Outcome& outcome) {
    auto io = TRY(m_mem.read<abi::HcIo>(arg_gpa));
    int fd = (io.fd == 1 || io.fd == 2) ? host_fd(io.fd) : -1;
    if (fd < 0) {
        io.result = -EBADF;
    } else {
        auto buf = TRY(m_mem.span(io.buf, io.len));
        if (write_all(fd, buf.data(), buf.size())) {
            io.result = static_cast<int64_t>(io.len);
        } else if (errno == EPIPE) {
            sigpipe(outcome);
            io.result = -EPIPE;
        } else {
            return sys_error(io.fd == 1 ? "writing guest stdout" : "writing guest stderr");
        }
    }
    return m_mem.write(arg_gpa, io);
}

Result<void> Console::hc_stdin_seek(uint64_t arg_gpa) {
    auto hc = TRY(m_mem.read<abi::HcSeek>(arg_gpa));
    if (hc.whence > SEEK_END) {
        hc.result = -EINVAL;
    } else {
        off_t r = ::lseek(m_in, static_cast<off_t>(hc.offset), static_cast<int>(hc.whence));
        hc.result = r < 0 ? -errno : r;
    }
    return m_mem.write(arg_gpa, hc);
}

Result<void> Console::hc_read(uint64_t arg_gpa) {
    auto io = TRY(m_mem.read<abi::HcIo>(arg_gpa));
    if (io.fd != 0) {
        io.result = -EBADF;
    } else {
        auto buf = TRY(m_mem.span(io.buf, io.len));
        ssize_t n = ::read(m_in, buf.data(), buf.size());
        io.result = n < 0 ? -errno : n;
    }
    return m_mem.write(arg_gpa, io);
}

}  // namespace lightvm

#include "devices/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/stop.hpp"
#include "common/unique_fd.hpp"
#include "lightvm/abi.h"

namespace lightvm {

namespace {

Result<void> hostile(std::string what) {
    return make_error(ErrorKind::GuestFault, "console", std::move(what));
}

void sigpipe(Outcome& outcome) {
    outcome.killed(SIGPIPE);
}

bool writable_now(int fd) {
    pollfd p{fd, POLLOUT, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
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

void Console::set_log(int dir_fd, uint64_t max) {
    struct stat st{};
    m_log_dir = dir_fd;
    m_log_max = max ? max : 1;
    m_log_size = ::fstat(m_out, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool Console::rotate_log() {
    if (::renameat(m_log_dir, "output.log", m_log_dir, "output.log.1") < 0)
        return false;
    UniqueFd fresh(::openat(m_log_dir, "output.log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
    // The same descriptor numbers: whoever else writes the guest's stdio
    // (the fs device's sendfile, the trace) follows.
    for (int fd : {m_out, m_err})
        if (!fresh.valid() || ::dup3(fresh.get(), fd, O_CLOEXEC) < 0)
            return false;
    m_log_size = 0;
    return true;
}

bool Console::write_all(int fd, const uint8_t* p, size_t n) {
    if (m_log_dir < 0 || (fd != m_out && fd != m_err))
        return write_out(fd, p, n);
    while (n > 0) {
        if (m_log_size >= m_log_max && !rotate_log())
            return true;  // cannot rotate: output beyond the limit is dropped, as on a full disk
        const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, m_log_max - m_log_size));
        if (!write_out(fd, p, chunk))
            return errno == ENOSPC || errno == EDQUOT;  // a full disk drops output, never the VM
        m_log_size += chunk;
        p += chunk;
        n -= chunk;
    }
    return true;
}

bool Console::write_out(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
        // Once the VM is being stopped (--timeout, SIGTERM), output that
        // cannot be written at once is dropped: a reader that stopped
        // reading must not keep the monitor alive.
        if (stop_requested() && !writable_now(fd)) {
            errno = EINTR;
            return false;
        }
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;  // a stop request is seen above
            return false;
        }
        p += w;
        n -= static_cast<size_t>(w);
        m_bytes_out += static_cast<uint64_t>(w);
    }
    return true;
}

// Trace lines are written by the guest kernel, which is as untrusted as the
// app: it must not be able to forge the monitor's own messages on our
// stderr. Control characters (terminal escapes, '\r' overwrites) become
// '?', and a line that would start like one of ours ("lightvm...") is
// marked as the guest's. The line state carries across records, so a line
// split over several records is caught too.
bool Console::write_trace(const uint8_t* p, size_t n) {
    static constexpr char kMark[] = "[guest] ";
    static constexpr std::string_view kOurs = "lightvm";
    std::string out;
    out.reserve(n + 16);
    for (size_t i = 0; i < n; ++i) {
        char c = static_cast<char>(p[i]);
        if (m_trace_col < kOurs.size()) {
            // Hold back a possible "lightvm" prefix until it is decided.
            if (c == kOurs[m_trace_col]) {
                m_trace_held.push_back(c);
                if (++m_trace_col == kOurs.size()) {
                    out += kMark;
                    out += m_trace_held;
                    m_trace_held.clear();
                    m_trace_col = SIZE_MAX;  // rest of the line passes
                }
                continue;
            }
            out += m_trace_held;
            m_trace_held.clear();
            m_trace_col = SIZE_MAX;
        }
        if (c == '\n') {
            out.push_back(c);
            m_trace_col = 0;
            continue;
        }
        unsigned char u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 && c != '\t' ? '?' : u == 0x7f ? '?' : c);
    }
    return write_all(m_trace, reinterpret_cast<const uint8_t*>(out.data()), out.size());
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
        if (fd < 0 && stream != abi::kStreamTrace)
            return hostile("ring corrupt: unknown stream " + std::to_string(stream));
        // Write in place (at most two pieces when the record wraps).
        uint32_t off = (tail + 4) & (size - 1);
        uint32_t first = std::min<uint32_t>(len, size - off);
        bool ok;
        if (stream == abi::kStreamTrace)  // dropped without --trace; never raw guest bytes on our stderr
            ok = fd < 0 || (write_trace(data.data() + off, first) && write_trace(data.data(), len - first));
        else
            ok = write_all(fd, data.data() + off, first) && write_all(fd, data.data(), len - first);
        tail += 4 + len;
        if (!ok) {
            if (errno == EPIPE && stream != abi::kStreamTrace) {
                sigpipe(outcome);
                break;
            }
            if (errno == EINTR && stop_requested())
                break;  // the run loop ends the VM as stopped
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
        } else if (errno == EINTR && stop_requested()) {
            io.result = -EINTR;  // the run loop ends the VM as stopped
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
        if (r >= 0)
            m_bytes_in = UINT64_MAX;
    }
    return m_mem.write(arg_gpa, hc);
}

Result<void> Console::hc_read(uint64_t arg_gpa) {
    auto io = TRY(m_mem.read<abi::HcIo>(arg_gpa));
    if (io.fd != 0) {
        io.result = -EBADF;
    } else {
        auto buf = TRY(m_mem.span(io.buf, io.len));
        ssize_t n;
        do  // a --save's kick is not the guest's business (common/stop.hpp)
            n = ::read(m_in, buf.data(), buf.size());
        while (n < 0 && errno == EINTR && pause_only());
        io.result = n < 0 ? -errno : n;
        if (n > 0 && m_bytes_in != UINT64_MAX)
            m_bytes_in += static_cast<uint64_t>(n);
    }
    return m_mem.write(arg_gpa, io);
}

Result<void> Console::hc_tty(uint64_t arg_gpa) {
    const auto req = TRY(m_mem.read<abi::HcTty>(arg_gpa));
    const int64_t result = m_tty.apply(req);
    return m_mem.write<int64_t>(arg_gpa + offsetof(abi::HcTty, result), result);
}

Result<void> Console::resume_tty() {
    constexpr uint64_t valid_at = abi::kBootInfoGpa + offsetof(abi::BootInfo, tty_valid);
    constexpr uint64_t state_at = abi::kBootInfoGpa + offsetof(abi::BootInfo, tty);
    if (!m_tty.present() || !TRY(m_mem.read<uint32_t>(valid_at)))
        return {};
    abi::HcTty req{};
    req.op = abi::kTtySetAttr;
    req.when = abi::kTtyNow;
    req.state = TRY(m_mem.read<abi::TtyState>(state_at));
    req.state.rows = req.state.cols = req.state.xpixel = req.state.ypixel = 0;  // settings only
    // Settings the monitor would refuse from the guest (a forged snapshot)
    // leave the terminal as it is, as a refused TCSETS would.
    (void)m_tty.apply(req);
    TRY(refresh_window_size());
    return {};
}

Result<bool> Console::refresh_window_size() {
    constexpr uint64_t at = abi::kBootInfoGpa + offsetof(abi::BootInfo, tty);
    auto s = TRY(m_mem.read<abi::TtyState>(at));
    if (!m_tty.window_size(s))
        return false;
    TRY(m_mem.write(at, s));
    return true;
}

}  // namespace lightvm

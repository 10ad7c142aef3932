#include "migration/wire.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace lightvm::migration {

namespace {

constexpr uint64_t kPage = 4096;

tl::unexpected<Error> bad(const std::string& msg) {
    return make_error(ErrorKind::BadInput, "migration", msg);
}

Result<void> io_error(const char* what) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return make_error(ErrorKind::System, "migration", std::string(what) + ": the peer did not answer in time");
    return sys_error(std::string("migration: ") + what);
}

Result<void> write_all(int fd, iovec* iov, int count) {
    while (count > 0) {
        ssize_t w = ::writev(fd, iov, count);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? io_error("send") : bad("send: connection closed");
        auto left = static_cast<size_t>(w);
        while (count > 0 && left >= iov->iov_len)
            left -= iov->iov_len, ++iov, --count;
        if (count > 0) {
            iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
    return {};
}

}  // namespace

const char* frame_name(uint32_t type) {
    switch (static_cast<Frame>(type)) {
    case Frame::Hello: return "hello";
    case Frame::Accept: return "accept";
    case Frame::Pages: return "pages";
    case Frame::Zero: return "zero";
    case Frame::State: return "state";
    case Frame::End: return "end";
    case Frame::Ready: return "ready";
    case Frame::Go: return "go";
    case Frame::Started: return "started";
    case Frame::Error: return "error";
    }
    return "unknown";
}

Result<void> check_header(const Header& h, uint64_t mem_size) {
    const std::string name = frame_name(h.type);
    if (name == "unknown")
        return bad("unknown frame type " + std::to_string(h.type));
    if (h.flags != 0)
        return bad(name + " frame: flags " + std::to_string(h.flags) + " (this lightvm knows none)");
    const auto type = static_cast<Frame>(h.type);
    switch (type) {
    case Frame::Hello:
    case Frame::Accept:
    case Frame::Ready:
    case Frame::Started:
    case Frame::Error:
        if (h.len > kMaxJson)
            return bad(name + " frame of " + std::to_string(h.len) + " bytes (at most " + std::to_string(kMaxJson) + ")");
        return {};
    case Frame::End:
    case Frame::Go:
        if (h.len != 0)
            return bad(name + " frame with a payload");
        return {};
    case Frame::State:
        if (h.len == 0 || h.len > kMaxState)
            return bad("state frame of " + std::to_string(h.len) + " bytes");
        return {};
    case Frame::Pages:
    case Frame::Zero:
        break;
    }
    if (mem_size == 0)
        return bad(name + " frame before hello");
    if ((h.a | h.len) % kPage || h.len == 0 || (type == Frame::Pages && h.len > kMaxPagesFrame))
        return bad(name + " frame " + std::to_string(h.a) + "+" + std::to_string(h.len) + " is not a page-aligned run" +
                   (type == Frame::Pages ? " of at most " + std::to_string(kMaxPagesFrame) + " bytes" : ""));
    if (h.a > mem_size || h.len > mem_size - h.a)
        return bad(name + " frame at " + std::to_string(h.a) + "+" + std::to_string(h.len) + " is outside guest RAM (" +
                   std::to_string(mem_size) + " bytes)");
    return {};
}

Result<void> send_frame(int fd, Frame type, uint64_t a, std::span<const uint8_t> payload) {
    Header h{static_cast<uint32_t>(type), 0, a, payload.size()};
    iovec iov[2] = {{&h, sizeof h}, {const_cast<uint8_t*>(payload.data()), payload.size()}};
    return write_all(fd, iov, payload.empty() ? 1 : 2);
}

Result<void> send_frame(int fd, Frame type, const std::string& text) {
    return send_frame(fd, type, 0, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Result<void> send_zero(int fd, uint64_t gpa, uint64_t len) {
    Header h{static_cast<uint32_t>(Frame::Zero), 0, gpa, len};
    iovec iov{&h, sizeof h};
    return write_all(fd, &iov, 1);
}

Result<void> recv_exact(int fd, void* buf, uint64_t n) {
    auto* p = static_cast<uint8_t*>(buf);
    while (n) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? io_error("receive") : bad("connection closed by the peer");
        p += r, n -= static_cast<uint64_t>(r);
    }
    return {};
}

Result<Header> recv_header(int fd, uint64_t mem_size) {
    Header h;
    TRY(recv_exact(fd, &h, sizeof h));
    TRY(check_header(h, mem_size));
    return h;
}

Result<std::string> recv_text(int fd, const Header& h) {
    std::string text(h.len, '\0');
    TRY(recv_exact(fd, text.data(), h.len));
    return text;
}

Result<std::string> expect_text(int fd, Frame want, uint64_t mem_size) {
    Header h = TRY(recv_header(fd, mem_size));
    if (h.type == static_cast<uint32_t>(Frame::Error) && want != Frame::Error)
        return bad("the peer gave up: " + TRY(recv_text(fd, h)));
    if (h.type != static_cast<uint32_t>(want))
        return bad(std::string("expected a ") + frame_name(static_cast<uint32_t>(want)) + " frame, got " +
                   frame_name(h.type));
    return recv_text(fd, h);
}

}  // namespace lightvm::migration

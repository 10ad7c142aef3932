#include "cli/client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cctype>
#include <cstring>

#include "common/unique_fd.hpp"

namespace lightvm::cli {

namespace {

Result<void> write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return sys_error("lightvmd socket");
        s.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

// Buffered reader over the socket.
class Reader {
public:
    explicit Reader(int fd) : m_fd(fd) {}
    // Reads until `buf` holds at least n bytes past pos; false on EOF.
    bool fill(size_t n) {
        while (m_buf.size() - m_pos < n) {
            char tmp[65536];
            ssize_t r = ::read(m_fd, tmp, sizeof tmp);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return false;
            m_buf.append(tmp, static_cast<size_t>(r));
        }
        return true;
    }
    // A line ending in CRLF, without it; false on EOF.
    bool line(std::string& out) {
        for (;;) {
            size_t e = m_buf.find("\r\n", m_pos);
            if (e != std::string::npos) {
                out = m_buf.substr(m_pos, e - m_pos);
                m_pos = e + 2;
                return true;
            }
            if (!fill(m_buf.size() - m_pos + 1))
                return false;
        }
    }
    std::string take(size_t n) {
        std::string s = m_buf.substr(m_pos, n);
        m_pos += n;
        if (m_pos > 65536) {
            m_buf.erase(0, m_pos);
            m_pos = 0;
        }
        return s;
    }
    size_t available() const { return m_buf.size() - m_pos; }

private:
    int m_fd;
    std::string m_buf;
    size_t m_pos = 0;
};

Error protocol_error(const std::string& what) { return Error{ErrorKind::System, 0, "lightvmd", what}; }

}  // namespace

std::string url_encode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", c);
            out += b;
        }
    }
    return out;
}

Result<HttpResponse> http_request(const std::string& socket_path, std::string_view method, std::string_view target,
                                  std::string_view body, const std::function<bool(std::string_view)>& on_data) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path)
        return make_error(ErrorKind::BadInput, "--socket", "path too long");
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return tl::unexpected(Error{ErrorKind::NotFound, errno, "cannot reach lightvmd at " + socket_path, ""});
    std::string req;
    req.reserve(256 + body.size());
    req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: lightvmd\r\nConnection: close\r\n");
    req.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    req.append(body);
    TRY(write_all(fd.get(), req));

    Reader in(fd.get());
    std::string line;
    if (!in.line(line) || line.size() < 12 || line.compare(0, 5, "HTTP/") != 0)
        return tl::unexpected(protocol_error("malformed response"));
    HttpResponse res;
    res.status = std::atoi(line.c_str() + 9);
    long long length = -1;
    bool chunked = false;
    while (in.line(line) && !line.empty()) {
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::string name = line.substr(0, colon), value = line.substr(colon + 1);
        for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        while (!value.empty() && value.front() == ' ')
            value.erase(0, 1);
        if (name == "content-length")
            length = std::atoll(value.c_str());
        else if (name == "transfer-encoding" && value.find("chunked") != std::string::npos)
            chunked = true;
    }
    auto deliver = [&](std::string piece) {
        if (on_data)
            return on_data(piece);
        res.body += piece;
        return true;
    };
    if (chunked) {
        while (in.line(line)) {
            size_t n = std::strtoull(line.c_str(), nullptr, 16);
            if (n == 0)
                break;
            if (!in.fill(n + 2))
                return tl::unexpected(protocol_error("response ended early"));
            if (!deliver(in.take(n)))
                break;
            in.take(2);
        }
    } else if (length >= 0) {
        if (!in.fill(static_cast<size_t>(length)))
            return tl::unexpected(protocol_error("response ended early"));
        deliver(in.take(static_cast<size_t>(length)));
    } else {
        while (in.fill(in.available() + 1)) {
        }
        deliver(in.take(in.available()));
    }
    return res;
}

}  // namespace lightvm::cli

#include "image/stream.hpp"

#include <unistd.h>

#include <cerrno>

namespace lightvm::image {

Result<std::string_view> FdReader::next() {
    for (;;) {
        ssize_t n = ::read(m_fd.get(), m_buf.data(), m_buf.size());
        if (n >= 0)
            return std::string_view(m_buf.data(), static_cast<size_t>(n));
        if (errno != EINTR)
            return sys_error("read " + m_name);
    }
}

Result<void> drain(Reader& in) {
    while (!TRY(in.next()).empty()) {
    }
    return {};
}

Result<std::string> read_all(Reader& in, size_t limit, const std::string& what) {
    std::string out;
    for (;;) {
        std::string_view chunk = TRY(in.next());
        if (chunk.empty())
            return out;
        if (out.size() + chunk.size() > limit)
            return make_error(ErrorKind::BadInput, what, "larger than " + std::to_string(limit >> 20) + " MiB");
        out.append(chunk);
    }
}

}  // namespace lightvm::image

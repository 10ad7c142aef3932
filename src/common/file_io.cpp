#include "common/file_io.hpp"

#include <unistd.h>

#include <cerrno>

namespace lightvm {

Result<void> read_all_at(int fd, void* buf, uint64_t n, uint64_t off, const std::string& what) {
    auto* p = static_cast<uint8_t*>(buf);
    while (n) {
        ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? sys_error("read " + what) : make_error(ErrorKind::BadInput, what, "shorter than it said");
        p += r, n -= uint64_t(r), off += uint64_t(r);
    }
    return {};
}

Result<void> write_all_at(int fd, const uint8_t* p, uint64_t n, uint64_t off, const std::string& what) {
    while (n) {
        ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return sys_error("write " + what);
        }
        if (w == 0)
            return make_error(ErrorKind::System, "write " + what, "no progress");
        p += w, n -= uint64_t(w), off += uint64_t(w);
    }
    return {};
}

}  // namespace lightvm

#include "oci/cgroups/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <sstream>

namespace lightvm::oci::cgroups {

bool exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

std::optional<std::string> read_text(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    ::close(fd);
    if (n < 0)
        return std::nullopt;
    return out;
}

std::optional<uint64_t> read_u64(const std::string& path) {
    auto text = read_text(path);
    if (!text)
        return std::nullopt;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc())
        return std::nullopt;
    return v;
}

std::map<std::string, uint64_t> read_keyed(const std::string& path) {
    std::map<std::string, uint64_t> out;
    std::istringstream in(read_text(path).value_or(""));
    std::string key;
    uint64_t value;
    while (in >> key >> value)
        out[key] = value;
    return out;
}

Result<void> write_text(const std::string& path, const std::string& value) {
    int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return sys_error("open " + path);
    bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
    int err = errno;
    ::close(fd);
    if (!ok)
        return sys_error("write '" + value + "' to " + path, err);
    return {};
}

}  // namespace lightvm::oci::cgroups

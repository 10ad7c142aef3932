#include "oci/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "oci/state.hpp"

namespace lightvm::oci {

namespace {
std::string g_path;
bool g_json = false;

void append(const char* level, const std::string& message) {
    if (g_path.empty())
        return;
    int fd = ::open(g_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    std::string line = g_json ? nlohmann::json{{"level", level}, {"msg", message}, {"time", now_rfc3339()}}.dump()
                              : now_rfc3339() + " " + level + ": " + message;
    line += '\n';
    ssize_t n = ::write(fd, line.data(), line.size());
    (void)n;  // a log that cannot be written must not fail the command
    ::close(fd);
}
}  // namespace

void set_log(const std::string& path, bool json) {
    g_path = path;
    g_json = json;
}

void log_warning(const std::string& message) { append("warning", message); }

void log_error(const std::string& message) {
    std::fprintf(stderr, "lightvm-oci: %s\n", message.c_str());
    append("error", message);
}

}  // namespace lightvm::oci

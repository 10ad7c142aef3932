#include "memory/admission.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <sstream>

namespace lightvm {

namespace {

// The file's current text: procfs and cgroup files regenerate it for a
// read at offset 0. Their numbers are within the first 4 KiB.
std::optional<std::string> reread(const UniqueFd& fd) {
    if (!fd.valid())
        return std::nullopt;
    char buf[4096];
    ssize_t n = ::pread(fd.get(), buf, sizeof buf, 0);
    if (n <= 0)
        return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
}

UniqueFd open_ro(const std::string& path) { return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)); }

std::optional<uint64_t> number(const std::string& text) {
    uint64_t v = 0;
    size_t start = text.find_first_not_of(" \t");
    if (start == std::string::npos)
        return std::nullopt;
    auto [p, ec] = std::from_chars(text.data() + start, text.data() + text.size(), v);
    if (ec != std::errc())
        return std::nullopt;
    return v;
}

// Headroom of one cgroup directory, if it has a limit.
std::optional<uint64_t> headroom(const UniqueFd& limit_fd, const UniqueFd& usage_fd) {
    auto limit = reread(limit_fd);
    auto usage = reread(usage_fd);
    if (!limit || !usage || limit->rfind("max", 0) == 0)
        return std::nullopt;
    auto l = number(*limit), u = number(*usage);
    if (!l || !u || *l >= (1ull << 62))  // v1 "unlimited" is ~2^63
        return std::nullopt;
    return *l > *u ? *l - *u : 0;
}

}  // namespace

std::optional<uint64_t> parse_meminfo_available(const std::string& meminfo) {
    size_t at = meminfo.find("MemAvailable:");
    if (at == std::string::npos)
        return std::nullopt;
    auto kb = number(meminfo.substr(at + 13, 32));
    if (!kb)
        return std::nullopt;
    return *kb * 1024;
}

std::optional<std::string> parse_memory_cgroup(const std::string& proc_cgroup, bool& v2) {
    std::istringstream in(proc_cgroup);
    std::string line, unified;
    bool have_unified = false;
    while (std::getline(in, line)) {
        size_t a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos)
            continue;
        std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
        std::istringstream cs(controllers);
        std::string c;
        while (std::getline(cs, c, ','))
            if (c == "memory") {
                v2 = false;
                return path;
            }
        if (line.rfind("0::", 0) == 0) {
            unified = path;
            have_unified = true;
        }
    }
    if (!have_unified)
        return std::nullopt;
    v2 = true;
    return unified;
}

HostMemoryWatch HostMemoryWatch::open() {
    HostMemoryWatch w;
    w.m_meminfo = open_ro("/proc/meminfo");
    bool v2 = true;
    UniqueFd self = open_ro("/proc/self/cgroup");
    auto cg = reread(self);
    auto path = cg ? parse_memory_cgroup(*cg, v2) : std::nullopt;
    if (!path)
        return w;
    std::string base = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    // Our cgroup and every ancestor: the tightest limit binds.
    std::string p = *path;
    for (;;) {
        std::string dir = base + (p == "/" ? "" : p);
        Cgroup c{open_ro(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes")),
                 open_ro(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes"))};
        if (c.limit.valid() && c.usage.valid())
            w.m_cgroups.push_back(std::move(c));
        if (p.empty() || p == "/")
            break;
        size_t slash = p.rfind('/');
        p = slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
    }
    return w;
}

std::optional<uint64_t> HostMemoryWatch::available() const {
    std::optional<uint64_t> best;
    auto take = [&best](std::optional<uint64_t> v) {
        if (v)
            best = best ? std::min(*best, *v) : *v;
    };
    if (auto m = reread(m_meminfo))
        take(parse_meminfo_available(*m));
    for (const auto& c : m_cgroups)
        take(headroom(c.limit, c.usage));
    return best;
}

const HostMemoryWatch& host_memory() {
    static const HostMemoryWatch watch = HostMemoryWatch::open();
    return watch;
}

}  // namespace lightvm

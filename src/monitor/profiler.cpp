#include "monitor/profiler.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace lightvm {

namespace {
int g_output = -1;
}

void Profiler::open_output() {
    const char* path = std::getenv("LIGHTVM_PROFILE");
    if (!path || g_output >= 0)
        return;
    g_output = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (g_output < 0)
        std::fprintf(stderr, "lightvm: LIGHTVM_PROFILE: cannot write %s: %s\n", path, std::strerror(errno));
}

Profiler Profiler::from_env() {
    Profiler p;
    p.m_fd = g_output;
    if (const char* us = std::getenv("LIGHTVM_PROFILE_US")) {
        unsigned long v = std::strtoul(us, nullptr, 10);
        p.m_interval_us = std::clamp<unsigned long>(v, 20, 1000000);
    }
    return p;
}

void Profiler::write() const {
    if (!active())
        return;
    std::vector<std::pair<uint64_t, uint64_t>> rows(m_counts.begin(), m_counts.end());
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second > b.second; });
    for (auto& [rip, n] : rows)
        ::dprintf(m_fd, "%llu 0x%llx\n", static_cast<unsigned long long>(n), static_cast<unsigned long long>(rip));
}

}  // namespace lightvm

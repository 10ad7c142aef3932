// cgroup v1: one hierarchy per controller, MOUNT/<controller>/PATH.
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <set>

#include "oci/cgroups/cgroup.hpp"
#include "oci/cgroups/files.hpp"

namespace lightvm::oci::cgroups::v1 {

namespace {

using json = nlohmann::json;

// The controllers whose files lightvm-oci writes or containerd's shim reads.
const char* const kControllers[] = {"memory", "cpu", "cpuacct", "pids", "blkio", "cpuset"};

std::string dir_of(const std::string& mount, const char* controller, const std::string& path) {
    return mount + "/" + controller + path;
}

std::string limit_text(int64_t v) { return std::to_string(v < 0 ? -1 : v); }

// Writes `file` if the controller is mounted; otherwise a warning, since a
// limit asked for is not applied.
Result<void> set(const std::string& mount, const char* controller, const std::string& path, const std::string& file,
                 const std::string& value, std::vector<std::string>& warnings) {
    std::string dir = dir_of(mount, controller, path);
    if (!exists(dir + "/" + file)) {
        warnings.push_back("cgroups: " + file + " not applied (no such file in " + dir + ")");
        return {};
    }
    return write_text(dir + "/" + file, value);
}

// memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes: when a
// raise of both fails one way round, the other order works (as runc does).
Result<void> set_memory(const std::string& mount, const std::string& path, const Resources& r,
                        std::vector<std::string>& warnings) {
    std::string dir = dir_of(mount, "memory", path);
    const bool swap_file = exists(dir + "/memory.memsw.limit_in_bytes");
    if (r.memory_swap && !swap_file)
        warnings.push_back("cgroups: linux.resources.memory.swap not applied (no swap accounting on this host)");
    if (r.memory_limit) {
        auto limit = set(mount, "memory", path, "memory.limit_in_bytes", limit_text(*r.memory_limit), warnings);
        if (!limit && r.memory_swap && swap_file) {
            TRY(write_text(dir + "/memory.memsw.limit_in_bytes", limit_text(*r.memory_swap)));
            TRY(set(mount, "memory", path, "memory.limit_in_bytes", limit_text(*r.memory_limit), warnings));
        } else if (!limit) {
            return limit;
        }
    }
    if (r.memory_swap && swap_file)
        TRY(write_text(dir + "/memory.memsw.limit_in_bytes", limit_text(*r.memory_swap)));
    if (r.memory_reservation)
        TRY(set(mount, "memory", path, "memory.soft_limit_in_bytes", limit_text(*r.memory_reservation), warnings));
    return {};
}

uint64_t u64(const std::optional<uint64_t>& v) { return v.value_or(0); }

std::vector<uint64_t> numbers(const std::string& text) {
    std::vector<uint64_t> out;
    const char* p = text.c_str();
    char* end = nullptr;
    for (;;) {
        uint64_t v = std::strtoull(p, &end, 10);
        if (end == p)
            break;
        out.push_back(v);
        p = end;
    }
    return out;
}

json memory_entry(const std::string& dir, const std::string& prefix) {
    return {{"limit", u64(read_u64(dir + "/" + prefix + "limit_in_bytes"))},
            {"usage", u64(read_u64(dir + "/" + prefix + "usage_in_bytes"))},
            {"max", u64(read_u64(dir + "/" + prefix + "max_usage_in_bytes"))},
            {"failcnt", u64(read_u64(dir + "/" + prefix + "failcnt"))}};
}

json cpu_stats(const std::string& mount, const std::string& path) {
    const std::string acct = dir_of(mount, "cpuacct", path);
    // cpuacct.stat counts clock ticks; runc reports nanoseconds.
    const uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    auto ticks = read_keyed(acct + "/cpuacct.stat");
    auto throttled = read_keyed(dir_of(mount, "cpu", path) + "/cpu.stat");
    return {{"usage",
             {{"total", u64(read_u64(acct + "/cpuacct.usage"))},
              {"percpu", numbers(read_text(acct + "/cpuacct.usage_percpu").value_or(""))},
              {"kernel", ticks["system"] * ns_per_tick},
              {"user", ticks["user"] * ns_per_tick}}},
            {"throttling",
             {{"periods", throttled["nr_periods"]},
              {"throttledPeriods", throttled["nr_throttled"]},
              {"throttledTime", throttled["throttled_time"]}}}};
}

}  // namespace

std::vector<std::string> controller_roots(const std::string& mount) {
    std::vector<std::string> out;
    std::set<std::string> seen;  // "cpu" and "cpuacct" are often one hierarchy
    for (const char* c : kControllers) {
        std::string root = mount + "/" + c;
        char real[PATH_MAX];
        if (::realpath(root.c_str(), real) && seen.insert(real).second)
            out.push_back(root);
    }
    return out;
}

Result<void> init_cpuset(const std::string& dir) {
    const std::string parent = dir.substr(0, dir.rfind('/'));
    for (const char* file : {"/cpuset.cpus", "/cpuset.mems"}) {
        auto mine = read_text(dir + file);
        if (mine && mine->find_first_not_of(" \n") != std::string::npos)
            continue;  // cgroup.clone_children already gave it one
        auto theirs = read_text(parent + file);
        if (theirs)
            TRY(write_text(dir + file, *theirs));
    }
    return {};
}

Result<void> apply(const std::string& mount, const std::string& path, const Resources& r,
                   std::vector<std::string>& warnings) {
    TRY(set_memory(mount, path, r, warnings));
    if (r.cpu_shares)
        TRY(set(mount, "cpu", path, "cpu.shares", std::to_string(*r.cpu_shares), warnings));
    // The period first: a quota is checked against the period in force.
    if (r.cpu_period)
        TRY(set(mount, "cpu", path, "cpu.cfs_period_us", std::to_string(*r.cpu_period), warnings));
    if (r.cpu_quota)
        TRY(set(mount, "cpu", path, "cpu.cfs_quota_us", std::to_string(*r.cpu_quota < 0 ? -1 : *r.cpu_quota), warnings));
    if (r.cpuset_cpus)
        TRY(set(mount, "cpuset", path, "cpuset.cpus", *r.cpuset_cpus, warnings));
    if (r.cpuset_mems)
        TRY(set(mount, "cpuset", path, "cpuset.mems", *r.cpuset_mems, warnings));
    if (r.pids_limit)
        TRY(set(mount, "pids", path, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max", warnings));
    if (r.blkio_weight) {
        // blkio.weight exists with CFQ; BFQ names it blkio.bfq.weight.
        std::string dir = dir_of(mount, "blkio", path);
        std::string file = exists(dir + "/blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";
        TRY(set(mount, "blkio", path, file, std::to_string(*r.blkio_weight), warnings));
    }
    return {};
}

json stats(const std::string& mount, const std::string& path) {
    const std::string mem = dir_of(mount, "memory", path);
    auto raw = read_keyed(mem + "/memory.stat");
    json memory = {{"cache", raw["cache"]},
                   {"usage", memory_entry(mem, "memory.")},
                   {"swap", memory_entry(mem, "memory.memsw.")},
                   {"kernel", memory_entry(mem, "memory.kmem.")},
                   {"kernelTCP", memory_entry(mem, "memory.kmem.tcp.")},
                   {"raw", raw}};
    const std::string pids = dir_of(mount, "pids", path);
    return {{"cpu", cpu_stats(mount, path)},
            {"memory", memory},
            {"pids", {{"current", u64(read_u64(pids + "/pids.current"))}, {"limit", u64(read_u64(pids + "/pids.max"))}}},
            {"blkio", json::object()},
            {"hugetlb", json::object()}};
}

}  // namespace lightvm::oci::cgroups::v1

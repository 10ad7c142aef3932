// cgroup v2: one tree, MOUNT/PATH, controllers enabled level by level.
#include <sstream>

#include "oci/cgroups/cgroup.hpp"
#include "oci/cgroups/files.hpp"

namespace lightvm::oci::cgroups::v2 {

namespace {

using json = nlohmann::json;

const char* const kControllers[] = {"cpuset", "cpu", "io", "memory", "pids"};

std::string max_or(int64_t v) { return v < 0 ? "max" : std::to_string(v); }

Result<void> set(const std::string& dir, const std::string& file, const std::string& value,
                 std::vector<std::string>& warnings) {
    if (!exists(dir + "/" + file)) {
        warnings.push_back("cgroups: " + file + " not applied (its controller is not enabled in " + dir + ")");
        return {};
    }
    return write_text(dir + "/" + file, value);
}

Result<void> set_memory(const std::string& dir, const Resources& r, std::vector<std::string>& warnings) {
    if (r.memory_limit)
        TRY(set(dir, "memory.max", max_or(*r.memory_limit), warnings));
    if (r.memory_reservation)
        TRY(set(dir, "memory.low", max_or(*r.memory_reservation), warnings));
    if (r.memory_swap) {
        // The spec's swap is memory + swap; v2's memory.swap.max is swap
        // alone. Without a limit in this update, memory.max says the rest.
        std::string text;
        if (*r.memory_swap < 0) {
            text = "max";
        } else {
            int64_t limit = r.memory_limit ? *r.memory_limit : 0;
            if (!r.memory_limit)
                if (auto cur = read_u64(dir + "/memory.max"))
                    limit = static_cast<int64_t>(*cur);
            if (*r.memory_swap < limit)
                return make_error(ErrorKind::BadInput, "linux.resources.memory.swap",
                                  "is below the memory limit (it counts memory + swap)");
            text = std::to_string(*r.memory_swap - limit);
        }
        TRY(set(dir, "memory.swap.max", text, warnings));
    }
    return {};
}

Result<void> set_cpu(const std::string& dir, const Resources& r, std::vector<std::string>& warnings) {
    if (r.cpu_shares)
        TRY(set(dir, "cpu.weight", std::to_string(shares_to_weight(*r.cpu_shares)), warnings));
    if (r.cpu_quota || r.cpu_period) {
        // cpu.max is "QUOTA PERIOD": what this update leaves out stays.
        std::string quota = "max", period = "100000";
        std::istringstream cur(read_text(dir + "/cpu.max").value_or(""));
        cur >> quota >> period;
        if (r.cpu_quota)
            quota = max_or(*r.cpu_quota);
        if (r.cpu_period)
            period = std::to_string(*r.cpu_period);
        TRY(set(dir, "cpu.max", quota + " " + period, warnings));
    }
    if (r.cpuset_cpus)
        TRY(set(dir, "cpuset.cpus", *r.cpuset_cpus, warnings));
    if (r.cpuset_mems)
        TRY(set(dir, "cpuset.mems", *r.cpuset_mems, warnings));
    return {};
}

uint64_t u64(const std::optional<uint64_t>& v) { return v.value_or(0); }

}  // namespace

uint64_t shares_to_weight(uint64_t shares) {
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_to_io_weight(uint64_t weight) { return 1 + (weight - 10) * 9999 / 990; }

Result<void> enable_controllers(const std::string& dir) {
    auto offered = read_text(dir + "/cgroup.controllers");
    if (!offered)
        return {};
    std::istringstream in(*offered);
    std::string name, wanted;
    while (in >> name)
        for (const char* c : kControllers)
            if (name == c)
                wanted += (wanted.empty() ? "+" : " +") + name;
    if (wanted.empty())
        return {};
    return write_text(dir + "/cgroup.subtree_control", wanted);
}

Result<void> apply(const std::string& dir, const Resources& r, std::vector<std::string>& warnings) {
    TRY(set_memory(dir, r, warnings));
    TRY(set_cpu(dir, r, warnings));
    if (r.pids_limit)
        TRY(set(dir, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max", warnings));
    if (r.blkio_weight) {
        // io.weight with CFQ's successor; BFQ has io.bfq.weight (10..1000 as blkio).
        if (exists(dir + "/io.bfq.weight"))
            TRY(write_text(dir + "/io.bfq.weight", std::to_string(*r.blkio_weight)));
        else
            TRY(set(dir, "io.weight", "default " + std::to_string(blkio_to_io_weight(*r.blkio_weight)), warnings));
    }
    return {};
}

json stats(const std::string& dir) {
    auto cpu = read_keyed(dir + "/cpu.stat");
    auto raw = read_keyed(dir + "/memory.stat");
    // "max" reads as no number: runc reports an unlimited limit as 2^64-1.
    const uint64_t unlimited = ~0ull;
    json memory = {{"cache", raw["file"]},
                   {"usage",
                    {{"limit", read_u64(dir + "/memory.max").value_or(unlimited)},
                     {"usage", u64(read_u64(dir + "/memory.current"))},
                     {"max", u64(read_u64(dir + "/memory.peak"))},
                     {"failcnt", read_keyed(dir + "/memory.events")["max"]}}},
                   {"swap",
                    {{"limit", read_u64(dir + "/memory.swap.max").value_or(unlimited)},
                     {"usage", u64(read_u64(dir + "/memory.swap.current"))},
                     {"failcnt", 0}}},
                   {"raw", raw}};
    return {{"cpu",
             {{"usage",
               {{"total", cpu["usage_usec"] * 1000},
                {"kernel", cpu["system_usec"] * 1000},
                {"user", cpu["user_usec"] * 1000}}},
              {"throttling",
               {{"periods", cpu["nr_periods"]},
                {"throttledPeriods", cpu["nr_throttled"]},
                {"throttledTime", cpu["throttled_usec"] * 1000}}}}},
            {"memory", memory},
            {"pids", {{"current", u64(read_u64(dir + "/pids.current"))}, {"limit", u64(read_u64(dir + "/pids.max"))}}},
            {"blkio", json::object()},
            {"hugetlb", json::object()}};
}

}  // namespace lightvm::oci::cgroups::v2

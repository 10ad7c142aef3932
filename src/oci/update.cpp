// lightvm-oci update: new linux.resources for a container's cgroup, as
// `runc update` (docker update, the shim's Update with --resources -).
// What the VM fixed at create (guest RAM, vCPUs) cannot follow: a limit
// that differs from it is applied to the cgroup and said in one warning.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <iostream>
#include <sstream>

#include "monitor/config.hpp"
#include "oci/cgroup_setup.hpp"
#include "oci/commands.hpp"
#include "oci/log.hpp"

namespace lightvm::oci {

namespace {

using json = nlohmann::json;

Result<json> read_resources(const std::string& from) {
    std::stringstream text;
    if (from == "-") {
        text << std::cin.rdbuf();
    } else {
        std::ifstream f(from);
        if (!f)
            return make_error(ErrorKind::NotFound, "update --resources " + from, "cannot be read");
        text << f.rdbuf();
    }
    json j = json::parse(text.str(), nullptr, false);
    if (j.is_discarded())
        return make_error(ErrorKind::BadInput, "update --resources", "not valid JSON");
    return j;
}

// runc's units: bytes, or with k/m/g (any case, optional b); -1 unlimited;
// 0 leaves the limit as it is (as runc reads 0).
Result<std::optional<int64_t>> size_flag(const std::string& flag, const std::string& text) {
    if (text == "-1")
        return std::optional<int64_t>(-1);
    if (text == "0")
        return std::optional<int64_t>();
    auto v = parse_size(text);
    if (!v || *v > static_cast<uint64_t>(INT64_MAX))
        return make_error(ErrorKind::BadInput, "update " + flag, "'" + text + "' is not a size (e.g. 256m, 1g, -1)");
    return std::optional<int64_t>(static_cast<int64_t>(*v));
}

Result<int64_t> int_flag(const std::string& flag, const std::string& text, int64_t min) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end || errno || v < min)
        return make_error(ErrorKind::BadInput, "update " + flag, "'" + text + "' is not a valid number");
    return static_cast<int64_t>(v);
}

void merge_flag(std::optional<int64_t>& field, const std::optional<int64_t>& flag) {
    if (flag)
        field = flag;
}

// The flags over the --resources file, as runc takes them.
Result<cgroups::Resources> wanted(const UpdateOptions& o) {
    cgroups::Resources r;
    if (!o.resources.empty())
        r = TRY(cgroups::parse_resources(TRY(read_resources(o.resources))));
    auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
    if (!o.memory.empty())
        merge_flag(r.memory_limit, TRY(size_flag("--memory", o.memory)));
    if (!o.memory_reservation.empty())
        merge_flag(r.memory_reservation, TRY(size_flag("--memory-reservation", o.memory_reservation)));
    if (!o.memory_swap.empty())
        merge_flag(r.memory_swap, TRY(size_flag("--memory-swap", o.memory_swap)));
    if (!o.cpu_quota.empty())
        r.cpu_quota = TRY(int_flag("--cpu-quota", o.cpu_quota, -1));
    if (!o.cpu_period.empty())
        if (int64_t period = TRY(int_flag("--cpu-period", o.cpu_period, 0)))  // 0: as it is
            r.cpu_period = u(period);
    if (!o.cpu_shares.empty())
        r.cpu_shares = u(TRY(int_flag("--cpu-share", o.cpu_shares, 2)));
    if (!o.pids_limit.empty())
        r.pids_limit = TRY(int_flag("--pids-limit", o.pids_limit, -1));
    if (!o.blkio_weight.empty()) {
        r.blkio_weight = u(TRY(int_flag("--blkio-weight", o.blkio_weight, 10)));
        if (*r.blkio_weight > 1000)
            return make_error(ErrorKind::BadInput, "update --blkio-weight", "must be 10 to 1000");
    }
    if (!o.cpuset_cpus.empty())
        r.cpuset_cpus = o.cpuset_cpus;
    if (!o.cpuset_mems.empty())
        r.cpuset_mems = o.cpuset_mems;
    for (const auto& flag : o.unsupported)
        r.warnings.push_back("update " + flag + " not applied (not a limit lightvm-oci sets)");
    return r;
}

// What the running VM cannot follow, one line each.
void shape_warnings(const ContainerRecord& c, const cgroups::Resources& r, std::vector<std::string>& out) {
    const uint64_t mib = 1 << 20;
    if (r.memory_limit && c.guest_ram && static_cast<uint64_t>(*r.memory_limit) != c.guest_ram)
        out.push_back("update: the guest's RAM stays " + std::to_string(c.guest_ram / mib) +
                      " MiB (fixed at create); the cgroup's limit is now " +
                      (*r.memory_limit < 0 ? std::string("unlimited")
                                           : std::to_string(*r.memory_limit / static_cast<int64_t>(mib)) + " MiB + " +
                                                 std::to_string(cgroups::monitor_memory_overhead(c.guest_ram) / mib) +
                                                 " MiB for the VM's monitor") +
                      (*r.memory_limit >= 0 && static_cast<uint64_t>(*r.memory_limit) < c.guest_ram
                           ? ": a guest that uses more memory than that is OOM-killed"
                           : ""));
    if (r.cpu_quota && *r.cpu_quota > 0 && c.vcpus) {
        const double period = static_cast<double>(r.cpu_period.value_or(100000));
        const double cpus = static_cast<double>(*r.cpu_quota) / period;
        if (cpus > c.vcpus)
            out.push_back("update: the VM keeps its " + std::to_string(c.vcpus) +
                          " vCPUs (fixed at create): a quota of " + std::to_string(cpus).substr(0, 4) +
                          " CPUs cannot be used in full");
    }
    if (r.cpuset_cpus && c.vcpus)
        out.push_back("update: the VM keeps its " + std::to_string(c.vcpus) +
                      " vCPUs (fixed at create); cpuset.cpus now bounds where they run");
}

Result<int> update(const Global& g, const UpdateOptions& o, const std::string& id) {
    TRY(check_container_id(id));
    cgroups::Resources r = TRY(wanted(o));
    ContainerRecord c = TRY(read_record(g.root, id));
    if (status_of(g.root, c) == Status::Stopped)
        return make_error(ErrorKind::BadInput, "container " + id, "cannot update a container that is stopped");
    auto cg = recorded_cgroup(c);
    if (!cg)
        return make_error(ErrorKind::Unsupported, "container " + id, "has no cgroup (created by an older lightvm-oci)");
    std::vector<std::string> warnings = r.warnings;
    shape_warnings(c, r, warnings);
    TRY(cg->apply(cgroups::host_limits(r, c.guest_ram), warnings));
    for (const auto& w : warnings) {
        std::fprintf(stderr, "lightvm-oci: warning: %s\n", w.c_str());
        log_warning(w);
    }
    return 0;
}

}  // namespace

int cmd_update(const Global& g, const UpdateOptions& o, const std::string& id) {
    auto r = update(g, o, id);
    if (r)
        return *r;
    log_error(r.error().to_string());
    return 1;
}

}  // namespace lightvm::oci

#include "oci/cgroups/resources.hpp"

namespace lightvm::oci::cgroups {

namespace {

using json = nlohmann::json;

Result<void> bad(const std::string& field, const std::string& why) {
    return make_error(ErrorKind::BadInput, "linux.resources." + field, why);
}

// An integer field; absent, null or 0 leaves `out` unset.
template <class T>
Result<void> integer(const json& obj, const char* section, const char* key, std::optional<T>& out) {
    if (!obj.contains(key) || obj[key].is_null())
        return {};
    const json& v = obj[key];
    if (!v.is_number_integer())
        return bad(std::string(section) + "." + key, "not an integer");
    if (std::is_unsigned_v<T> && v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0)
        return bad(std::string(section) + "." + key, "negative");
    T value = v.get<T>();
    if (value != 0)
        out = value;
    return {};
}

Result<void> text(const json& obj, const char* section, const char* key, std::optional<std::string>& out) {
    if (!obj.contains(key) || obj[key].is_null())
        return {};
    if (!obj[key].is_string())
        return bad(std::string(section) + "." + key, "not a string");
    if (!obj[key].get<std::string>().empty())
        out = obj[key].get<std::string>();
    return {};
}

Result<json> section(const json& j, const char* name) {
    if (!j.contains(name) || j[name].is_null())
        return json::object();
    if (!j[name].is_object())
        return make_error(ErrorKind::BadInput, std::string("linux.resources.") + name, "not an object");
    return j[name];
}

bool named(const json& obj, const char* key) {
    return obj.contains(key) && !obj[key].is_null() && obj[key] != json(0) && obj[key] != json::array() &&
           obj[key] != json::object() && obj[key] != json(false);
}

}  // namespace

Result<Resources> parse_resources(const json& j) {
    Resources r;
    if (j.is_null())
        return r;
    if (!j.is_object())
        return make_error(ErrorKind::BadInput, "linux.resources", "not an object");
    const json mem = TRY(section(j, "memory"));
    TRY(integer(mem, "memory", "limit", r.memory_limit));
    TRY(integer(mem, "memory", "reservation", r.memory_reservation));
    TRY(integer(mem, "memory", "swap", r.memory_swap));
    for (const char* k : {"kernel", "kernelTCP", "swappiness", "disableOOMKiller"})
        if (named(mem, k))
            r.warnings.push_back(std::string("linux.resources.memory.") + k + " not applied");
    const json cpu = TRY(section(j, "cpu"));
    TRY(integer(cpu, "cpu", "shares", r.cpu_shares));
    TRY(integer(cpu, "cpu", "quota", r.cpu_quota));
    TRY(integer(cpu, "cpu", "period", r.cpu_period));
    TRY(text(cpu, "cpu", "cpus", r.cpuset_cpus));
    TRY(text(cpu, "cpu", "mems", r.cpuset_mems));
    for (const char* k : {"realtimeRuntime", "realtimePeriod", "idle"})
        if (named(cpu, k))
            r.warnings.push_back(std::string("linux.resources.cpu.") + k + " not applied");
    const json pids = TRY(section(j, "pids"));
    TRY(integer(pids, "pids", "limit", r.pids_limit));
    const json blkio = TRY(section(j, "blockIO"));
    TRY(integer(blkio, "blockIO", "weight", r.blkio_weight));
    if (r.blkio_weight && (*r.blkio_weight < 10 || *r.blkio_weight > 1000))
        return make_error(ErrorKind::BadInput, "linux.resources.blockIO.weight", "must be 10 to 1000");
    for (const char* k : {"leafWeight", "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice",
                          "throttleReadIOPSDevice", "throttleWriteIOPSDevice"})
        if (named(blkio, k))
            r.warnings.push_back(std::string("linux.resources.blockIO.") + k + " not applied");
    for (const char* k : {"hugepageLimits", "network", "rdma", "unified"})
        if (named(j, k))
            r.warnings.push_back(std::string("linux.resources.") + k + " not applied");
    return r;
}

void merge(Resources& base, const Resources& n) {
    auto over = [](auto& a, const auto& b) {
        if (b)
            a = b;
    };
    over(base.memory_limit, n.memory_limit);
    over(base.memory_reservation, n.memory_reservation);
    over(base.memory_swap, n.memory_swap);
    over(base.cpu_shares, n.cpu_shares);
    over(base.cpu_period, n.cpu_period);
    over(base.cpu_quota, n.cpu_quota);
    over(base.cpuset_cpus, n.cpuset_cpus);
    over(base.cpuset_mems, n.cpuset_mems);
    over(base.pids_limit, n.pids_limit);
    over(base.blkio_weight, n.blkio_weight);
    base.warnings.insert(base.warnings.end(), n.warnings.begin(), n.warnings.end());
}

uint64_t monitor_memory_overhead(uint64_t guest_ram) {
    // Measured (docs/oci.md, "cgroups"): a guest that fills its RAM peaks
    // 4 MiB (64 MiB guest) to 18 MiB (1 GiB, 4 vCPUs) above what it wrote,
    // guest kernel and the monitor's own pages, KVM's page tables (kmem)
    // included. A fixed part and 1/64 of the RAM leave room above that.
    return (16ull << 20) + guest_ram / 64;
}

Resources host_limits(const Resources& r, uint64_t guest_ram) {
    Resources h = r;
    const auto extra = static_cast<int64_t>(monitor_memory_overhead(guest_ram));
    if (h.memory_limit && *h.memory_limit > 0)
        *h.memory_limit += extra;
    if (h.memory_swap && *h.memory_swap > 0)
        *h.memory_swap += extra;
    if (h.pids_limit && *h.pids_limit > 0)
        *h.pids_limit += kMonitorTasks;
    return h;
}

}  // namespace lightvm::oci::cgroups

// lightvm-oci events: runc's `events` for the monitor's cgroup. --stats
// prints one {"type":"stats","id":ID,"data":STATS} line; without it a
// line every --interval until the container stops (runc's stream, stats
// only: an OOM kill shows as the monitor's exit).
#include <poll.h>

#include <cstdio>

#include "oci/cgroup_setup.hpp"
#include "oci/commands.hpp"
#include "oci/log.hpp"

namespace lightvm::oci {

namespace {

// "5s", "500ms", "1m", or seconds as a number.
Result<unsigned> interval_ms(const std::string& text) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    std::string unit = end ? end : "";
    double scale = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1000 : unit == "m" ? 60000 : -1;
    if (text.empty() || end == text.c_str() || scale < 0 || !(v > 0) || v * scale > 86400000)
        return make_error(ErrorKind::BadInput, "events --interval", "'" + text + "' is not a duration (e.g. 5s)");
    return static_cast<unsigned>(v * scale);
}

Result<int> events(const Global& g, const std::string& id, bool once, const std::string& interval) {
    const unsigned every = TRY(interval_ms(interval));
    TRY(check_container_id(id));
    ContainerRecord c = TRY(read_record(g.root, id));
    auto cg = recorded_cgroup(c);
    if (!cg)
        return make_error(ErrorKind::Unsupported, "container " + id, "has no cgroup (created by an older lightvm-oci)");
    do {
        if (status_of(g.root, c) == Status::Stopped)
            return make_error(ErrorKind::BadInput, "container " + id, "is stopped");
        nlohmann::json line = {{"type", "stats"}, {"id", id}, {"data", cg->stats()}};
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
    } while (!once && ::poll(nullptr, 0, static_cast<int>(every)) == 0);
    return 0;
}

}  // namespace

int cmd_events(const Global& g, const std::string& id, bool stats_once, const std::string& interval) {
    auto r = events(g, id, stats_once, interval);
    if (r)
        return *r;
    log_error(r.error().to_string());
    return 1;
}

}  // namespace lightvm::oci

#include "daemon/api.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <thread>

#include "lightvm/vm.hpp"

namespace lightvm::daemon {

namespace {

void send_json(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump() + "\n", "application/json");
}

template <class T>
void reply(httplib::Response& res, const ApiResult<T>& r, int ok_status = 200) {
    if (r)
        send_json(res, ok_status, *r);
    else
        send_json(res, r.error().status, json{{"error", r.error().message}});
}

bool flag(const httplib::Request& req, const char* name) {
    if (!req.has_param(name))
        return false;
    auto v = req.get_param_value(name);
    return v.empty() || v == "1" || v == "true";
}

// Last `lines` lines of the file from `offset` on: returns the offset to start from.
off_t tail_offset(int fd, long lines) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (lines < 0)
        return 0;
    off_t pos = end;
    long seen = 0;
    char buf[4096];
    while (pos > 0) {
        off_t chunk = std::min<off_t>(pos, sizeof buf);
        pos -= chunk;
        if (::pread(fd, buf, static_cast<size_t>(chunk), pos) != chunk)
            return 0;
        for (off_t i = chunk - 1; i >= 0; --i) {
            if (buf[i] == '\n' && !(pos + i == end - 1) && ++seen == lines)
                return pos + i + 1;
        }
    }
    return lines == 0 ? end : 0;
}

void logs(Daemon& d, const httplib::Request& req, httplib::Response& res) {
    auto where = d.log_path(req.matches[1]);
    if (!where) {
        send_json(res, where.error().status, json{{"error", where.error().message}});
        return;
    }
    long tail = -1;
    if (req.has_param("tail")) {
        const std::string t = req.get_param_value("tail");
        char* end = nullptr;
        tail = std::strtol(t.c_str(), &end, 10);
        if (t.empty() || *end || tail < 0) {
            send_json(res, 400, json{{"error", "tail: '" + t + "' is not a number of lines"}});
            return;
        }
    }
    auto fd = std::make_shared<UniqueFd>(::open(where->second.c_str(), O_RDONLY | O_CLOEXEC));
    off_t start = fd->valid() ? tail_offset(fd->get(), tail) : 0;
    const bool follow = flag(req, "follow");
    std::string id = where->first, path = where->second;
    res.set_chunked_content_provider("text/plain", [&d, fd, start, follow, id, path](size_t offset, httplib::DataSink& sink) {
        if (!fd->valid()) {
            *fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd->valid()) {
                if (!follow || d.finished(id)) {
                    sink.done();
                    return true;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                return true;
            }
        }
        char buf[65536];
        bool done = !follow || d.finished(id);  // read before: nothing is lost after the check
        ssize_t n = ::pread(fd->get(), buf, sizeof buf, start + static_cast<off_t>(offset));
        if (n > 0)
            return sink.write(buf, static_cast<size_t>(n));
        if (done)
            sink.done();
        else
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return true;
    });
}

}  // namespace

void install_routes(httplib::Server& s, Daemon& d) {
    s.Get("/v1/version", [](const httplib::Request&, httplib::Response& res) {
        send_json(res, 200, json{{"version", LIGHTVM_VERSION}, {"api", "v1"}});
    });
    s.Get("/v1/vms", [&d](const httplib::Request& req, httplib::Response& res) { reply(res, d.list(flag(req, "all"))); });
    s.Post("/v1/vms", [&d](const httplib::Request& req, httplib::Response& res) {
        const uint64_t t0 = monotonic_ns();
        auto created = d.create(req.body, flag(req, "start"));
        if (!created || !flag(req, "start"))
            return reply(res, created, 201);
        auto started = d.start((*created)["id"], t0);
        if (!started) {
            json body{{"error", started.error().message}, {"id", (*created)["id"]}};
            return send_json(res, started.error().status, body);
        }
        send_json(res, 201, *started);
    });
    s.Get(R"(/v1/vms/([^/]+))", [&d](const httplib::Request& req, httplib::Response& res) {
        reply(res, d.inspect(req.matches[1]));
    });
    s.Delete(R"(/v1/vms/([^/]+))", [&d](const httplib::Request& req, httplib::Response& res) {
        reply(res, d.remove(req.matches[1], flag(req, "force")));
    });
    s.Post(R"(/v1/vms/([^/]+)/start)", [&d](const httplib::Request& req, httplib::Response& res) {
        reply(res, d.start(req.matches[1], monotonic_ns()));
    });
    s.Post(R"(/v1/vms/([^/]+)/stop)", [&d](const httplib::Request& req, httplib::Response& res) {
        double grace = 10;
        if (req.has_param("timeout")) {
            const std::string t = req.get_param_value("timeout");
            char* end = nullptr;
            grace = std::strtod(t.c_str(), &end);
            if (t.empty() || *end || !(grace >= 0) || grace > 3600)
                return send_json(res, 400, json{{"error", "timeout: '" + t + "' is not a number of seconds (0-3600)"}});
        }
        reply(res, d.stop(req.matches[1], grace));
    });
    s.Post(R"(/v1/vms/([^/]+)/kill)", [&d](const httplib::Request& req, httplib::Response& res) {
        int sig = SIGKILL;
        if (req.has_param("signal")) {
            sig = parse_signal(req.get_param_value("signal"));
            if (sig < 0)
                return send_json(res, 400, json{{"error", "signal: unknown signal '" + req.get_param_value("signal") + "'"}});
        }
        reply(res, d.kill(req.matches[1], sig));
    });
    s.Post(R"(/v1/vms/([^/]+)/pause)", [&d](const httplib::Request& req, httplib::Response& res) {
        reply(res, d.pause(req.matches[1], true));
    });
    s.Post(R"(/v1/vms/([^/]+)/resume)", [&d](const httplib::Request& req, httplib::Response& res) {
        reply(res, d.pause(req.matches[1], false));
    });
    s.Post(R"(/v1/vms/([^/]+)/migrate)", [&d](const httplib::Request& req, httplib::Response& res) {
        reply(res, d.migrate(req.matches[1], req.body), 200);
    });
    s.Post(R"(/v1/vms/([^/]+)/snapshot)", [&d](const httplib::Request& req, httplib::Response& res) {
        reply(res, d.snapshot(req.matches[1], req.body), 201);
    });
    s.Post(R"(/v1/vms/([^/]+)/wait)", [&d](const httplib::Request& req, httplib::Response& res) {
        reply(res, d.wait(req.matches[1]));
    });
    s.Get(R"(/v1/vms/([^/]+)/logs)", [&d](const httplib::Request& req, httplib::Response& res) { logs(d, req, res); });
    s.Get("/v1/events", [&d](const httplib::Request& req, httplib::Response& res) {
        uint64_t since = 0;
        double timeout = 30;
        if (req.has_param("since")) {
            const std::string t = req.get_param_value("since");
            char* end = nullptr;
            since = std::strtoull(t.c_str(), &end, 10);
            if (t.empty() || *end || t[0] == '-')
                return send_json(res, 400, json{{"error", "since: '" + t + "' is not an event sequence number"}});
        }
        if (req.has_param("timeout")) {
            const std::string t = req.get_param_value("timeout");
            char* end = nullptr;
            timeout = std::strtod(t.c_str(), &end);
            if (t.empty() || *end || !(timeout >= 0) || timeout > 300)
                return send_json(res, 400, json{{"error", "timeout: '" + t + "' is not a number of seconds (0-300)"}});
        }
        send_json(res, 200, d.events(since, timeout));
    });
    s.Get("/v1/stats", [&d](const httplib::Request&, httplib::Response& res) { send_json(res, 200, d.stats()); });
    s.Get("/v1/pool", [&d](const httplib::Request&, httplib::Response& res) { reply(res, d.pool_info()); });
    s.Put("/v1/pool", [&d](const httplib::Request& req, httplib::Response& res) { reply(res, d.set_pool(req.body)); });
    s.Get("/metrics", [&d](const httplib::Request&, httplib::Response& res) {
        res.set_content(d.metrics(), "text/plain; version=0.0.4");
    });
    // Everything that went wrong without a JSON body of its own (no such
    // route, body too large, unparsable request) gets one here.
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty())
            return;
        const char* what = res.status == 404   ? "no such endpoint"
                           : res.status == 413 ? "request body too large"
                           : res.status == 405 ? "method not allowed"
                                               : "bad request";
        res.set_content(json{{"error", what}}.dump() + "\n", "application/json");
    });
}

}  // namespace lightvm::daemon

#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include "daemon/images.hpp"
#include "daemon/link.hpp"
#include "devices/system.hpp"
#include "lightvm/vm.hpp"
#include "snapshot/format.hpp"

namespace lightvm::daemon {

namespace fs = std::filesystem;

namespace {

constexpr size_t kEventsKept = 4096;
constexpr uint64_t kLatencyBoundsUs[] = {50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000};

std::string new_id() {
    uint8_t b[8];
    if (::getrandom(b, sizeof b, 0) != sizeof b)
        std::memset(b, 0, sizeof b);
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (uint8_t x : b) {
        s += hex[x >> 4];
        s += hex[x & 15];
    }
    return s;
}

}  // namespace

uint64_t realtime_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

const char* state_name(VmState s) {
    switch (s) {
    case VmState::Created:
        return "created";
    case VmState::Running:
        return "running";
    case VmState::Paused:
        return "paused";
    case VmState::Exited:
        return "exited";
    }
    return "?";
}

Daemon::Daemon(DaemonOptions options)
    : m_opt(std::move(options)), m_pool(m_opt.monitor_path, m_opt.pool_mem, m_opt.pool_size),
      m_latency_buckets(std::size(kLatencyBoundsUs), 0), m_image_holds(std::make_unique<ImageHolds>()) {}

Daemon::~Daemon() { shutdown(); }

ApiResult<void> Daemon::init() {
    std::error_code ec;
    fs::create_directories(m_opt.state_dir + "/vms", ec);
    if (ec)
        return api_error(500, m_opt.state_dir + ": " + ec.message());
    ::chmod(m_opt.state_dir.c_str(), 0700);
    if (::access(m_opt.monitor_path.c_str(), X_OK) != 0)
        return api_error(500, m_opt.monitor_path + ": monitor binary not executable");
    m_boot_id = snapshot::host_boot_id();
    recover();
    m_pool.start();
    return {};
}

void Daemon::shutdown() { m_pool.stop(); }

void Daemon::wake_waiters() {
    std::lock_guard lock(m_mu);
    m_stopping = true;
    m_changed.notify_all();
}

ApiResult<std::shared_ptr<VmRecord>> Daemon::find(const std::string& ref) {
    if (ref.empty())
        return api_error(400, "empty VM reference");
    if (auto it = m_vms.find(ref); it != m_vms.end())
        return it->second;
    for (auto& [id, vm] : m_vms)
        if (vm->name == ref)
            return vm;
    std::shared_ptr<VmRecord> match;
    for (auto it = m_vms.lower_bound(ref); it != m_vms.end() && it->first.rfind(ref, 0) == 0; ++it) {
        if (match)
            return api_error(400, "'" + ref + "' matches more than one VM; give more of the ID");
        match = it->second;
    }
    if (!match)
        return api_error(404, "no such VM: " + ref);
    return match;
}

json Daemon::to_json(const VmRecord& vm) const {
    const VmConfig& c = vm.request.config;
    json j = {{"id", vm.id},
              {"name", vm.name},
              {"state", state_name(vm.state)},
              {"app", c.app_path},
              {"args", std::vector<std::string>(c.argv.begin() + (c.argv.empty() ? 0 : 1), c.argv.end())},
              {"memory", c.mem_size},
              {"created_at", vm.created_at},
              {"started_at", vm.started_at},
              {"finished_at", vm.finished_at},
              {"pid", vm.pid},
              {"pooled", vm.pooled},
              {"rm", vm.request.auto_remove},
              {"attached", vm.attached}};
    if (vm.state == VmState::Exited) {
        j["exit_status"] = vm.exit_status;
        j["signal"] = vm.signal;
        j["timed_out"] = vm.timed_out;
        if (!vm.report.empty())
            j["report"] = vm.report;
    }
    if (!vm.error.empty())  // an exit's, or why a migration left it paused
        j["error"] = vm.error;
    if (!vm.stats.is_null())
        j["stats"] = vm.stats;
    if (vm.start_to_loaded_ns)
        j["start_to_loaded_ns"] = vm.start_to_loaded_ns;
    if (vm.start_to_sent_ns)
        j["start_to_sent_ns"] = vm.start_to_sent_ns;
    if (!c.restore_path.empty() && !c.restore_migrated)
        j["restored_from"] = c.restore_path;
    if (!vm.migrated_to.empty())
        j["migrated_to"] = vm.migrated_to;
    if (!vm.migrated_from.empty())
        j["migrated_from"] = vm.migrated_from;
    if (vm.snapshots)
        j["snapshots"] = vm.snapshots;
    if (vm.adopted)
        j["adopted"] = true;
    if (vm.request.image)
        j["image"] = image_to_json(*vm.request.image);
    return j;
}

ApiResult<std::shared_ptr<VmRecord>> Daemon::admit(CreateRequest request, bool attached, bool start_now) {
    auto vm = std::make_shared<VmRecord>();
    vm->request = std::move(request);
    vm->name = vm->request.name;
    vm->attached = attached;
    vm->created_at = realtime_ns();
    const uint64_t mem = vm->request.config.mem_size;
    HostMemory host = read_host_memory();
    std::lock_guard lock(m_mu);
    if (m_vms.size() >= m_opt.max_vms)
        return api_error(429, "VM limit reached (" + std::to_string(m_opt.max_vms) + "); remove some VMs");
    if (!vm->name.empty())
        for (auto& [id, other] : m_vms)
            if (other->name == vm->name)
                return api_error(409, "the name '" + vm->name + "' is already used by VM " + id.substr(0, 12));
    if (host.total) {
        uint64_t committed = 0;
        for (auto& [id, other] : m_vms)
            if (other->state != VmState::Exited)
                committed += other->request.config.mem_size;
        const auto limit = static_cast<uint64_t>(m_opt.overcommit_ratio * static_cast<double>(host.total));
        if (committed + mem > limit)
            return api_error(503, "host memory: " + std::to_string(mem >> 20) + " MiB more would commit " +
                                      std::to_string((committed + mem) >> 20) + " MiB of guest memory, above " +
                                      std::to_string(limit >> 20) + " MiB (--overcommit-ratio " +
                                      std::to_string(m_opt.overcommit_ratio).substr(0, 5) + " x MemTotal)");
        if (host.available < m_opt.min_free)
            return api_error(503, "host memory: only " + std::to_string(host.available >> 20) +
                                      " MiB available, below --min-free " + std::to_string(m_opt.min_free >> 20) +
                                      " MiB");
    }
    do
        vm->id = new_id();
    while (m_vms.count(vm->id));
    vm->dir = m_opt.state_dir + "/vms/" + vm->id;
    // mkdir(2), not create_directories: STATE_DIR/vms exists (init), and this
    // is on every start's path (the library call cost ~0.1 ms more).
    if (!attached && ::mkdir(vm->dir.c_str(), 0700) != 0)
        return api_error(500, vm->dir + ": " + std::strerror(errno));
    m_vms[vm->id] = vm;
    // create+start in one request: its "started" (or "exited") event writes
    // vm.json, one file write less on the start's path.
    vm->persist_deferred = start_now;
    emit("created", *vm);
    vm->persist_deferred = false;
    return vm;
}

ApiResult<json> Daemon::create(std::string_view body, bool start_now) {
    auto req = parse_create_request(body);
    if (!req)
        return api_error(400, req.error().to_string());
    if (!req->config.restore_path.empty()) {
        // The snapshot says how much memory: admission and the pool shape need it.
        auto mem = snapshot_mem_size(req->config.restore_path);
        if (!mem)
            return api_error(mem.error().kind == ErrorKind::NotFound ? 404 : 400, "restore: " + mem.error().message);
        req->config.mem_size = *mem;
    }
    if (req->image) {
        if (auto applied = apply_image(m_opt.image_dir, *req); !applied) {
            const ErrorKind kind = applied.error().kind;
            return api_error(kind == ErrorKind::NotFound ? 404 : kind == ErrorKind::BadInput ? 400 : 500,
                             applied.error().to_string());
        }
        if (auto held = m_image_holds->acquire(m_opt.image_dir, req->image->id); !held)
            return api_error(held.error().kind == ErrorKind::NotFound ? 404 : 500, "image: " + held.error().message);
    }
    const std::string image_id = req->image ? req->image->id : "";
    auto vm = admit(std::move(*req), false, start_now);
    if (!vm) {
        if (!image_id.empty())
            m_image_holds->release(image_id);
        return tl::unexpected(vm.error());
    }
    return json{{"id", (*vm)->id}};
}

ApiResult<json> Daemon::start(const std::string& ref, uint64_t request_ns, bool hold, std::optional<Shell> taken) {
    std::shared_ptr<VmRecord> vm;
    {
        std::lock_guard lock(m_mu);
        vm = TRY(find(ref));
        if (vm->state != VmState::Created || vm->attached)
            return api_error(409, "VM " + vm->id.substr(0, 12) + " is " + state_name(vm->state) +
                                      "; only a created VM can be started");
        vm->state = VmState::Running;  // claimed: a second start fails
        vm->started_at = realtime_ns();
    }
    // The monitor writes the log itself (stdout and stderr are the file,
    // rotated below the VM's directory): lightvmd keeps only the monitor
    // link of a running VM, so its descriptors allow ~20,000 VMs.
    UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    UniqueFd log(::open((vm->dir + "/output.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    UniqueFd dir(::open(vm->dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd report(::open((vm->dir + "/report.json").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (devnull.get() < 0 || log.get() < 0 || dir.get() < 0 || report.get() < 0) {  // EMFILE
        std::lock_guard lock(m_mu);
        finish(*vm, 125, 0, "cannot open the VM's files: " + std::string(std::strerror(errno)));
        return api_error(503, vm->error);
    }
    std::vector<int> fds = {devnull.get(), log.get(), log.get(), dir.get(), report.get()};
    // "save": the VM saves itself into PATH.part and PATH.mem.part, renamed
    // into place when it says it saved (self_saved).
    UniqueFd save_state, save_mem;
    if (const std::string& path = vm->request.save_path; !path.empty()) {
        save_state = UniqueFd(::open((path + ".part").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
        save_mem = UniqueFd(::open((path + ".mem.part").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (!save_state.valid() || !save_mem.valid()) {
            const std::string why = path + ".part: " + std::strerror(errno);
            ::unlink((path + ".part").c_str());
            std::lock_guard lock(m_mu);
            finish(*vm, 125, 0, "save: " + why);
            return api_error(400, "save: " + why);
        }
        fds.push_back(save_state.get());
        fds.push_back(save_mem.get());
        std::lock_guard lock(m_mu);
        vm->self_save_pending = true;
    }
    json extra = {{"detached", true}, {"log_max", m_opt.log_max_bytes}, {"hold", hold}};
    if (const auto& image = vm->request.image)  // the monitor mounts the writable layer (daemon/monitor_image.cpp)
        extra["image"] = {{"root", image->root}, {"layer", image->read_only ? "" : layer_dir(vm->dir)}};
    auto shell = TRY(launch(vm, request_ns, fds, extra, std::move(taken)));
    m_supervisors++;
    std::thread([this, vm, s = std::move(shell)]() mutable { supervise(vm, std::move(s)); }).detach();
    return json{{"id", vm->id}, {"pooled", vm->pooled}};
}

ApiResult<Shell> Daemon::launch(const std::shared_ptr<VmRecord>& vm, uint64_t request_ns, const std::vector<int>& fds,
                                const json& extra, std::optional<Shell> taken) {
    auto fail = [&](const std::string& why, int status) -> ApiResult<Shell> {
        std::lock_guard lock(m_mu);
        m_start_failures++;
        finish(*vm, status, 0, why);
        return api_error(status == 125 ? 500 : 400, why);
    };
    auto shell = taken ? Result<Shell>(std::move(*taken)) : m_pool.take(vm->request.config.mem_size);
    if (!shell)
        return fail(shell.error().to_string(), 125);
    json msg = extra;
    msg["config"] = config_to_json(vm->request.config);
    msg["t0"] = request_ns;
    msg["boot_id"] = m_boot_id;
    if (auto sent = send_message(shell->link.get(), msg.dump(), fds); !sent) {
        ::kill(shell->pid, SIGKILL);
        ::waitpid(shell->pid, nullptr, 0);
        return fail(sent.error().to_string(), 125);
    }
    const uint64_t sent_ns = monotonic_ns() - request_ns;
    auto reply = recv_message(shell->link.get());
    json j = reply && !reply->eof ? json::parse(reply->text, nullptr, false) : json();
    if (!j.is_object() || !j.value("loaded", false)) {
        std::string why = j.is_object() && j.contains("error") && j["error"].is_string()
                              ? j["error"].get<std::string>()
                              : "monitor exited while loading";
        int code = j.is_object() && j.contains("exit_code") && j["exit_code"].is_number_integer()
                       ? j["exit_code"].get<int>()
                       : 125;
        ::waitpid(shell->pid, nullptr, 0);
        return fail(why, code);
    }
    {
        std::lock_guard lock(m_mu);
        vm->pid = shell->pid;
        vm->monitor_start = process_start_time(shell->pid);
        vm->pooled = shell->pooled;
        vm->start_to_loaded_ns = monotonic_ns() - request_ns;
        vm->start_to_sent_ns = sent_ns;
        m_started++;
        emit("started", *vm);
    }
    m_changed.notify_all();
    // The guest is on its way: now the pool may spawn. A held restore (a
    // migration's) refills after its hand-over: a shell booting meanwhile
    // took the CPU from the downtime.
    if (!extra.value("hold", false))
        m_pool.refill();
    return std::move(*shell);
}

json Daemon::pump_link(VmRecord& vm, int link) {
    {
        std::lock_guard lock(m_mu);
        vm.link_fd = link;
    }
    m_changed.notify_all();  // a migration's hand-over waits for the link
    json report;
    // The monitor closes the guest's stdio (its log is complete) before it
    // sends its report, and tears the VM down only after: the report is
    // the end, without waiting for that teardown.
    while (!report.is_object() || !report.contains("status")) {
        auto msg = recv_message(link);
        if (!msg || msg->eof)
            break;
        json j = json::parse(msg->text, nullptr, false);
        std::lock_guard lock(m_mu);
        if (j.is_object() && j.contains("saved") && j.value("self", false)) {
            self_saved(vm, j);
        } else if (j.is_object() && j.contains("saved")) {
            vm.save_reply = std::move(j);
            m_changed.notify_all();
        } else if (j.is_object() && j.contains("migrated")) {
            if (j.value("migrated", false)) {
                vm.migrated_to = vm.migrating_to;  // its monitor ends now, status 0
                emit("migrated", vm);
            }
            vm.migrate_reply = std::move(j);
            m_changed.notify_all();
        } else if (j.is_object()) {
            report = std::move(j);
        }
    }
    std::lock_guard lock(m_mu);
    vm.link_fd = -1;  // closed by the caller; no save can use it now
    return report;
}

void Daemon::supervise(std::shared_ptr<VmRecord> vm, Shell shell) {
    json report = pump_link(*vm, shell.link.get());
    auto reported = [&] { return report.is_object() && report.contains("status"); };
    int ws = 0;
    if (reported()) {
        {
            std::lock_guard lock(m_mu);
            collect(*vm, report, 0);
            if (vm->request.auto_remove && !vm->removed)
                erase(vm->id);
        }
        while (::waitpid(shell.pid, &ws, 0) < 0 && errno == EINTR) {
        }
    } else {
        while (::waitpid(shell.pid, &ws, 0) < 0 && errno == EINTR) {
        }
        std::lock_guard lock(m_mu);
        collect(*vm, report, ws);
        if (vm->request.auto_remove && !vm->removed)
            erase(vm->id);
    }
    m_supervisors--;
}

// m_mu held.
void Daemon::collect(VmRecord& vm, const json& report, int ws) {
    if (report.is_object() && report.contains("status")) {
        vm.timed_out = report.value("timed_out", false);
        vm.report = report.value("report", "");
        vm.stats = report.value("stats", json());
        uint64_t main_ns = vm.stats.value("app_entry_ns", uint64_t{0});
        if (main_ns) {
            m_latency_count++;
            m_latency_sum_ns += main_ns;
            for (size_t i = 0; i < std::size(kLatencyBoundsUs); ++i)
                if (main_ns <= kLatencyBoundsUs[i] * 1000)
                    m_latency_buckets[i]++;
        }
        finish(vm, report.value("status", 125), report.value("signal", 0), "");
    } else if (report.is_object() && report.contains("error")) {
        finish(vm, report.value("exit_code", 125), 0, report.value("error", "monitor error"));
    } else {
        // No report: the monitor died (SIGKILL from outside, a crash), or
        // was killed on request.
        if (!vm.killed_by_request)
            m_monitor_crashes++;
        std::string why = WIFSIGNALED(ws) ? std::string("monitor process killed by ") + signal_name(WTERMSIG(ws))
                                          : "monitor process exited with status " + std::to_string(WEXITSTATUS(ws)) +
                                                " without a report";
        int sig = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
        finish(vm, sig ? 128 + sig : 125, sig, why);
    }
}

// m_mu held.
void Daemon::finish(VmRecord& vm, int status, int signal, const std::string& error) {
    if (vm.self_save_pending) {  // it ended before its ready mark (or its timer)
        vm.self_save_pending = false;
        ::unlink((vm.request.save_path + ".part").c_str());
        ::unlink((vm.request.save_path + ".mem.part").c_str());
    }
    vm.state = VmState::Exited;
    vm.exit_status = status;
    vm.signal = signal;
    vm.error = error;
    vm.finished_at = realtime_ns();
    emit("exited", vm);
    m_changed.notify_all();
}

// m_mu held.
void Daemon::emit(const char* type, const VmRecord& vm) {
    json e = {{"seq", ++m_event_seq}, {"time", realtime_ns()}, {"type", type}, {"id", vm.id}, {"name", vm.name}};
    if (vm.state == VmState::Exited && std::strcmp(type, "exited") == 0) {
        e["exit_status"] = vm.exit_status;
        if (!vm.error.empty())
            e["error"] = vm.error;
    }
    m_events.push_back(std::move(e));
    if (m_events.size() > kEventsKept)
        m_events.pop_front();
    if (std::strcmp(type, "removed") != 0)
        persist(vm);
    m_changed.notify_all();
}

json Daemon::events(uint64_t since, double timeout_s) {
    std::unique_lock lock(m_mu);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    m_changed.wait_until(lock, deadline, [&] { return m_event_seq > since || m_stopping; });
    json out = json::array();
    uint64_t first = m_events.empty() ? m_event_seq + 1 : m_events.front()["seq"].get<uint64_t>();
    for (const auto& e : m_events)
        if (e["seq"].get<uint64_t>() > since)
            out.push_back(e);
    uint64_t dropped = first > since + 1 ? first - since - 1 : 0;
    return json{{"events", out}, {"next", m_event_seq}, {"dropped", dropped}};
}

ApiResult<json> Daemon::stop(const std::string& ref, double grace) {
    std::unique_lock lock(m_mu);
    auto vm = TRY(find(ref));
    // A VM being started has no monitor pid yet: wait for it.
    m_changed.wait(lock, [&] { return vm->pid > 0 || vm->state != VmState::Running; });
    if (vm->state == VmState::Exited || vm->state == VmState::Created)
        return to_json(*vm);
    ::kill(vm->pid, SIGTERM);
    if (vm->state == VmState::Paused)
        ::kill(vm->pid, SIGCONT);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace);
    if (!m_changed.wait_until(lock, deadline, [&] { return vm->state == VmState::Exited; })) {
        vm->killed_by_request = true;
        ::kill(vm->pid, SIGKILL);
        m_changed.wait(lock, [&] { return vm->state == VmState::Exited; });
    }
    return to_json(*vm);
}

ApiResult<json> Daemon::kill(const std::string& ref, int signal) {
    std::lock_guard lock(m_mu);
    auto vm = TRY(find(ref));
    if (vm->state != VmState::Running && vm->state != VmState::Paused)
        return api_error(409, "VM " + vm->id.substr(0, 12) + " is not running");
    if (vm->pid <= 0)
        return api_error(409, "VM " + vm->id.substr(0, 12) + " is starting; try again");
    vm->killed_by_request |= signal == SIGKILL;
    ::kill(vm->pid, signal);
    if (vm->state == VmState::Paused && signal != SIGKILL)
        ::kill(vm->pid, SIGCONT);
    return json{{"id", vm->id}, {"signal", signal}};
}

ApiResult<json> Daemon::pause(const std::string& ref, bool pause) {
    std::lock_guard lock(m_mu);
    auto vm = TRY(find(ref));
    if (vm->migrating)
        return api_error(409, "VM " + vm->id.substr(0, 12) + " is being migrated");
    VmState from = pause ? VmState::Running : VmState::Paused;
    if (vm->state != from || vm->pid <= 0)
        return api_error(409, "VM " + vm->id.substr(0, 12) + " is " +
                                  (vm->pid <= 0 && vm->state == VmState::Running ? "starting" : state_name(vm->state)));
    // The monitor process is the VM: stopping it stops the vCPU wherever it is.
    ::kill(vm->pid, pause ? SIGSTOP : SIGCONT);
    vm->state = pause ? VmState::Paused : VmState::Running;
    if (!pause)
        vm->error.clear();  // a lost migration's note: the user decided
    emit(pause ? "paused" : "resumed", *vm);
    return to_json(*vm);
}

ApiResult<json> Daemon::wait(const std::string& ref) {
    std::unique_lock lock(m_mu);
    auto vm = TRY(find(ref));
    if (vm->state == VmState::Created)
        return api_error(409, "VM " + vm->id.substr(0, 12) + " was never started");
    m_changed.wait(lock, [&] { return vm->state == VmState::Exited || m_stopping; });
    if (vm->state != VmState::Exited)
        return api_error(503, "lightvmd is shutting down; VM " + vm->id.substr(0, 12) + " keeps running");
    json j = {{"id", vm->id}, {"exit_status", vm->exit_status}};
    if (!vm->error.empty())
        j["error"] = vm->error;
    if (!vm->report.empty())
        j["report"] = vm->report;
    return j;
}

// m_mu held.
void Daemon::erase(const std::string& id) {
    auto it = m_vms.find(id);
    if (it == m_vms.end())
        return;
    it->second->removed = true;
    emit("removed", *it->second);
    std::error_code ec;
    fs::remove_all(it->second->dir, ec);  // the writable layer of an image's VM with it
    if (const auto& image = it->second->request.image)
        m_image_holds->release(image->id);
    m_vms.erase(it);
    m_changed.notify_all();
}

ApiResult<json> Daemon::remove(const std::string& ref, bool force) {
    std::unique_lock lock(m_mu);
    auto vm = TRY(find(ref));
    if (vm->state == VmState::Running || vm->state == VmState::Paused) {
        if (!force)
            return api_error(409, "VM " + vm->id.substr(0, 12) + " is " + state_name(vm->state) +
                                      "; stop it first or use force");
        m_changed.wait(lock, [&] { return vm->pid > 0 || vm->state == VmState::Exited; });
        if (vm->state != VmState::Exited) {
            vm->killed_by_request = true;
            ::kill(vm->pid, SIGKILL);
        }
        m_changed.wait(lock, [&] { return vm->state == VmState::Exited; });
    }
    std::string id = vm->id;
    erase(id);
    return json{{"id", id}};
}

ApiResult<json> Daemon::inspect(const std::string& ref) {
    std::lock_guard lock(m_mu);
    auto vm = TRY(find(ref));
    json j = to_json(*vm);
    j["config"] = config_to_json(vm->request.config);
    return j;
}

ApiResult<json> Daemon::list(bool all) {
    std::lock_guard lock(m_mu);
    json out = json::array();
    for (auto& [id, vm] : m_vms)
        if (all || vm->state == VmState::Running || vm->state == VmState::Paused)
            out.push_back(to_json(*vm));
    return out;
}

ApiResult<json> Daemon::pool_info() {
    json shapes = json::array();
    for (auto& s : m_pool.info())
        shapes.push_back({{"memory", s.mem_size},
                          {"target", s.target},
                          {"ready", s.ready},
                          {"hits", s.hits},
                          {"misses", s.misses},
                          {"spawned", s.spawned},
                          {"spawn_failures", s.spawn_failures}});
    return json{{"shapes", shapes}};
}

ApiResult<json> Daemon::set_pool(std::string_view body) {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return api_error(400, "request: body must be a JSON object");
    if (auto ok = reject_unknown_fields(j, {"memory", "target"}, "request"); !ok)
        return api_error(400, ok.error().to_string());
    if (!j.contains("memory") || !j["memory"].is_string() || !j.contains("target") ||
        !j["target"].is_number_unsigned() || j["target"].get<uint64_t>() > 1024)
        return api_error(400, "request: needs memory (e.g. \"256M\") and target (0-1024)");
    VmConfig probe;
    auto size = parse_size(j["memory"].get<std::string>());
    if (!size)
        return api_error(400, "memory: " + size.error().message);
    probe.mem_size = *size;
    probe.app_path = "x";
    auto valid = validate(probe);
    if (!valid)
        return api_error(400, "memory: " + valid.error().message);
    m_pool.set_target(valid->mem_size, static_cast<unsigned>(j["target"].get<uint64_t>()));
    return pool_info();
}

ApiResult<std::pair<std::string, std::string>> Daemon::log_path(const std::string& ref) {
    std::lock_guard lock(m_mu);
    auto vm = TRY(find(ref));
    return std::pair{vm->id, vm->dir + "/output.log"};
}

bool Daemon::finished(const std::string& id) {
    std::lock_guard lock(m_mu);
    auto it = m_vms.find(id);
    return it == m_vms.end() || it->second->state == VmState::Exited;
}

std::string Daemon::metrics() {
    std::lock_guard lock(m_mu);
    std::ostringstream o;
    unsigned by_state[4] = {0, 0, 0, 0};
    for (auto& [id, vm] : m_vms)
        by_state[static_cast<int>(vm->state)]++;
    o << "# HELP lightvm_vms VMs known to the daemon, by state.\n# TYPE lightvm_vms gauge\n";
    for (int s = 0; s < 4; ++s)
        o << "lightvm_vms{state=\"" << state_name(static_cast<VmState>(s)) << "\"} " << by_state[s] << "\n";
    o << "# HELP lightvm_starts_total VMs started.\n# TYPE lightvm_starts_total counter\nlightvm_starts_total "
      << m_started << "\n";
    o << "# HELP lightvm_start_failures_total Starts that failed.\n# TYPE lightvm_start_failures_total counter\n"
         "lightvm_start_failures_total "
      << m_start_failures << "\n";
    o << "# HELP lightvm_monitor_crashes_total Monitor processes that died without a report.\n"
         "# TYPE lightvm_monitor_crashes_total counter\nlightvm_monitor_crashes_total "
      << m_monitor_crashes << "\n";
    o << "# HELP lightvm_start_to_main_seconds Start request to the guest's main.\n"
         "# TYPE lightvm_start_to_main_seconds histogram\n";
    for (size_t i = 0; i < std::size(kLatencyBoundsUs); ++i)
        o << "lightvm_start_to_main_seconds_bucket{le=\"" << static_cast<double>(kLatencyBoundsUs[i]) / 1e6 << "\"} "
          << m_latency_buckets[i] << "\n";
    o << "lightvm_start_to_main_seconds_bucket{le=\"+Inf\"} " << m_latency_count << "\n";
    o << "lightvm_start_to_main_seconds_sum " << static_cast<double>(m_latency_sum_ns) / 1e9 << "\n";
    o << "lightvm_start_to_main_seconds_count " << m_latency_count << "\n";
    o << "# HELP lightvm_pool_ready Ready shells in the warm pool.\n# TYPE lightvm_pool_ready gauge\n";
    auto pool = m_pool.info();
    for (auto& s : pool)
        o << "lightvm_pool_ready{memory=\"" << s.mem_size << "\"} " << s.ready << "\n";
    o << "# HELP lightvm_pool_hits_total Starts served from the pool.\n# TYPE lightvm_pool_hits_total counter\n";
    for (auto& s : pool)
        o << "lightvm_pool_hits_total{memory=\"" << s.mem_size << "\"} " << s.hits << "\n";
    o << "# HELP lightvm_pool_misses_total Starts that made a shell on the spot.\n"
         "# TYPE lightvm_pool_misses_total counter\n";
    for (auto& s : pool)
        o << "lightvm_pool_misses_total{memory=\"" << s.mem_size << "\"} " << s.misses << "\n";
    return o.str();
}

HostMemory read_host_memory() {
    HostMemory m;
    FILE* f = std::fopen("/proc/meminfo", "re");
    if (!f)
        return m;
    char line[256];
    unsigned long long kib;
    while (std::fgets(line, sizeof line, f)) {
        if (std::sscanf(line, "MemTotal: %llu kB", &kib) == 1)
            m.total = kib << 10;
        else if (std::sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
            m.available = kib << 10;
    }
    std::fclose(f);
    return m;
}

namespace {

// A monitor's resident memory and CPU time, from /proc (0 if it is gone).
std::pair<uint64_t, uint64_t> process_usage(pid_t pid) {
    uint64_t rss = 0, cpu = 0;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/statm", pid);
    if (FILE* f = std::fopen(path, "re")) {
        unsigned long long size, resident;
        if (std::fscanf(f, "%llu %llu", &size, &resident) == 2)
            rss = resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
        std::fclose(f);
    }
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (FILE* f = std::fopen(path, "re")) {
        char buf[1024];
        size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        std::fclose(f);
        // Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th.
        if (const char* p = std::strrchr(buf, ')')) {
            unsigned long long utime = 0, stime = 0;
            if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) == 2)
                cpu = (utime + stime) * (1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)));
        }
    }
    return {rss, cpu};
}

}  // namespace

json Daemon::stats() {
    HostMemory host = read_host_memory();
    std::vector<std::tuple<std::string, std::string, std::string, uint64_t, pid_t>> live;
    uint64_t committed = 0;
    {
        std::lock_guard lock(m_mu);
        for (auto& [id, vm] : m_vms) {
            if (vm->state != VmState::Exited)
                committed += vm->request.config.mem_size;
            if ((vm->state == VmState::Running || vm->state == VmState::Paused) && vm->pid > 0)
                live.emplace_back(id, vm->name, state_name(vm->state), vm->request.config.mem_size, vm->pid);
        }
    }
    json vms = json::array();
    for (auto& [id, name, state, mem, pid] : live) {
        auto [rss, cpu] = process_usage(pid);
        vms.push_back({{"id", id}, {"name", name}, {"state", state}, {"memory", mem}, {"rss_bytes", rss}, {"cpu_ns", cpu}});
    }
    return json{{"host",
                 {{"mem_total", host.total},
                  {"mem_available", host.available},
                  {"committed", committed},
                  {"commit_limit", static_cast<uint64_t>(m_opt.overcommit_ratio * static_cast<double>(host.total))},
                  {"overcommit_ratio", m_opt.overcommit_ratio}}},
                {"vms", vms}};
}

}  // namespace lightvm::daemon

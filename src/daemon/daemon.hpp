// lightvmd's core, independent of HTTP: the VM registry, each VM's
// supervision (one monitor process per VM, one supervisor thread that
// pumps its output into the log and collects its report), and the pool.
// api.cpp maps HTTP requests onto these calls.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <tl/expected.hpp>

#include "common/unique_fd.hpp"
#include "daemon/pool.hpp"
#include "daemon/protocol.hpp"

namespace lightvm::daemon {

// An error with the HTTP status it maps to.
struct ApiError {
    int status = 500;
    std::string message;
};
template <class T>
using ApiResult = tl::expected<T, ApiError>;
inline tl::unexpected<ApiError> api_error(int status, std::string message) {
    return tl::unexpected(ApiError{status, std::move(message)});
}

struct DaemonOptions {
    std::string state_dir = "/run/lightvm";
    std::string monitor_path;           // lightvm-monitor
    unsigned pool_size = 4;             // ready shells of the default shape
    uint64_t pool_mem = 256ull << 20;   // the default shape
    uint64_t log_max_bytes = 8ull << 20;  // per log file; one rotated file kept
    unsigned max_vms = 4096;
    // Host-memory admission: the guest memory of every created, running or
    // paused VM may add up to this many times MemTotal (guest RAM is sparse:
    // an idle VM touches ~1 MiB of its --mem), and a VM is refused while
    // MemAvailable is below min_free.
    double overcommit_ratio = 16;
    uint64_t min_free = 256ull << 20;
    // Live migration (docs/migration.md): a hello must carry this secret
    // (--migrate-secret FILE; empty: none asked), and this daemon's own
    // migrations send it.
    std::string migrate_secret;
    // The image cache "image" requests are resolved in (--image-dir;
    // default: lightvm's, image/store.hpp).
    std::string image_dir;
};

struct Endpoint;
class ImageHolds;

enum class VmState { Created, Running, Paused, Exited };
const char* state_name(VmState s);

struct VmRecord {
    std::string id, name;
    CreateRequest request;
    VmState state = VmState::Created;
    int exit_status = -1, signal = 0;
    bool timed_out = false, pooled = false;
    std::string report, error;
    uint64_t created_at = 0, started_at = 0, finished_at = 0;  // realtime ns
    uint64_t start_to_loaded_ns = 0;  // request -> monitor loaded the app
    uint64_t start_to_sent_ns = 0;    // request -> workload sent to the monitor (the daemon's part)
    json stats;                       // from the monitor's report
    pid_t pid = -1;
    std::string dir;                  // state_dir/vms/ID
    bool removed = false;
    bool killed_by_request = false;   // the daemon sent SIGKILL (stop, kill, rm -f)
    bool attached = false;            // `lightvm run` through the daemon: stdio is the caller's
    // Snapshots (daemon/snapshots.cpp): the monitor link while supervised,
    // one save at a time, and the monitor's answer to it.
    int link_fd = -1;
    bool saving = false;
    json save_reply;
    unsigned snapshots = 0;
    // Live migration (daemon/migrate_out.cpp): one at a time, where to, the
    // monitor's answer, and where it went once it moved.
    bool migrating = false;
    std::string migrating_to, migrated_to;
    std::string migrated_from;  // the target's copy: the source's VM ID
    bool self_save_pending = false;  // request.save_path's .part files exist, not yet renamed
    json migrate_reply;
    // Restart recovery (daemon/recovery.cpp): what identifies the monitor
    // process and its log pipe again after lightvmd was restarted.
    uint64_t monitor_start = 0;     // /proc/PID/stat starttime: not a reused pid
    bool adopted = false;           // found again after a restart (its link: link.sock, daemon/link.hpp)
    bool persist_deferred = false;  // vm.json is written by the next event
};

// Host memory as /proc/meminfo tells it (bytes; 0 if unreadable).
struct HostMemory {
    uint64_t total = 0, available = 0;
};
HostMemory read_host_memory();
// The guest memory size a snapshot restores to (rounded as a shell's is),
// after the checks that need only its state file (daemon/snapshots.cpp).
Result<uint64_t> snapshot_mem_size(const std::string& path);
uint64_t realtime_ns();  // CLOCK_REALTIME: the timestamps in the API
// A process's start time (/proc/PID/stat, clock ticks since boot); 0 if gone.
uint64_t process_start_time(pid_t pid);

class Daemon {
public:
    explicit Daemon(DaemonOptions options);
    ~Daemon();
    ApiResult<void> init();  // state dir, pool
    void shutdown();
    // Ends long polls and waits (the daemon is stopping): HTTP workers
    // must be free before the server can stop.
    void wake_waiters();

    // start_now: a start follows at once (POST /v1/vms?start=1).
    ApiResult<json> create(std::string_view body, bool start_now = false);
    // hold: a migration's target restores the VM and holds it before its
    // first instruction until hand_over() says go (daemon/migrate_in.cpp).
    // `shell`: one taken ahead (a migration's, already made fresh).
    ApiResult<json> start(const std::string& ref, uint64_t request_ns, bool hold = false,
                          std::optional<Shell> shell = std::nullopt);
    ApiResult<json> stop(const std::string& ref, double grace_seconds);
    ApiResult<json> kill(const std::string& ref, int signal);
    ApiResult<json> pause(const std::string& ref, bool pause);
    ApiResult<json> wait(const std::string& ref);
    ApiResult<json> remove(const std::string& ref, bool force);
    ApiResult<json> inspect(const std::string& ref);
    ApiResult<json> list(bool all);
    ApiResult<json> pool_info();
    ApiResult<json> set_pool(std::string_view body);
    // POST /v1/vms/REF/snapshot: save a running or paused VM into PATH and
    // PATH.mem (body {"path", "stop"}); the VM goes on unless stop.
    ApiResult<json> snapshot(const std::string& ref, std::string_view body);
    // POST /v1/vms/REF/migrate {"to": "HOST:PORT"}: live-migrate a running
    // VM to the lightvmd listening there (daemon/migrate_out.cpp).
    ApiResult<json> migrate(const std::string& ref, std::string_view body);
    // --migrate-listen: accept migrations on a thread of their own.
    Result<void> listen_migrations(const std::string& at);
    std::string metrics();
    // Events after sequence number `since`, waiting up to `timeout_s` for
    // the first one (long poll).
    json events(uint64_t since, double timeout_s);
    // Host memory admission figures and each live VM's resource use.
    json stats();

    // `lightvm run` through the daemon (daemon/attach.cpp): one connection
    // on the run socket, served until its VM exited.
    void serve_attached(UniqueFd client);

    // Logs: the path of the current log file, and whether the VM is done
    // (a follower stops once it is and the file is read to the end).
    ApiResult<std::pair<std::string, std::string>> log_path(const std::string& ref);  // {id, path}
    bool finished(const std::string& id);

private:
    ApiResult<std::shared_ptr<VmRecord>> find(const std::string& ref);  // m_mu held
    // Registers a new VM after the count and host-memory checks.
    ApiResult<std::shared_ptr<VmRecord>> admit(CreateRequest request, bool attached, bool start_now = false);
    // Takes a shell, hands it the config and the guest's stdio (`fds`:
    // stdin, stdout, stderr[, cwd]) and waits until the app is loaded.
    // On failure the VM is exited with the reason.
    ApiResult<Shell> launch(const std::shared_ptr<VmRecord>& vm, uint64_t request_ns, const std::vector<int>& fds,
                            const json& extra, std::optional<Shell> taken = std::nullopt);
    // The end of a VM: its monitor's report (or its absence) and wait status.
    void collect(VmRecord& vm, const json& report, int wait_status);  // m_mu held
    void emit(const char* type, const VmRecord& vm);                 // m_mu held
    void supervise(std::shared_ptr<VmRecord> vm, Shell shell);
    void finish(VmRecord& vm, int status, int signal, const std::string& error);
    json to_json(const VmRecord& vm) const;
    void erase(const std::string& id);  // m_mu held
    // Restart recovery (daemon/recovery.cpp): every VM is written to
    // STATE_DIR/vms/ID/vm.json at each state change; init() reads them back,
    // and VMs whose monitors still run are supervised again.
    void persist(const VmRecord& vm);  // m_mu held
    void recover();
    void supervise_adopted(std::shared_ptr<VmRecord> vm, UniqueFd pidfd, UniqueFd link);
    // Reads a monitor's messages until its report or EOF: save and migrate
    // replies go to the waiting request; link_fd is `link` meanwhile.
    json pump_link(VmRecord& vm, int link);
    // A save the VM made itself: its files renamed into place (or removed).
    void self_saved(VmRecord& vm, const json& reply);  // m_mu held
    // Live migration: the source's part after its checks, and the target's
    // per connection (daemon/migrate_out.cpp, migrate_in.cpp).
    ApiResult<json> migrate_to(const std::shared_ptr<VmRecord>& vm, const Endpoint& to, const std::string& to_text,
                               uint64_t t0);
    void serve_migration(UniqueFd sock);
    Result<void> receive_migration(int sock);
    Result<void> hand_over(int sock, const std::shared_ptr<VmRecord>& vm);

    DaemonOptions m_opt;
    Pool m_pool;
    std::mutex m_mu;
    std::condition_variable m_changed;
    std::map<std::string, std::shared_ptr<VmRecord>> m_vms;
    std::atomic<unsigned> m_supervisors{0};
    // Metrics.
    uint64_t m_started = 0, m_start_failures = 0, m_monitor_crashes = 0;
    std::vector<uint64_t> m_latency_buckets;  // request -> guest main, cumulative by m_bounds
    uint64_t m_latency_count = 0, m_latency_sum_ns = 0;
    // Events: the last kEventsKept, numbered from 1.
    std::deque<json> m_events;
    uint64_t m_event_seq = 0;
    bool m_stopping = false;
    std::string m_boot_id;  // handed to monitors for saves: one read, not one per start
    // Images in use by VMs that are not removed (daemon/images.hpp).
    std::unique_ptr<ImageHolds> m_image_holds;
};


}  // namespace lightvm::daemon

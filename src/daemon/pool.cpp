#include "daemon/pool.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "daemon/link.hpp"
#include "daemon/protocol.hpp"

#include <cstring>

extern char** environ;

namespace lightvm::daemon {

Result<Shell> spawn_shell(const std::string& monitor_path, uint64_t mem_size) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sys_error("socketpair");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, theirs.get(), 3);  // dup2 clears CLOEXEC
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    std::string mem = std::to_string(mem_size);
    const char* argv[] = {monitor_path.c_str(), "--mem", mem.c_str(), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, monitor_path.c_str(), &fa, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return make_error(ErrorKind::System, "spawn " + monitor_path, std::strerror(rc));
    theirs.reset();
    auto msg = recv_message(ours.get());
    json j = msg && !msg->eof ? json::parse(msg->text, nullptr, false) : json();
    if (!j.is_object() || !j.value("ready", false)) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        std::string why = j.is_object() && j.contains("error") && j["error"].is_string()
                              ? j["error"].get<std::string>()
                              : "monitor exited before its shell was ready";
        return make_error(ErrorKind::System, "shell", why);
    }
    return Shell{pid, std::move(ours), false};
}

Pool::Pool(std::string monitor_path, uint64_t default_mem, unsigned target) : m_monitor(std::move(monitor_path)) {
    if (target)
        m_queues[default_mem].target = target;
}

Pool::~Pool() { stop(); }

void Pool::start() { m_thread = std::thread([this] { refill_loop(); }); }

void Pool::stop() {
    {
        std::lock_guard lock(m_mu);
        if (m_stopping)
            return;
        m_stopping = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    std::lock_guard lock(m_mu);
    for (auto& [mem, q] : m_queues)
        for (auto& s : q.ready) {
            ::kill(s.pid, SIGKILL);
            ::waitpid(s.pid, nullptr, 0);
        }
    m_queues.clear();
}

Result<Shell> Pool::take(uint64_t mem_size) {
    {
        std::lock_guard lock(m_mu);
        auto& q = m_queues[mem_size];
        while (!q.ready.empty()) {
            Shell s = std::move(q.ready.front());
            q.ready.pop_front();
            // A pooled monitor that died while idle (killed from outside) is
            // noticed here: its pid is gone or already a zombie.
            if (::waitpid(s.pid, nullptr, WNOHANG) != 0)
                continue;
            q.hits++;
            s.pooled = true;
            // No refill wake-up here: see refill().
            return s;
        }
        q.misses++;
    }
    refill();
    return spawn_shell(m_monitor, mem_size);
}

void Pool::refill() {
    {
        std::lock_guard lock(m_mu);
        m_quiet_until = std::chrono::steady_clock::now() + kQuietAfterStart;
    }
    m_cv.notify_all();
}

std::vector<Pool::ShapeInfo> Pool::info() {
    std::lock_guard lock(m_mu);
    std::vector<ShapeInfo> out;
    for (auto& [mem, q] : m_queues)
        out.push_back({mem, q.target, static_cast<unsigned>(q.ready.size()), q.hits, q.misses, q.spawned, q.failures});
    return out;
}

void Pool::set_target(uint64_t mem_size, unsigned target) {
    std::lock_guard lock(m_mu);
    m_queues[mem_size].target = target;
    m_cv.notify_all();
}

void Pool::refill_loop() {
    std::unique_lock lock(m_mu);
    while (!m_stopping) {
        uint64_t want = 0;
        for (auto& [mem, q] : m_queues)
            if (q.ready.size() < q.target) {
                want = mem;
                break;
            }
        if (!want) {
            m_cv.wait(lock);
            continue;
        }
        // A VM just started: its sandbox entry and guest boot come next, on
        // the same two CPUs a monitor spawn would take. Wait a little unless
        // the shape has no ready shell left (a start would then go cold).
        if (std::chrono::steady_clock::now() < m_quiet_until && !m_queues[want].ready.empty()) {
            m_cv.wait_until(lock, m_quiet_until);
            continue;
        }
        lock.unlock();
        auto shell = spawn_shell(m_monitor, want);
        lock.lock();
        auto& q = m_queues[want];
        if (shell) {
            q.spawned++;
            q.ready.push_back(std::move(*shell));
        } else {
            q.failures++;
            // Do not spin on a host that cannot make shells (no KVM, limits).
            m_cv.wait_for(lock, std::chrono::seconds(1));
        }
    }
}

}  // namespace lightvm::daemon

#include "cli/daemon_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "common/unique_fd.hpp"
#include "daemon/link.hpp"
#include "daemon/paths.hpp"
#include "daemon/protocol.hpp"
#include "devices/system.hpp"

namespace lightvm::cli {

namespace {

// Signals received since the last forward, bit sig - 1 (several may come
// between two waits; none is lost).
std::atomic<uint64_t> g_signals{0};
void on_signal(int sig) { g_signals.fetch_or(1ull << (sig - 1)); }
// What `lightvm run` forwards to the VM (monitor/vm.hpp request_signal).
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGWINCH, SIGCONT};

// Connected to the daemon's run socket, or invalid when nobody listens.
UniqueFd connect_run_socket(const std::string& api_socket) {
    const std::string path = daemon::run_socket_path(api_socket);
    sockaddr_un a{};
    if (path.size() >= sizeof a.sun_path)
        return UniqueFd();
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
        return UniqueFd();
    return fd;
}

int fail(const std::string& why, int status) {
    std::fprintf(stderr, "lightvm: %s\n", why.c_str());
    return status;
}

// Prints what `lightvm run` prints after a VM ended and returns its status.
int finish(const daemon::json& end) {
    if (end.contains("error")) {
        int code = end.value("exit_code", 125);
        return fail(end["error"].is_string() ? end["error"].get<std::string>() : "lightvmd error", code);
    }
    const std::string report = end.value("report", "");
    const int sig = end.value("signal", 0);
    if (!report.empty())
        std::fprintf(stderr, "lightvm: %s\n", report.c_str());
    else if (sig && sig != SIGPIPE && !end.value("stopped_by", 0))
        std::fprintf(stderr, "lightvm: guest killed by %s\n", signal_name(sig));
    return end.value("status", 125);
}

// The caller's terminal as it was before the VM: the monitor puts back
// what the guest changed (HostTty), but a monitor that died cannot; this
// process holds the same terminal and does it then, as a last resort.
class TerminalKeeper {
public:
    TerminalKeeper() {
        for (int fd : {0, 1, 2})
            if (::isatty(fd) && ::tcgetattr(fd, &m_saved) == 0) {
                m_fd = fd;
                return;
            }
    }
    ~TerminalKeeper() {
        termios now{};
        if (m_fd < 0 || ::tcgetattr(m_fd, &now) != 0 || same(now))
            return;
        // Blocked SIGTTOU: a background `lightvm run` restores too.
        sigset_t ttou, old;
        sigemptyset(&ttou);
        sigaddset(&ttou, SIGTTOU);
        ::sigprocmask(SIG_BLOCK, &ttou, &old);
        (void)::tcsetattr(m_fd, TCSANOW, &m_saved);
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
    }
    TerminalKeeper(const TerminalKeeper&) = delete;
    TerminalKeeper& operator=(const TerminalKeeper&) = delete;

private:
    bool same(const termios& t) const {
        return t.c_iflag == m_saved.c_iflag && t.c_oflag == m_saved.c_oflag && t.c_cflag == m_saved.c_cflag &&
               t.c_lflag == m_saved.c_lflag && std::memcmp(t.c_cc, m_saved.c_cc, sizeof t.c_cc) == 0;
    }
    int m_fd = -1;
    termios m_saved{};
};

}  // namespace

bool daemon_run_possible(const RunCommand& cmd) {
    // Networking goes along too: the pool shell's monitor binds -p ports
    // and starts --net user|host from the host's namespace (NetDevice::create).
    return !cmd.no_daemon && cmd.sandbox && !cmd.uid && !cmd.gid && !cmd.config.stats;
}

std::optional<int> run_through_daemon(const RunCommand& cmd) {
    UniqueFd sock = connect_run_socket(cmd.socket.empty() ? daemon::default_socket_path() : cmd.socket);
    if (!sock.valid())
        return std::nullopt;
    const TerminalKeeper terminal;
    // Signals are forwarded to the VM (the monitor hands them to the guest
    // or turns them into a stop, as `lightvm run` itself would); block them
    // outside ppoll so none is lost between two waits.
    sigset_t stop_signals, old;
    sigemptyset(&stop_signals);
    for (int s : kForwarded)
        sigaddset(&stop_signals, s);
    sigprocmask(SIG_BLOCK, &stop_signals, &old);
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : kForwarded)
        sigaction(s, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    UniqueFd cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cwd.valid())
        cwd = UniqueFd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    const VmConfig& c = cmd.config;
    daemon::json msg = {{"config", daemon::config_to_json(c)},
                        {"stdio_closed", {c.stdio_closed[0], c.stdio_closed[1], c.stdio_closed[2]}}};
    if (auto sent = daemon::send_message(sock.get(), msg.dump(), {0, 1, 2, cwd.get()}); !sent)
        return fail("lightvmd: " + sent.error().to_string(), 125);
    cwd.reset();
    for (;;) {
        pollfd p{sock.get(), POLLIN, 0};
        int rc = ::ppoll(&p, 1, nullptr, &old);
        if (rc < 0 && errno == EINTR) {
            for (uint64_t bits = g_signals.exchange(0); bits; bits &= bits - 1) {
                int sig = __builtin_ctzll(bits) + 1;
                (void)daemon::send_message(sock.get(), daemon::json{{"signal", sig}}.dump());
            }
            continue;
        }
        if (rc < 0)
            return fail("lightvmd: poll: " + std::string(std::strerror(errno)), 125);
        auto in = daemon::recv_message(sock.get());
        if (!in || in->eof)
            return fail("lightvmd closed the connection before the VM ended", 125);
        daemon::json end = daemon::json::parse(in->text, nullptr, false);
        if (!end.is_object())
            return fail("lightvmd sent a malformed message", 125);
        return finish(end);
    }
}

}  // namespace lightvm::cli

#include "devices/user_net.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/stop.hpp"
#include "common/unique_fd.hpp"

namespace lightvm {

namespace {

constexpr const char* kWhere = "--net user";
constexpr long kReadyPollNs = 200'000;
// At least 10 s of 200 us waits; pasta needs ~20 ms (docs/benchmarks.md §17).
constexpr int kReadySlices = 50'000;

// A small /proc file's text, with raw calls only: the supervisor is a fork
// of a possibly multithreaded process, where malloc and stdio may deadlock.
std::string_view read_small(const char* path, char* buf, size_t size) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return {};
    size_t got = 0;
    for (ssize_t n; got < size && (n = ::read(fd, buf + got, size - got)) > 0;)
        got += static_cast<size_t>(n);
    ::close(fd);
    return {buf, got};
}

// Field `i` (0-based, whitespace-separated) of a line.
std::string_view field(std::string_view line, int i) {
    size_t at = 0;
    for (;;) {
        at = line.find_first_not_of(" \t", at);
        if (at == std::string_view::npos)
            return {};
        size_t end = std::min(line.find_first_of(" \t", at), line.size());
        if (i-- == 0)
            return line.substr(at, end - at);
        at = end;
    }
}

// Where the VM namespace's routes are read: this thread's (the supervisor
// is forked inside that namespace) or, rootless, the namespace process's
// (/proc/PID/net). Set before the fork.
char g_route_dir[48] = "/proc/thread-self/net";
// Rootless: the supervisor is in the host's namespace already, and may not
// setns into it (no CAP_SYS_ADMIN).
bool g_rootless = false;

// Does some line of <g_route_dir>/<file> satisfy `is_default`?
template <class Pred>
bool any_route(const char* file, Pred is_default) {
    char path[96];
    std::snprintf(path, sizeof path, "%s/%s", g_route_dir, file);
    char buf[16384];
    std::string_view text = read_small(path, buf, sizeof buf);
    for (size_t at = 0; at < text.size();) {
        size_t nl = std::min(text.find('\n', at), text.size());
        if (is_default(text.substr(at, nl - at)))
            return true;
        at = nl + 1;
    }
    return false;
}

// Does this thread's namespace have a default route that is not the
// loopback's reject route? pasta adds it last (--config-net: link, address,
// route), so it means "configured".
bool has_default_route() {
    if (any_route("route",
                  [](std::string_view l) { return field(l, 1) == "00000000"; }))  // Iface Destination ...
        return true;
    return any_route("ipv6_route", [](std::string_view l) {
        std::string_view dest = field(l, 0);  // dest plen src srclen nexthop metric refs use flags iface
        return dest.size() == 32 && dest.find_first_not_of('0') == std::string_view::npos && field(l, 1) == "00" &&
               field(l, 9) != "lo";
    });
}

// pasta's last complaint (its log file), for a one-line error.
std::string last_line(int fd) {
    char buf[4096];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return "";
    std::string s(buf, static_cast<size_t>(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    size_t nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
}

// The VM's namespace is pasta's fd 3: pasta drops capabilities before it
// opens the namespace, and /proc/PID/ns of a process with more capabilities
// than the opener is closed to it (a ptrace access check).
constexpr int kPastaNsFd = 3;

constexpr int kPastaUserNsFd = 9;

std::vector<std::string> pasta_args() {
    const std::string ns = "/proc/self/fd/" + std::to_string(kPastaNsFd);
    std::vector<std::string> args = {"pasta", "--foreground", "--quiet",
            // As root pasta would switch to nobody before joining a namespace
            // that only root may enter; it confines itself either way
            // (seccomp, own mount/IPC namespaces, capabilities dropped).
            "--runas", std::to_string(::getuid()) + ":" + std::to_string(::getgid()), "--config-net",
            // Nothing forwarded into the namespace (-p ports are the
            // monitor's own listeners), nothing from it to the host's
            // loopback, and the gateway address is not the host.
            "-t", "none", "-u", "none", "-T", "none", "-U", "none", "--no-map-gw", "--netns", ns};
    if (g_rootless) {  // the namespace's owner, which pasta joins first
        args.push_back("--userns");
        args.push_back("/proc/self/fd/" + std::to_string(kPastaUserNsFd));
    }
    return args;
}

// The fds the supervisor and pasta need, at fixed numbers (everything else
// the monitor holds is closed in the supervisor).
enum : int { kFdNs = 3, kFdLife = 4, kFdErr = 5, kFdLog = 6, kFdHostNs = 7, kFdReady = 8, kFdUserNs = 9, kFdCount = 10 };
static_assert(kFdNs == kPastaNsFd && kFdUserNs == kPastaUserNsFd);

void keep_only(const int (&from)[kFdCount - 3]) {
    int tmp[kFdCount - 3];
    for (int i = 0; i < kFdCount - 3; ++i)
        tmp[i] = ::fcntl(from[i], F_DUPFD, 64);
    for (int i = 0; i < kFdCount - 3; ++i)
        ::dup2(tmp[i], 3 + i);  // dup2 clears close-on-exec
    ::syscall(SYS_close_range, static_cast<unsigned>(kFdCount), ~0u, 0u);
}

void default_signals() {
    // Ignored signals survive exec, and pasta refuses to start with SIGPIPE
    // already ignored (lightvm ignores it): defaults, unblocked.
    for (int sig = 1; sig < NSIG; ++sig)
        ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Stdio on /dev/null: the supervisor and pasta must not hold the caller's
// terminal or pipes (a reader of lightvm's output waits for their EOF).
void null_stdio() {
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd)
        ::dup2(null, fd);
    if (null > 2)
        ::close(null);
}

[[noreturn]] void exec_pasta(char* const* argv) {
    if (g_rootless || ::setns(kFdHostNs, CLONE_NEWNET) == 0) {
        ::dup2(kFdLog, 2);
        ::close(kFdLife);
        ::close(kFdHostNs);
        ::close(kFdReady);
        ::fcntl(kFdErr, F_SETFD, FD_CLOEXEC);
        ::execvp("pasta", argv);
    }
    int e = errno;
    (void)!::write(kFdErr, &e, sizeof e);
    ::_exit(127);
}

// pasta is ready when the namespace has its default route: one byte on the
// ready pipe. Not ready in kReadySlices waits: a line in pasta's log, and the
// pipe closes without the byte (so does pasta ending first).
bool await_route(int pidfd) {
    pollfd p[2] = {{kFdLife, POLLIN, 0}, {pidfd, POLLIN, 0}};
    const timespec slice{0, kReadyPollNs};
    for (int waited = 0; !has_default_route(); ++waited) {
        if (waited == kReadySlices) {
            static const char kLate[] = "pasta did not configure the network within 10 s\n";
            (void)!::write(kFdLog, kLate, sizeof kLate - 1);
            return false;
        }
        int r = ::ppoll(p, pidfd < 0 ? 1 : 2, &slice, nullptr);
        if (r > 0)  // the monitor or pasta ended
            return false;
    }
    (void)!::write(kFdReady, "1", 1);
    return true;
}

// The supervisor: pasta's parent, in the VM's namespace. It tells the
// monitor when pasta has configured the namespace, and it ends pasta when
// the monitor is gone (the life pipe's last writer closed: any exit,
// SIGKILL included) — pasta drops capabilities, which clears a
// parent-death signal. When pasta ends first it ends with pasta's status.
[[noreturn]] void supervise(char* const* argv) {
    ::setpgid(0, 0);  // the terminal's Ctrl-C is the guest's, not ours
    default_signals();
    null_stdio();
    pid_t pasta = ::fork();
    if (pasta == 0)
        exec_pasta(argv);
    ::close(kFdErr);
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pasta, 0));
    bool up = await_route(pidfd);
    ::close(kFdReady);
    pollfd p[2] = {{kFdLife, POLLIN, 0}, {pidfd, POLLIN, 0}};
    while (up && ::poll(p, pidfd < 0 ? 1 : 2, -1) < 0 && errno == EINTR) {
    }
    if (!(p[1].revents & POLLIN))
        ::kill(pasta, SIGTERM);
    int status = 0;
    ::waitpid(pasta, &status, 0);
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

struct Spawned {
    pid_t supervisor;
    UniqueFd life;   // the write end: closes when the monitor ends
    UniqueFd ready;  // the read end: a byte when pasta is ready
};

// fork the supervisor, which runs pasta in the host's namespace (it reads
// the host's addresses and routes there and opens its sockets there);
// exec's errno comes back through a close-on-exec pipe.
Result<Spawned> spawn_pasta(int host_ns, int vm_ns, int log_fd, int user_ns) {
    std::vector<std::string> args = pasta_args();
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    int e[2], l[2];
    if (::pipe2(e, O_CLOEXEC) != 0)
        return sys_error(kWhere);
    UniqueFd err_rd(e[0]), err_wr(e[1]);
    if (::pipe2(l, O_CLOEXEC) != 0)
        return sys_error(kWhere);
    UniqueFd life_rd(l[0]), life_wr(l[1]);
    int r[2];
    if (::pipe2(r, O_CLOEXEC) != 0)
        return sys_error(kWhere);
    UniqueFd ready_rd(r[0]), ready_wr(r[1]);
    pid_t pid = ::fork();
    if (pid < 0)
        return sys_error(std::string(kWhere) + ": fork");
    if (pid == 0) {
        keep_only({vm_ns, life_rd.get(), err_wr.get(), log_fd, host_ns, ready_wr.get(), user_ns});
        supervise(argv.data());
    }
    err_wr = UniqueFd();
    ready_wr = UniqueFd();
    int code = 0;
    ssize_t n;
    do
        n = ::read(err_rd.get(), &code, sizeof code);
    while (n < 0 && errno == EINTR);
    if (n == sizeof code) {
        ::waitpid(pid, nullptr, 0);
        if (code == ENOENT)
            return make_error(ErrorKind::BadInput, kWhere, "pasta not found (install Debian's passt package)");
        return sys_error(std::string(kWhere) + ": starting pasta", code);
    }
    return Spawned{pid, std::move(life_wr), std::move(ready_rd)};
}

}  // namespace

Result<UserNetwork> UserNetwork::start() {
    UniqueFd host_ns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!host_ns.valid())
        return sys_error(std::string(kWhere) + ": /proc/thread-self/ns/net");
    UserNetwork n;
    UniqueFd vm_ns;
    bool rootless = false;
    if (::unshare(CLONE_NEWNET) != 0) {
        if (errno != EPERM)
            return sys_error(std::string(kWhere) + ": unshare");
        rootless = true;  // not root: the namespaces are a process's of the monitor's
    }
    if (rootless) {
        n.factory = TRY(SocketFactory::start());
        vm_ns = UniqueFd(::fcntl(n.factory.net_ns(), F_DUPFD_CLOEXEC, 0));
        std::snprintf(g_route_dir, sizeof g_route_dir, "/proc/%d/net", static_cast<int>(n.factory.pid()));
        g_rootless = true;
    } else {
        vm_ns = UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    }
    if (!vm_ns.valid())
        return sys_error(std::string(kWhere) + ": the VM's network namespace");
    // pasta's stderr: kept in memory, read only when it fails to start.
    UniqueFd log(::memfd_create("lightvm-pasta-log", MFD_CLOEXEC));
    if (!log.valid())
        return sys_error(kWhere);
    const int user_ns = rootless ? n.factory.user_ns() : vm_ns.get();
    Spawned sp = TRY(spawn_pasta(host_ns.get(), vm_ns.get(), log.get(), user_ns));
    n.supervisor_pid = sp.supervisor;
    n.life = std::move(sp.life);
    n.ready_fd = std::move(sp.ready);
    n.log = std::move(log);
    return n;
}

int UserNetwork::make_socket(int domain, int type, int protocol) const {
    if (factory.active())
        return factory.make(domain, type, protocol);
    int fd = ::socket(domain, type, protocol);
    return fd < 0 ? -errno : fd;
}

Result<void> UserNetwork::take_ready() {
    if (m_up)
        return {};
    char byte = 0;
    if (::read(ready_fd.get(), &byte, 1) == 1) {
        m_up = true;
        return {};
    }
    std::string why = last_line(log.get());
    return make_error(ErrorKind::BadInput, kWhere, "pasta failed" + (why.empty() ? std::string() : ": " + why));
}

}  // namespace lightvm

// lightvmd: the toolstack daemon. Parses its flags and serves the REST API
// (daemon/api.cpp) on a Unix socket only its owner may use.
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon/api.hpp"
#include "daemon/paths.hpp"
#include "image/store.hpp"

using namespace lightvm;
using namespace lightvm::daemon;

namespace {

// The run socket (daemon/attach.cpp): owner-only like the REST socket.
Result<UniqueFd> listen_run_socket(const std::string& path) {
    ::unlink(path.c_str());
    UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    mode_t old = ::umask(077);
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::umask(old);
    if (rc < 0 || ::listen(fd.get(), 512) < 0)
        return sys_error("listen on " + path);
    return fd;
}

// --migrate-secret FILE: its first line, which must not be empty.
Result<std::string> read_secret(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!in)
        return make_error(ErrorKind::NotFound, path, "cannot read it");
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
        line.pop_back();
    if (line.size() < 16)
        return make_error(ErrorKind::BadInput, path, "the secret must be at least 16 characters");
    return line;
}

// One thread per `lightvm run` connection, for as long as its VM runs.
void serve_run_socket(Daemon& daemon, int listen_fd) {
    for (;;) {
        int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE)
                ::usleep(10000);  // out of fds: let some VMs end
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
                continue;
            return;
        }
        std::thread([&daemon, c] { daemon.serve_attached(UniqueFd(c)); }).detach();
    }
}

// A socket file nobody answers on is stale (a previous daemon died).
bool socket_in_use(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    bool used = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return used;
}

std::string sibling(const char* name) {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return (self.parent_path() / name).string();
}

}  // namespace

// Each running VM holds about three descriptors here (its monitor link, its
// log pipe, its report file): 10,000 VMs need more than a login's usual
// limit. Root raises the hard limit to fs.nr_open; anyone the soft one.
static void raise_fd_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) < 0)
        return;
    if (::geteuid() == 0) {
        unsigned long nr_open = 0;
        if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
            if (std::fscanf(f, "%lu", &nr_open) != 1)
                nr_open = 0;
            std::fclose(f);
        }
        if (nr_open > lim.rlim_max)
            lim.rlim_max = nr_open;
    }
    lim.rlim_cur = lim.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &lim);
}

int main(int argc, char** argv) {
    raise_fd_limit();
    DaemonOptions opt;
    std::string socket_path = default_socket_path();
    std::string pool_mem = "256M";
    opt.state_dir = default_state_dir();
    opt.monitor_path = sibling("lightvm-monitor");
    CLI::App app{"lightvmd: the lightvm daemon (REST API on a Unix socket)", "lightvmd"};
    app.add_option("--socket", socket_path, "Unix socket to listen on")->capture_default_str();
    app.add_option("--state-dir", opt.state_dir, "Directory for VM logs and state")->capture_default_str();
    opt.image_dir = image::Store::default_dir();
    app.add_option("--image-dir", opt.image_dir, "The image cache that VMs' \"image\" names are looked up in")
        ->capture_default_str();
    app.add_option("--pool", opt.pool_size, "Ready VM shells kept for the default shape")->capture_default_str();
    app.add_option("--pool-mem", pool_mem, "Memory size of the default pool shape")->capture_default_str();
    app.add_option("--max-vms", opt.max_vms, "Most VMs the daemon holds at once")->capture_default_str();
    app.add_option("--log-max", opt.log_max_bytes, "Bytes per VM log file (one rotated file is kept)")
        ->capture_default_str();
    app.add_option("--monitor", opt.monitor_path, "Path of lightvm-monitor")->capture_default_str();
    app.add_option("--overcommit-ratio", opt.overcommit_ratio,
                   "Guest memory of all live VMs may add up to this many times MemTotal")
        ->check(CLI::Range(0.01, 1e6))
        ->capture_default_str();
    std::string migrate_listen, migrate_secret_file;
    app.add_option("--migrate-listen", migrate_listen,
                   "Accept live migrations on HOST:PORT (TCP, unencrypted: a trusted network only)");
    app.add_option("--migrate-secret", migrate_secret_file,
                   "File with a secret that migrations to and from this daemon must carry");
    std::string min_free = "256M";
    app.add_option("--min-free", min_free, "Refuse new VMs while MemAvailable is below this")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "lightvmd: %s\n", e.what());
        return 2;
    }
    auto size = parse_size(pool_mem);
    if (!size) {
        std::fprintf(stderr, "lightvmd: --pool-mem: %s\n", size.error().message.c_str());
        return 2;
    }
    opt.pool_mem = (*size + (2ull << 20) - 1) & ~((2ull << 20) - 1);
    auto free_size = parse_size(min_free);
    if (!free_size) {
        std::fprintf(stderr, "lightvmd: --min-free: %s\n", free_size.error().message.c_str());
        return 2;
    }
    opt.min_free = *free_size;
    if (!migrate_secret_file.empty()) {
        auto secret = read_secret(migrate_secret_file);
        if (!secret) {
            std::fprintf(stderr, "lightvmd: --migrate-secret: %s\n", secret.error().to_string().c_str());
            return 2;
        }
        opt.migrate_secret = std::move(*secret);
    }
    if (run_socket_path(socket_path).size() >= sizeof(sockaddr_un::sun_path)) {
        std::fprintf(stderr, "lightvmd: --socket: path too long\n");
        return 2;
    }

    // Signals: SIGTERM/SIGINT end the daemon through a waiting thread.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    std::filesystem::create_directories(std::filesystem::path(socket_path).parent_path());
    if (socket_in_use(socket_path)) {
        std::fprintf(stderr, "lightvmd: %s: another daemon is listening there\n", socket_path.c_str());
        return 1;
    }
    ::unlink(socket_path.c_str());

    Daemon daemon(opt);
    if (auto ok = daemon.init(); !ok) {
        std::fprintf(stderr, "lightvmd: %s\n", ok.error().message.c_str());
        return 1;
    }
    httplib::Server server;
    server.new_task_queue = [] { return new httplib::ThreadPool(512); };
    server.set_address_family(AF_UNIX);
    server.set_payload_max_length(kMaxBodyBytes);
    server.set_read_timeout(5, 0);  // slow clients that never finish a request
    server.set_write_timeout(30, 0);
    server.set_keep_alive_timeout(5);
    install_routes(server, daemon);
    // Owner-only from the moment it exists: create it under umask 077.
    mode_t old = ::umask(077);
    bool bound = server.bind_to_port(socket_path.c_str(), 80);
    ::umask(old);
    if (!bound) {
        std::fprintf(stderr, "lightvmd: cannot listen on %s\n", socket_path.c_str());
        return 1;
    }
    ::chmod(socket_path.c_str(), 0600);
    const std::string run_path = run_socket_path(socket_path);
    auto run_listener = listen_run_socket(run_path);
    if (!run_listener) {
        std::fprintf(stderr, "lightvmd: %s\n", run_listener.error().to_string().c_str());
        return 1;
    }
    std::thread([&daemon, fd = run_listener->get()] { serve_run_socket(daemon, fd); }).detach();
    if (!migrate_listen.empty()) {
        if (auto listening = daemon.listen_migrations(migrate_listen); !listening) {
            std::fprintf(stderr, "lightvmd: %s\n", listening.error().to_string().c_str());
            return 1;
        }
    }
    std::thread waiter([&] {
        int sig;
        sigwait(&set, &sig);
        ::unlink(run_path.c_str());  // new `lightvm run`s go local from now on
        daemon.wake_waiters();
        server.stop();
    });
    std::fprintf(stderr, "lightvmd: listening on %s (pool %u x %llu MiB)\n", socket_path.c_str(), opt.pool_size,
                 static_cast<unsigned long long>(opt.pool_mem >> 20));
    server.listen_after_bind();
    daemon.shutdown();  // idle shells are killed
    ::unlink(socket_path.c_str());
    ::unlink(run_path.c_str());
    // Supervisor threads of running VMs are detached and use the Daemon:
    // end the process without running destructors under them. The VMs'
    // monitors keep running (their output now goes to a closed pipe).
    std::fflush(stderr);
    ::_exit(0);
}

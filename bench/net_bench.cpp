// Networking under this host's KVM, guest against native in the same run:
// the same program (tests/guests/netpeer) runs in a VM with --net host and
// natively, against a peer thread of this process on 127.0.0.1:
//   rr          request/response of 64 bytes over one TCP connection
//               (median round trip), exits per round trip
//   stream out  guest -> host, MiB/s, exits per MiB
//   stream in   host -> guest, MiB/s, exits per MiB
//   connect     new connection + HTTP request/response through -p (guest
//               server) against the same server natively: requests/s
//   keep-alive  HTTP/1.1 requests on one connection through -p: requests/s
// Medians over --runs; ratio = guest / native (for latency: native / guest).
//
// usage: net_bench [--runs N] [--mib M] [GUEST_DIR]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "lightvm/abi.h"
#include "monitor/vm.hpp"

extern char** environ;
using namespace lightvm;

namespace {

double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double median(std::vector<double> v) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int listener(uint16_t* port) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(*port);
    socklen_t len = sizeof a;
    if (bind(l, reinterpret_cast<sockaddr*>(&a), len) < 0 || listen(l, 64) < 0)
        return -1;
    getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(a.sin_port);
    return l;
}

int dial(uint16_t port) {
    for (int tries = 0; tries < 500; ++tries) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return c;
        }
        close(c);
        usleep(5000);
    }
    return -1;
}

// Peers played by this process.
void echo_one(int l) {
    int s = accept(l, nullptr, nullptr), one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static thread_local char buf[65536];
    ssize_t n;
    while (s >= 0 && (n = recv(s, buf, sizeof buf, 0)) > 0)
        send(s, buf, size_t(n), MSG_NOSIGNAL);
    close(s);
}
void sink_one(int l) {
    int s = accept(l, nullptr, nullptr);
    static thread_local char buf[1 << 20];
    while (s >= 0 && recv(s, buf, sizeof buf, 0) > 0) {
    }
    close(s);
}
// Connects (retrying until the guest listens) and sends mib MiB; seconds.
double feed(uint16_t port, int mib) {
    int c = dial(port);
    static char buf[1 << 20];
    memset(buf, 'f', sizeof buf);
    double t0 = now_s();
    for (int i = 0; i < mib; ++i)
        if (send(c, buf, sizeof buf, MSG_NOSIGNAL) != ssize_t(sizeof buf))
            break;
    shutdown(c, SHUT_WR);
    char b;
    recv(c, &b, 1, 0);  // the guest closes once it counted everything
    double t = now_s() - t0;
    close(c);
    return t;
}
// n sequential HTTP requests, a connection each; seconds.
double requests(uint16_t port, int n) {
    close(dial(port));  // wait until the server listens (it counts this one)
    double t0 = now_s();
    for (int i = 0; i < n; ++i) {
        int c = dial(port);
        const char req[] = "GET / HTTP/1.0\r\n\r\n";
        send(c, req, sizeof req - 1, MSG_NOSIGNAL);
        char buf[512];
        while (recv(c, buf, sizeof buf, 0) > 0) {
        }
        close(c);
    }
    return now_s() - t0;
}

// n sequential HTTP/1.1 requests on one connection (each answer read whole
// by its Content-Length: 6); seconds.
double keepalive_requests(uint16_t port, int n) {
    int c = dial(port);
    const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
    const std::string end = "\r\n\r\nhello\n";
    double t0 = now_s();
    for (int i = 0; i < n; ++i) {
        send(c, req, sizeof req - 1, MSG_NOSIGNAL);
        std::string got;
        char buf[512];
        for (ssize_t k; got.size() < end.size() || got.compare(got.size() - end.size(), end.size(), end) != 0;) {
            if ((k = recv(c, buf, sizeof buf, 0)) <= 0)
                return now_s() - t0;
            got.append(buf, size_t(k));
        }
    }
    double t = now_s() - t0;
    close(c);
    return t;
}

struct Result {
    std::string out;
    uint64_t net_exits = 0, exits = 0;
};

std::string g_dir;

Result guest(std::vector<std::string> args, std::vector<PublishSpec> publish = {}) {
    char path[] = "/tmp/net_bench_XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    int null = open("/dev/null", O_RDWR);
    VmConfig cfg;
    cfg.app_path = g_dir + "/netpeer.glibc";
    cfg.argv = {cfg.app_path};
    cfg.argv.insert(cfg.argv.end(), args.begin(), args.end());
    cfg.stdin_fd = null;
    cfg.stdout_fd = fd;
    cfg.net = NetMode::Host;
    cfg.publish = std::move(publish);
    auto r = run_vm(cfg);
    if (!r || r->outcome.status != 0) {
        std::fprintf(stderr, "net_bench: guest netpeer failed: %s\n", r ? "non-zero status" : r.error().to_string().c_str());
        std::exit(1);
    }
    Result out{std::string(4096, '\0'), r->stats.exits.hypercalls[abi::kHcNet], r->stats.exits.total};
    ssize_t n = pread(fd, out.out.data(), out.out.size(), 0);
    out.out.resize(n > 0 ? size_t(n) : 0);
    close(fd);
    close(null);
    return out;
}

std::string native(std::vector<std::string> args) {
    int p[2];
    if (pipe(p) != 0)
        std::exit(1);
    std::string prog = g_dir + "/netpeer.glibc";
    std::vector<char*> argv{prog.data()};
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    pid_t pid;
    if (posix_spawn(&pid, prog.c_str(), &fa, nullptr, argv.data(), environ) != 0)
        std::exit(1);
    close(p[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        out.append(buf, size_t(n));
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return out;
}

double field(const std::string& s, const char* key) {
    auto p = s.find(key);
    return p == std::string::npos ? -1 : std::atof(s.c_str() + p + std::strlen(key));
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 5, mib = 256;
    g_dir = LIGHTVM_GUEST_DIR;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc)
            runs = std::atoi(argv[++i]);
        else if (a == "--mib" && i + 1 < argc)
            mib = std::atoi(argv[++i]);
        else
            g_dir = a;
    }
    const int kRounds = 2000, kRequests = 200;
    std::vector<double> rr_g, rr_n, out_g, out_n, in_g, in_n, req_g, req_n, ka_g, ka_n;
    double rr_exits = 0, out_exits = 0, in_exits = 0, req_exits = 0, ka_exits = 0;
    const int kKeepAlive = 2000;
    for (int r = 0; r < runs; ++r) {
        for (int native_run = 0; native_run < 2; ++native_run) {
            std::vector<std::string> rr_args = {"rr", "127.0.0.1", "", std::to_string(kRounds), "64"};
            uint16_t port = 0;
            int l = listener(&port);
            rr_args[2] = std::to_string(port);
            std::thread e(echo_one, l);
            if (native_run) {
                rr_n.push_back(field(native(rr_args), "median_us"));
            } else {
                auto g = guest(rr_args);
                rr_g.push_back(field(g.out, "median_us"));
                rr_exits = double(g.net_exits) / kRounds;
            }
            e.join();
            close(l);

            port = 0;
            l = listener(&port);
            std::thread s(sink_one, l);
            std::vector<std::string> st_args = {"stream", "127.0.0.1", std::to_string(port), std::to_string(mib)};
            if (native_run) {
                out_n.push_back(field(native(st_args), "MiB/s"));
            } else {
                auto g = guest(st_args);
                out_g.push_back(field(g.out, "MiB/s"));
                out_exits = double(g.net_exits) / mib;
            }
            s.join();
            close(l);

            // host -> guest: the guest listens (a port we pick), we feed it.
            port = 0;
            l = listener(&port);
            close(l);
            double secs = 0;
            std::thread f([&] { secs = feed(port, mib); });
            if (native_run) {
                native({"sink", std::to_string(port)});
                f.join();
                in_n.push_back(mib / secs);
            } else {
                auto g = guest({"sink", std::to_string(port)});
                f.join();
                in_g.push_back(mib / secs);
                in_exits = double(g.net_exits) / mib;
            }

            // connection + request through -p (guest) or directly (native).
            port = 0;
            l = listener(&port);
            close(l);
            std::thread q([&] { secs = requests(port, kRequests); });
            if (native_run) {
                native({"serve", std::to_string(port), std::to_string(kRequests + 1)});
                q.join();
                req_n.push_back(kRequests / secs);
            } else {
                auto g = guest({"serve", "80", std::to_string(kRequests + 1)}, {PublishSpec{"127.0.0.1", port, 80, false}});
                q.join();
                req_g.push_back(kRequests / secs);
                req_exits = double(g.net_exits) / (kRequests + 1);
            }

            // HTTP/1.1 keep-alive: one connection, kKeepAlive requests.
            port = 0;
            l = listener(&port);
            close(l);
            std::thread k([&] { secs = keepalive_requests(port, kKeepAlive); });
            if (native_run) {
                native({"keepalive", std::to_string(port), std::to_string(kKeepAlive)});
                k.join();
                ka_n.push_back(kKeepAlive / secs);
            } else {
                auto g = guest({"keepalive", "80", std::to_string(kKeepAlive)},
                               {PublishSpec{"127.0.0.1", port, 80, false}});
                k.join();
                ka_g.push_back(kKeepAlive / secs);
                ka_exits = double(g.net_exits) / kKeepAlive;
            }
        }
    }
    std::printf("net_bench: %d runs, medians; guest = lightvm --net host (-p for requests), native = same program\n", runs);
    std::printf("%-34s %12s %12s %8s %14s\n", "", "guest", "native", "ratio", "exits/op");
    std::printf("%-34s %10.1f us %10.1f us %8.2f %11.2f/rt\n", "request/response 64 B (round trip)", median(rr_g),
                median(rr_n), median(rr_n) / median(rr_g), rr_exits);
    std::printf("%-34s %8.0f MiB/s %6.0f MiB/s %8.2f %10.2f/MiB\n", "stream guest -> host", median(out_g), median(out_n),
                median(out_g) / median(out_n), out_exits);
    std::printf("%-34s %8.0f MiB/s %6.0f MiB/s %8.2f %10.2f/MiB\n", "stream host -> guest", median(in_g), median(in_n),
                median(in_g) / median(in_n), in_exits);
    std::printf("%-34s %10.0f /s %10.0f /s %8.2f %10.2f/req\n", "connect + HTTP request (-p)", median(req_g),
                median(req_n), median(req_g) / median(req_n), req_exits);
    std::printf("%-34s %10.0f /s %10.0f /s %8.2f %10.2f/req\n", "HTTP/1.1 keep-alive requests (-p)", median(ka_g),
                median(ka_n), median(ka_g) / median(ka_n), ka_exits);
    return 0;
}

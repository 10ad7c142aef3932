// The monitor's sandbox (src/sandbox). Entering it is irreversible, so every
// test enters it in a forked child and reports back through its exit status
// and a pipe. No KVM needed: the devices are driven through handle_exit with
// a fake vCPU and real guest memory, exactly as the exit loop drives them.
#include "common/fd_passing.hpp"
#include "sandbox/sandbox.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <sys/stat.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <thread>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "devices/block.hpp"
#include "devices/console.hpp"
#include "devices/fs.hpp"
#include "devices/net.hpp"
#include "devices/ram.hpp"
#include "devices/system.hpp"
#include "lightvm/abi.h"
#include "fake_irq_cpu.hpp"
#include "monitor/exec_channel.hpp"
#include "monitor/exit_handler.hpp"
#include "monitor/interrupts.hpp"
#include "sandbox/allow_list.hpp"

namespace lightvm {
namespace {

namespace fs = std::filesystem;

struct ChildResult {
    int status = -1;     // exit status, or 128 + signal
    std::string output;  // what it wrote to stdout/stderr
};

// Run `body` in a forked child with stdout/stderr captured; its return value
// is the exit status.
ChildResult in_child(const std::function<int()>& body) {
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(p[1], 1);
        ::dup2(p[1], 2);
        ::close(p[0]);
        int rc = body();
        std::fflush(stdout);
        ::_exit(rc);
    }
    ::close(p[1]);
    ChildResult r;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0)
        r.output.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

// From /proc/self/status opened before the sandbox (Landlock would refuse
// it after): the kernel generates the text at read time.
std::string status_line(int status_fd, const char* key) {
    char buf[8192];
    ssize_t n = ::pread(status_fd, buf, sizeof buf - 1, 0);
    std::istringstream in(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0)
            return line;
    return "";
}

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/lightvm-sandbox-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string path;
};

void write_file(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
}

TEST(Sandbox, ProcessStatusShowsTheSandbox) {
    auto r = in_child([] {
        int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        auto e = sandbox::enter({});
        if (!e) {
            std::printf("enter: %s\n", e.error().to_string().c_str());
            return 1;
        }
        std::printf("%s|%s|%s\n", status_line(fd, "Seccomp:").c_str(), status_line(fd, "NoNewPrivs:").c_str(),
                    status_line(fd, "CapEff:").c_str());
        return 0;
    });
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "Seccomp:\t2|NoNewPrivs:\t1|CapEff:\t0000000000000000\n");
}

// Even a bug that asked the sandboxed monitor to open a host path outside
// its shares gets EACCES (Landlock), whether by absolute path or by `..`
// from a share's own fd.
TEST(Sandbox, CannotOpenHostPathsOutsideTheShares) {
    TempDir dir;
    fs::create_directories(dir.path + "/share");
    write_file(dir.path + "/share/inside", "in");
    write_file(dir.path + "/outside", "out");
    auto r = in_child([&] {
        int share = ::open((dir.path + "/share").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        auto e = sandbox::enter({{{share, false}}, {}, {}});
        if (!e) {
            std::printf("enter: %s\n", e.error().to_string().c_str());
            return 1;
        }
        if (e->landlock_abi == 0) {
            std::printf("no landlock\n");
            return 77;
        }
        auto try_open = [](int dirfd, const char* path, int flags) {
            int fd = ::openat(dirfd, path, flags | O_CLOEXEC, 0644);
            int err = fd < 0 ? errno : 0;
            if (fd >= 0)
                ::close(fd);
            return err;
        };
        int bad = 0;
        bad += try_open(AT_FDCWD, "/etc/passwd", O_RDONLY) != EACCES;
        bad += try_open(share, "../outside", O_RDONLY) != EACCES;
        bad += try_open(share, "../../../../etc/passwd", O_RDONLY) != EACCES;
        bad += try_open(AT_FDCWD, (dir.path + "/new").c_str(), O_WRONLY | O_CREAT) != EACCES;
        bad += try_open(share, "inside", O_RDONLY) != 0;
        bad += try_open(share, "created", O_WRONLY | O_CREAT) != 0;
        return bad;
    });
    if (r.status == 77)
        GTEST_SKIP() << "Landlock is not enabled on this kernel";
    EXPECT_EQ(r.status, 0) << "opens that went wrong: " << r.output;
    EXPECT_FALSE(fs::exists(dir.path + "/new"));
    EXPECT_TRUE(fs::exists(dir.path + "/share/created"));
}

TEST(Sandbox, ReadOnlyShareAllowsNoWrites) {
    TempDir dir;
    write_file(dir.path + "/f", "x");
    auto r = in_child([&] {
        int share = ::open(dir.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        auto e = sandbox::enter({{{share, true}}, {}, {}});
        if (!e || e->landlock_abi == 0)
            return 77;
        int w = ::openat(share, "f", O_WRONLY | O_CLOEXEC);
        int rd = ::openat(share, "f", O_RDONLY | O_CLOEXEC);
        return (w < 0 && errno == EACCES && rd >= 0) ? 0 : 1;
    });
    if (r.status == 77)
        GTEST_SKIP() << "Landlock is not enabled on this kernel";
    EXPECT_EQ(r.status, 0) << r.output;
}

// A call outside the allow-list never runs: the monitor stops with one line
// naming it and status 159.
TEST(Sandbox, ViolationIsReportedInOneLineAndStops) {
    auto r = in_child([] {
        if (!sandbox::enter({}))
            return 1;
        int s = ::socket(AF_UNIX, SOCK_STREAM, 0);  // only AF_INET/AF_INET6 are (the net device)
        std::printf("survived with fd %d\n", s);
        return 2;
    });
    EXPECT_EQ(r.status, sandbox::kViolationStatus) << r.output;
    EXPECT_EQ(r.output,
              "lightvm: sandbox violation: the monitor called socket (system call 41), which is not on its "
              "allow-list; stopped (see docs/security.md)\n");
}

// --net none: the monitor cannot make any socket, UDP included (Landlock
// covers TCP only); with a host network, an inet socket is allowed.
TEST(Sandbox, NoHostNetworkMeansNoSocket) {
    auto r = in_child([] {
        if (!sandbox::enter({}))
            return 1;
        (void)::socket(AF_INET, SOCK_DGRAM, 0);
        return 2;
    });
    EXPECT_EQ(r.status, sandbox::kViolationStatus) << r.output;
    EXPECT_NE(r.output.find("called socket"), std::string::npos) << r.output;
    r = in_child([] {
        sandbox::Policy policy;
        policy.host_network = true;
        if (!sandbox::enter(policy))
            return 1;
        int s = ::socket(AF_INET, SOCK_DGRAM, 0);
        return s >= 0 ? 0 : 3;
    });
    EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Sandbox, ViolationHandlerCannotBeReplaced) {
    auto r = in_child([] {
        if (!sandbox::enter({}))
            return 1;
        struct sigaction sa{};
        sa.sa_handler = SIG_IGN;
        ::sigaction(SIGSYS, &sa, nullptr);  // itself a violation
        return 2;
    });
    EXPECT_EQ(r.status, sandbox::kViolationStatus) << r.output;
    EXPECT_NE(r.output.find("rt_sigaction"), std::string::npos) << r.output;
}

TEST(Sandbox, NoExecutableMemoryNoExecNoNewProcesses) {
    for (int which = 0; which < 3; ++which) {
        auto r = in_child([which] {
            if (!sandbox::enter({}))
                return 1;
            if (which == 0)
                (void)::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (which == 1)
                ::execl("/bin/true", "true", nullptr);
            if (which == 2)
                (void)::fork();
            return 2;
        });
        EXPECT_EQ(r.status, sandbox::kViolationStatus) << which << ": " << r.output;
    }
}

// File capabilities are kept only for a non-root guest with a share that
// passes ownership through: mapped shares never change a host owner.
TEST(Sandbox, FileCapabilitiesOnlyForPassthroughShares) {
    EXPECT_TRUE(sandbox::wants_file_caps(1000, 1000, true));
    EXPECT_TRUE(sandbox::wants_file_caps(0, 5, true));
    EXPECT_FALSE(sandbox::wants_file_caps(0, 0, true)) << "root needs no kept capabilities: it has its own";
    EXPECT_FALSE(sandbox::wants_file_caps(1000, 1000, false)) << "every share mapped (or none)";
}

// The allow-list is reviewed in docs/security.md: the documented table and
// the compiled list must name the same calls, so a call added to one
// without the other fails here.
TEST(Sandbox, AllowListIsTheDocumentedOne) {
    std::ifstream doc(std::string(LIGHTVM_SOURCE_DIR) + "/docs/security.md");
    ASSERT_TRUE(doc.good());
    std::set<std::string> documented, compiled;
    std::string line;
    bool in_table = false;
    while (std::getline(doc, line)) {
        if (line.find("<!-- allow-list -->") != std::string::npos) {
            in_table = !in_table;
            continue;
        }
        if (in_table && line.rfind("| `", 0) == 0)
            documented.insert(line.substr(3, line.find('`', 3) - 3));
    }
    for (const auto& a : sandbox::kAllowed)
        compiled.insert(a.name);
    EXPECT_EQ(documented, compiled);
}

// --- Every device, driven by random requests, stays inside the allow-list ---

class FakeCpu final : public CpuAccess {
public:
    Result<kvm::Regs> regs() override { return kvm::Regs{}; }
    Result<kvm::Sregs> sregs() override { return kvm::Sregs{}; }
    Result<void> set_sregs(const kvm::Sregs&) override { return {}; }
};

// Requests that look like the guest kernel's (valid ops, paths, handles,
// flags) mixed with garbage, so that every operation's host path runs.
class RandomGuest {
public:
    // net_port: a host port on 127.0.0.1 that net requests connect to (the
    // VM's own -p listener): random host addresses would reach real services.
    RandomGuest(GuestMemory& mem, uint64_t seed, uint16_t net_port = 0)
        : m_mem(mem), m_rng(seed), m_net_port(net_port) {}

    kvm::Exit next() {
        kvm::Exit e;
        e.kind = kvm::ExitKind::Io;
        e.io_out = true;
        e.io_size = 4;
        e.io_count = 1;
        unsigned nr = pick({abi::kHcFs, abi::kHcFs, abi::kHcFs, abi::kHcBlock, abi::kHcWrite, abi::kHcRead,
                            abi::kHcSleep, abi::kHcStdinSeek, abi::kHcMemGrow, abi::kHcConsoleFlush, abi::kHcNet,
                            abi::kHcNet, abi::kHcTimer, abi::kHcMemRelease, abi::kHcTty, abi::kHcPark, abi::kHcReady, abi::kHcExec});
        e.port = static_cast<uint16_t>(abi::kHypercallPortBase + nr);
        e.io_value = static_cast<uint32_t>(kArg);
        fill(nr);
        return e;
    }

    static constexpr uint64_t kArg = 0x100000, kPath = 0x101000, kPath2 = 0x102000, kBuf = 0x110000;

private:
    uint64_t rnd(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(m_rng); }
    template <class T>
    T pick(std::initializer_list<T> v) { return *(v.begin() + rnd(v.size())); }
    void put_path(uint64_t gpa, const std::string& s) {
        (void)m_mem.write_bytes(gpa, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
    }
    std::string path() {
        static const char* const names[] = {"", "f", "d", "d/g", "link", "abs", "..", "../..", "d/../f", "new",
                                            "d/new", "x/y", "loop", "f/", "/f", "big"};
        return names[rnd(std::size(names))];
    }
    void fill(unsigned nr) {
        switch (nr) {
        case abi::kHcFs: {
            abi::HcFs hc{};
            hc.op = static_cast<uint32_t>(rnd(27));
            hc.share = static_cast<uint32_t>(rnd(3));
            hc.handle = rnd(3) ? abi::kNoHandle : static_cast<uint32_t>(rnd(8));
            hc.share2 = static_cast<uint32_t>(rnd(2));
            hc.flags = static_cast<uint32_t>(pick<uint64_t>({0, O_CREAT | O_WRONLY, O_RDWR, O_DIRECTORY, O_TRUNC | O_WRONLY,
                                                             AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, 1, 2, rnd(1u << 20)}));
            hc.mode = static_cast<uint32_t>(rnd(2) ? 0644 : rnd(64));
            std::string p = path(), p2 = path();
            put_path(kPath, p);
            put_path(kPath2, p2);
            hc.path = kPath;
            hc.path_len = p.size();
            hc.path2 = kPath2;
            hc.path2_len = p2.size();
            hc.buf = kBuf;
            hc.len = pick<uint64_t>({0, 1, 100, 4096, 65536, 1u << 20, rnd(1ull << 32)});
            hc.offset = static_cast<int64_t>(pick<uint64_t>({0, 0, 1, 4096, ~0ull, rnd(1u << 20)}));
            hc.offset2 = static_cast<int64_t>(pick<uint64_t>({0, ~0ull, kBuf + 0x20000}));
            hc.options = static_cast<uint32_t>(rnd(2));
            (void)m_mem.write(kArg, hc);
            break;
        }
        case abi::kHcBlock: {
            abi::HcBlock hc{};
            hc.device = static_cast<uint32_t>(rnd(2));
            hc.op = static_cast<uint32_t>(rnd(4));
            hc.buf = kBuf;
            hc.len = pick<uint64_t>({0, 512, 4096, 65536, 1ull << 30});
            hc.offset = pick<uint64_t>({0, 512, 1ull << 20, ~0ull});
            (void)m_mem.write(kArg, hc);
            break;
        }
        case abi::kHcWrite:
        case abi::kHcRead: {
            abi::HcIo io{};
            io.fd = static_cast<uint32_t>(rnd(4));
            io.buf = kBuf;
            io.len = pick<uint64_t>({0, 10, 4096});
            (void)m_mem.write(kArg, io);
            break;
        }
        case abi::kHcSleep: {
            abi::HcSleep hc{};
            hc.nanoseconds = rnd(1000);
            (void)m_mem.write(kArg, hc);
            break;
        }
        case abi::kHcStdinSeek: {
            abi::HcSeek hc{};
            hc.offset = static_cast<int64_t>(rnd(100));
            hc.whence = static_cast<uint32_t>(rnd(4));
            (void)m_mem.write(kArg, hc);
            break;
        }
        case abi::kHcNet:
            fill_net();
            break;
        case abi::kHcMemGrow: {
            abi::HcMemGrow hc{};
            hc.start = rnd(m_mem.size());
            hc.end = hc.start + rnd(1u << 24);
            (void)m_mem.write(kArg, hc);
            break;
        }
        case abi::kHcMemRelease: {  // mostly inside the registered RAM, page-aligned or not
            abi::HcMemRelease hc{};
            hc.start = rnd(m_mem.size()) & ~(rnd(2) ? 0xfffull : 0);
            hc.end = hc.start + (rnd(1u << 22) & ~0xfffull);
            (void)m_mem.write(kArg, hc);
            break;
        }
        case abi::kHcTty: {  // a cooked or raw terminal's settings, sizes, and garbage in any field
            abi::HcTty hc{};
            hc.op = static_cast<uint32_t>(pick<uint64_t>({abi::kTtySetAttr, abi::kTtySetAttr, abi::kTtySetWinsize, 0,
                                                          rnd(1ull << 32)}));
            hc.when = static_cast<uint32_t>(rnd(4) ? rnd(3) : rnd(1ull << 32));
            if (hc.op == abi::kTtySetAttr || rnd(4) == 0) {
                hc.state.iflag = static_cast<uint32_t>(pick<uint64_t>({ICRNL | IXON, 0, rnd(1ull << 32)}));
                hc.state.oflag = static_cast<uint32_t>(pick<uint64_t>({OPOST | ONLCR, 0, rnd(1ull << 32)}));
                hc.state.cflag = static_cast<uint32_t>(pick<uint64_t>({B38400 | CS8 | CREAD, rnd(1ull << 32)}));
                hc.state.lflag = static_cast<uint32_t>(pick<uint64_t>({ISIG | ICANON | ECHO | IEXTEN, 0, rnd(1ull << 32)}));
                hc.state.line = static_cast<uint8_t>(rnd(8) ? 0 : rnd(256));
                for (auto& c : hc.state.cc)
                    c = static_cast<uint8_t>(rnd(256));
            }
            if (hc.op == abi::kTtySetWinsize || rnd(4) == 0) {
                hc.state.rows = static_cast<uint16_t>(rnd(1u << 16));
                hc.state.cols = static_cast<uint16_t>(rnd(1u << 16));
            }
            hc.state.reserved = static_cast<uint32_t>(rnd(8) ? 0 : rnd(1ull << 32));
            (void)m_mem.write(kArg, hc);
            break;
        }
        case abi::kHcExec: {  // takes (a queued request, an empty queue), reports, garbage
            abi::HcExec hc{};
            hc.op = static_cast<uint32_t>(pick<uint64_t>({abi::kExecTake, abi::kExecTake, abi::kExecDone, rnd(1u << 20)}));
            hc.id = static_cast<uint32_t>(rnd(4));
            hc.buf = pick<uint64_t>({kBuf, kBuf, ~0ull - 4096, rnd(1ull << 40)});
            hc.len = pick<uint64_t>({abi::kExecRequestMax, sizeof(abi::ExecRequest), 0, rnd(1ull << 32)});
            hc.status = static_cast<int32_t>(rnd(1ull << 16));
            (void)m_mem.write(kArg, hc);
            break;
        }
        case abi::kHcTimer: {  // deadlines that fire during the run, far ones, cancels, garbage
            timespec now{};
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            const uint64_t t = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
            abi::HcTimer hc{};
            hc.deadline_ns = pick<uint64_t>({0, t, t + rnd(200000), t + 3600000000000ull, ~0ull, rnd(1ull << 62)});
            (void)m_mem.write(kArg, hc);
            break;
        }
        default:
            break;
        }
    }

    // Every net operation, on the handles a guest would have (a few sockets,
    // the -p listener at 0), never waiting long: a blocked call would hang the test.
    void fill_net() {
        abi::HcNet hc{};
        hc.op = static_cast<uint32_t>(rnd(16));
        hc.handle = static_cast<uint32_t>(rnd(8));
        hc.arg = static_cast<uint32_t>(pick<uint64_t>({AF_INET, AF_INET6, AF_UNIX, 4, SOL_SOCKET, IPPROTO_TCP,
                                                       IPPROTO_IPV6, SHUT_RDWR, rnd(1u << 16)}));
        hc.arg2 = static_cast<uint32_t>(pick<uint64_t>({SOCK_STREAM, SOCK_DGRAM, SO_REUSEADDR, SO_ERROR, SO_RCVBUF,
                                                        TCP_NODELAY, SO_LINGER, rnd(1u << 16)}));
        hc.flags = static_cast<uint32_t>(pick<uint64_t>({0, MSG_PEEK, MSG_DONTWAIT, MSG_NOSIGNAL, rnd(1u << 20)}));
        sockaddr_in a{};
        a.sin_family = static_cast<sa_family_t>(pick<uint64_t>({AF_INET, AF_INET, AF_INET6, rnd(64)}));
        a.sin_port = htons(rnd(4) ? m_net_port : 1);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)m_mem.write(kPath, a);
        hc.addr = kPath;
        hc.addr_len = static_cast<uint32_t>(pick<uint64_t>({sizeof a, sizeof a, 0, 28, 128, rnd(1u << 12)}));
        for (uint32_t i = 0; i < 4; ++i)  // poll entries, when the op is kNetPoll
            (void)m_mem.write(kBuf + 8 * i, abi::NetPollEntry{static_cast<uint32_t>(rnd(8)), 0xff, 0});
        hc.buf = kBuf;
        hc.len = pick<uint64_t>({0, 1, 4, 100, 65536, rnd(1ull << 32)});
        hc.wait_ns = static_cast<int64_t>(pick<uint64_t>({0, 0, 0, 1000000}));
        (void)m_mem.write(kArg, hc);
    }

    GuestMemory& m_mem;
    std::mt19937_64 m_rng;
    uint16_t m_net_port;
};

// A 127.0.0.1 port nobody listens on now (the kernel picks it).
uint16_t free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    (void)::bind(s, reinterpret_cast<sockaddr*>(&a), len);
    (void)::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

void random_requests_under_the_filter(uint64_t seed, bool host_network) {
    TempDir dir;
    for (const char* d : {"/a", "/a/d", "/b", "/ro"})
        fs::create_directories(dir.path + d);
    write_file(dir.path + "/a/f", "file contents");
    write_file(dir.path + "/a/big", std::string(1 << 20, 'b'));
    fs::create_symlink("f", dir.path + "/a/link");
    fs::create_symlink("/d", dir.path + "/a/abs");
    fs::create_symlink("loop", dir.path + "/a/loop");
    write_file(dir.path + "/disk.img", std::string(1 << 20, 0));
    write_file(dir.path + "/stdin", "some stdin bytes");
    auto r = in_child([&]() -> int {
        auto mem = GuestMemory::create(64ull << 20);
        // /b is mapped: its ownership paths (lgetxattr of listed names,
        // the attribute written by chown/chmod/creation) run under the filter too.
        auto fsdev = FsDevice::create({{dir.path + "/a", "/", false}, {dir.path + "/b", "/b", false, true},
                                       {dir.path + "/ro", "/ro", true}});
        auto disk = BlockDevice::open(dir.path + "/disk.img", false);
        if (!mem || !fsdev || !disk)
            return 3;
        int in = ::open((dir.path + "/stdin").c_str(), O_RDONLY | O_CLOEXEC);
        int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        fsdev->set_streams(null, null);
        std::vector<BlockDevice> disks;
        disks.push_back(std::move(*disk));
        // stderr on a pseudo-terminal (kHcTty's host path), whose output a
        // thread drains so that a TCSETSW never waits for ever.
        int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
            return 6;
        int tty = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (tty < 0)
            return 6;
        std::thread([master] {
            char buf[4096];
            while (::read(master, buf, sizeof buf) > 0) {
            }
        }).detach();
        Console console(*mem, in, null, tty, null);
        SystemDevice system(*mem);
        FakeCpu cpu;
        RamDevice ram(*mem, [](uint32_t, uint64_t, uint64_t) -> Result<void> { return {}; });
        (void)ram.boot(16ull << 20, 48ull << 20);
        // One -p listener, and --net host (every net path, host sockets
        // included) or --net none (the filter without socket/bind/connect).
        PublishSpec pub;
        pub.host_ip = "127.0.0.1";
        pub.host_port = free_port();
        pub.guest_port = 80;
        auto net = NetDevice::create(host_network ? NetMode::Host : NetMode::None, {pub});
        if (!net)
            return 5;
        // The guest timer and interrupt delivery, on a fake vCPU.
        fakes::FakeIrqCpu irq_cpu;
        Interrupts irq(*mem, irq_cpu, IrqLayout{0x201000, 0x201080, 0x201098, 0x208000, 0x209000}, IrqTestConfig{});
        Devices devices{*mem, console, system, cpu, &*fsdev, &disks, &ram, &irq, &*net};
        // An exec channel with one client's request queued (its stdio
        // sockets adopted by the net device when the guest takes it).
        const std::string exec_sock = "/tmp/lightvm-sandbox-exec-" + std::to_string(::getpid());
        auto channel = ExecChannel::listen(exec_sock);
        if (!channel)
            return 7;
        (*channel)->start([] {});
        devices.exec = channel->get();
        int client = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, exec_sock.c_str(), exec_sock.size());
        if (::connect(client, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
            return 8;
        {
            std::vector<char> msg(sizeof(abi::ExecRequest) + 3);
            abi::ExecRequest h{};
            h.kind = abi::kExecStart;
            h.argc = 1;
            h.strings_len = 3;
            std::memcpy(h.path, "/sh", 4);
            std::memcpy(h.cwd, "/", 2);
            std::memcpy(msg.data(), &h, sizeof h);
            std::memcpy(msg.data() + sizeof h, "sh", 3);
            int pairs[3];
            for (int& fd : pairs) {
                int sv[2];
                (void)::socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
                fd = sv[1];
            }
            if (!send_with_fds(client, std::string_view(msg.data(), msg.size()), pairs, "exec request"))
                return 9;
            ::usleep(200000);  // the channel's thread queues it
        }
        ::unlink(exec_sock.c_str());
        sandbox::Policy policy;
        policy.host_network = host_network;
        for (size_t i = 0; i < fsdev->shares().size(); ++i)
            policy.dirs.push_back({fsdev->root_fd(i), fsdev->shares()[i].read_only});
        auto e = sandbox::enter(policy);
        if (!e) {
            std::printf("enter: %s\n", e.error().to_string().c_str());
            return 4;
        }
        RandomGuest guest(*mem, seed, pub.host_port);
        ExitStats stats;
        int handled = 0;
        for (int i = 0; i < 20000; ++i) {
            Outcome outcome;
            auto exit = guest.next();
            (void)handle_exit(devices, exit, outcome, stats);
            (void)irq.before_run(exit);
            handled++;
        }
        std::printf("%d requests\n", handled);
        return 0;
    });
    EXPECT_EQ(r.status, 0) << "seed " << seed << (host_network ? " --net host" : " --net none") << ": " << r.output;
    EXPECT_EQ(r.output, "20000 requests\n");
}

TEST(Sandbox, RandomDeviceRequestsStayInsideTheAllowList) {
    for (uint64_t seed : {13, 14, 15, 16})
        random_requests_under_the_filter(seed, true);
}

TEST(Sandbox, RandomDeviceRequestsUnderNetNoneMakeNoSocket) {
    for (uint64_t seed : {13, 14})
        random_requests_under_the_filter(seed, false);
}

}  // namespace
}  // namespace lightvm

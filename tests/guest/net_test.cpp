// Networking in real VMs: sockets inside the VM match a native run and
// cost no exit; --net host reaches a host server with one exit per call;
// -p publishes a guest server to host clients; --net none cannot reach the
// host's loopback services. The host-side peers are threads of this test,
// on 127.0.0.1 ports the kernel picks.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "guest_test_util.hpp"
#include "lightvm/abi.h"

namespace lightvm::test {
namespace {

class NetTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
};

// A listening socket on 127.0.0.1 with a kernel-chosen port.
int host_listener(uint16_t* port) {
    int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&a), len) < 0 || ::listen(l, 16) < 0 ||
        ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return l;
}

uint16_t free_port() {
    uint16_t port = 0;
    int l = host_listener(&port);
    ::close(l);
    return port;
}

// Echoes one connection until EOF.
void echo_one(int l) {
    int s = ::accept(l, nullptr, nullptr);
    char buf[65536];
    ssize_t n;
    while (s >= 0 && (n = ::recv(s, buf, sizeof buf, 0)) > 0)
        if (::send(s, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n)
            break;
    ::close(s);
}

std::string http_get(uint16_t port) {
    for (int tries = 0; tries < 200; ++tries) {  // the guest may not be listening yet
        int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
            ::close(c);
            ::usleep(20000);
            continue;
        }
        const char req[] = "GET / HTTP/1.0\r\n\r\n";
        ::send(c, req, sizeof req - 1, MSG_NOSIGNAL);
        std::string resp;
        char buf[4096];
        ssize_t n;
        while ((n = ::recv(c, buf, sizeof buf, 0)) > 0)
            resp.append(buf, static_cast<size_t>(n));
        ::close(c);
        return resp;
    }
    return "connect failed";
}

// The native runs these tests compare with use ::1; a host with IPv6
// turned off (net.ipv6.conf.all.disable_ipv6=1) cannot give them.
bool host_has_ipv6_loopback() {
    int s = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool ok = s >= 0 && ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (s >= 0)
        ::close(s);
    return ok;
}

#define REQUIRE_HOST_IPV6()                                                                              \
    if (!host_has_ipv6_loopback())                                                                       \
    GTEST_SKIP() << "SKIPPED: the host has no IPv6 loopback (net.ipv6.conf.*.disable_ipv6=1): no native " \
                    "run to compare with"

TEST_P(NetTest, SocketsInsideTheVmMatchNativeAndCostNoExit) {
    REQUIRE_HOST_IPV6();
    const std::string prog = "sockets." + GetParam();
    RunOptions opts;
    opts.timeout_seconds = 20;
    opts.stats = true;
    auto r = run_guest(prog, {}, "", opts);
    auto n = run_host({guest_path(prog)});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(n.status, 0) << n.err;
    EXPECT_EQ(r.out, n.out);
    EXPECT_EQ(r.out.find("FAILED"), std::string::npos) << r.out;
    EXPECT_EQ(r.stats.exits.hypercalls[abi::kHcNet], 0u);  // AF_UNIX and --net none loopback stay in the guest
}

// SO_RCVTIMEO/SO_SNDTIMEO and recvmmsg's timeout where the inet sockets
// are host sockets: the waits in the monitor (capped to the timeout) and in
// the guest (interrupted by signals) give what a native run gives.
TEST_P(NetTest, HostModeSocketTimeoutsMatchNative) {
    const std::string prog = "sockets." + GetParam();
    RunOptions opts;
    opts.timeout_seconds = 30;
    opts.stats = true;
    opts.net = NetMode::Host;
    auto r = run_guest(prog, {"timeouts"}, "", opts);
    auto n = run_host({guest_path(prog), "timeouts"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(n.status, 0) << n.err;
    EXPECT_EQ(n.out.find("FAILED"), std::string::npos) << n.out;
    EXPECT_EQ(r.out, n.out);
    EXPECT_GT(r.stats.exits.hypercalls[abi::kHcNet], 0u);  // the TCP and UDP cases were host sockets
}

// Issue 14's static C programs between processes: SCM_RIGHTS from another
// process, a socket across fork, non-blocking connect (EINPROGRESS, refused),
// an epoll server with 200 concurrent connections from a forked client,
// sendmmsg/recvmmsg, sendfile to a TCP socket, IPv6 loopback; as natively.
TEST_P(NetTest, SocketsBetweenProcessesMatchNative) {
    REQUIRE_HOST_IPV6();
    const std::string prog = "sockprocs." + GetParam();
    RunOptions opts;
    opts.timeout_seconds = 60;
    opts.stats = true;
    auto r = run_guest(prog, {}, "", opts);
    auto n = run_host({guest_path(prog)});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(n.status, 0) << n.err;
    EXPECT_EQ(n.out.find("FAILED"), std::string::npos) << n.out;
    EXPECT_EQ(r.out, n.out);
    EXPECT_EQ(r.stats.exits.hypercalls[abi::kHcNet], 0u);  // all inside the VM
}

TEST_P(NetTest, HostModeRequestResponseIsOneExitPerCall) {
    uint16_t port = 0;
    int l = host_listener(&port);
    ASSERT_GE(l, 0);
    std::thread peer(echo_one, l);
    RunOptions opts;
    opts.timeout_seconds = 30;
    opts.stats = true;
    opts.net = NetMode::Host;
    constexpr int kRounds = 200;
    auto r = run_guest("netpeer." + GetParam(), {"rr", "127.0.0.1", std::to_string(port), std::to_string(kRounds), "64"},
                       "", opts);
    peer.join();
    ::close(l);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_NE(r.out.find("rr median_us"), std::string::npos) << r.out;
    // send + recv per round (the recv waits in the monitor: one exit), plus
    // socket, setsockopt, connect and close.
    uint64_t net = r.stats.exits.hypercalls[abi::kHcNet];
    EXPECT_GE(net, 2u * kRounds);
    EXPECT_LE(net, 2u * kRounds + 6) << "exits per round trip grew";
}

TEST_P(NetTest, HostModeEpollWaitsOnHostSockets) {
    // epoll_wait on a host socket (with a timerfd in the set): the idle
    // exit polls the socket and its new state wakes the epoll. Per round:
    // send, a recv that finds nothing (EAGAIN: the monitor asked), the
    // idle poll that sees the response, the recv that takes it.
    uint16_t port = 0;
    int l = host_listener(&port);
    ASSERT_GE(l, 0);
    std::thread peer(echo_one, l);
    RunOptions opts;
    opts.timeout_seconds = 30;
    opts.stats = true;
    opts.net = NetMode::Host;
    constexpr int kRounds = 100;
    auto r = run_guest("netpeer." + GetParam(),
                       {"epollrr", "127.0.0.1", std::to_string(port), std::to_string(kRounds), "64"}, "", opts);
    peer.join();
    ::close(l);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_NE(r.out.find("epollrr median_us"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("waits ok"), std::string::npos) << r.out;
    uint64_t net = r.stats.exits.hypercalls[abi::kHcNet];
    EXPECT_LE(net, 4u * kRounds + 10) << "exits per epoll round trip grew";
}

TEST_P(NetTest, PublishedPortServesHostClients) {
    uint16_t port = free_port();
    RunOptions opts;
    opts.timeout_seconds = 30;
    opts.publish.push_back(PublishSpec{"127.0.0.1", port, 80, false});
    constexpr int kRequests = 20;
    std::atomic<int> answered{0};
    std::thread clients([&] {
        for (int i = 0; i < kRequests; ++i)
            if (http_get(port).find("\r\n\r\nhello\n") != std::string::npos)
                answered++;
    });
    auto r = run_guest("netpeer." + GetParam(), {"serve", "80", std::to_string(kRequests)}, "", opts);
    clients.join();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(answered.load(), kRequests);
}

TEST_P(NetTest, NetNoneCannotReachTheHostsLoopback) {
    uint16_t port = 0;
    int l = host_listener(&port);
    ASSERT_GE(l, 0);
    RunOptions opts;
    opts.timeout_seconds = 20;
    auto r = run_guest("netpeer." + GetParam(), {"get", "127.0.0.1", std::to_string(port)}, "", opts);
    auto out = run_guest("netpeer." + GetParam(), {"get", "192.0.2.1", "80"}, "", opts);
    pollfd p{l, POLLIN, 0};
    int pending = ::poll(&p, 1, 100);
    ::close(l);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << r.err;
    EXPECT_EQ(pending, 0) << "the host listener saw a connection from a --net none guest";
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(out.status, 1);
    EXPECT_NE(out.err.find("unreachable"), std::string::npos) << out.err;
}

TEST_P(NetTest, PublishingATakenPortIsOneLineError) {
    uint16_t port = 0;
    int l = host_listener(&port);
    ASSERT_GE(l, 0);
    RunOptions opts;
    opts.publish.push_back(PublishSpec{"127.0.0.1", port, 80, false});
    auto r = run_guest("netpeer." + GetParam(), {"serve", "80", "1"}, "", opts);
    ::close(l);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("host port " + std::to_string(port) + " is already in use"), std::string::npos) << r.error;
}

INSTANTIATE_TEST_SUITE_P(Libc, NetTest, ::testing::Values("glibc", "musl"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lightvm::test

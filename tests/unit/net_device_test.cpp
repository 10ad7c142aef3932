// The net device without KVM: kHcNet requests written into real guest
// memory (a memfd), the host sockets real; -p and --net parsing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "devices/net.hpp"
#include "lightvm/abi.h"

namespace lightvm {
namespace {

constexpr uint64_t kMemSize = 4 << 20;
constexpr uint64_t kArg = 0x1000, kAddr = 0x2000, kData = 0x3000, kSegs = 0x8000;

class NetDeviceTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto mem = GuestMemory::create(kMemSize);
        ASSERT_TRUE(mem);
        m_mem.emplace(std::move(*mem));
    }
    int64_t call(NetDevice& d, abi::HcNet hc) {
        EXPECT_TRUE(m_mem->write(kArg, hc));
        auto r = d.hypercall(*m_mem, kArg);
        EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
        m_last = *m_mem->read<abi::HcNet>(kArg);
        return m_last.result;
    }
    abi::HcNet req(uint32_t op, uint32_t handle = 0) {
        abi::HcNet r{};
        r.op = op;
        r.handle = handle;
        return r;
    }
    void put_addr(const sockaddr_in& a) { ASSERT_TRUE(m_mem->write(kAddr, a)); }
    // A guest TCP socket listening on 127.0.0.1, any port: its handle.
    void listen_on_loopback(NetDevice& d, int64_t& handle) {
        auto s = req(abi::kNetSocket);
        s.arg = AF_INET;
        s.arg2 = SOCK_STREAM;
        handle = call(d, s);
        ASSERT_GE(handle, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        put_addr(a);
        auto b = req(abi::kNetBind, uint32_t(handle));
        b.addr = kAddr;
        b.addr_len = sizeof a;
        ASSERT_EQ(call(d, b), 0);
        auto ls = req(abi::kNetListen, uint32_t(handle));
        ls.arg = 4;
        ASSERT_EQ(call(d, ls), 0);
    }
    std::optional<GuestMemory> m_mem;
    abi::HcNet m_last{};
};

TEST(NetConfig, ParsesPublishSpecs) {
    auto p = parse_publish("8080:80");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host_port, 8080);
    EXPECT_EQ(p->guest_port, 80);
    EXPECT_EQ(p->host_ip, "");
    EXPECT_FALSE(p->udp);
    p = parse_publish("127.0.0.1:5353:53/udp");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host_ip, "127.0.0.1");
    EXPECT_TRUE(p->udp);
    p = parse_publish("[::1]:8443:443/tcp");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->host_ip, "::1");
    EXPECT_EQ(p->host_port, 8443);
    for (const char* bad : {"80", "0:80", "8080:70000", "8080:80/sctp", ":8080:80", "x:80", "8080:"}) {
        auto r = parse_publish(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
        EXPECT_NE(r.error().to_string().find(std::string("-p ") + bad), std::string::npos) << r.error().to_string();
    }
    EXPECT_EQ(parse_net("none")->mode, NetMode::None);
    EXPECT_EQ(parse_net("host")->mode, NetMode::Host);
    EXPECT_EQ(parse_net("host")->netns_path, "");
    EXPECT_EQ(parse_net("user")->mode, NetMode::User);
    EXPECT_TRUE(uses_host_sockets(NetMode::User));
    EXPECT_TRUE(uses_host_sockets(NetMode::Host));
    EXPECT_FALSE(uses_host_sockets(NetMode::None));
    auto ns = parse_net("ns:/run/netns/blue");
    ASSERT_TRUE(ns);
    EXPECT_EQ(ns->mode, NetMode::Host);
    EXPECT_EQ(ns->netns_path, "/run/netns/blue");
    for (const char* bad : {"bridge", "ns:", "ns:relative/path", "users", "User"}) {
        auto r = parse_net(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().to_string().find("--net"), std::string::npos) << r.error().to_string();
    }
}

// --dns: the resolv.conf text, or one line naming the bad address.
TEST(NetOptions, DnsServersBecomeResolvConfText) {
    EXPECT_EQ(*resolv_conf_text({}), "");
    EXPECT_EQ(*resolv_conf_text({"192.0.2.1", "fd00::53"}), "nameserver 192.0.2.1\nnameserver fd00::53\n");
    auto bad = resolv_conf_text({"192.0.2.1", "example.org"});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().to_string(), "--dns: 'example.org' is not an IP address");
    auto many = resolv_conf_text({"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"});
    ASSERT_FALSE(many);
    EXPECT_NE(many.error().to_string().find("at most 3"), std::string::npos);
    // The longest text fits the boot page's field.
    const std::string v6 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    EXPECT_LT(resolv_conf_text({v6, v6, v6})->size(), sizeof(abi::BootInfo::resolv_conf));
}

// --net ns:PATH that is not there, or not a network namespace: one line
// naming the option (status 125 from the CLI), before any socket exists.
TEST(NetNamespace, MissingOrWrongPathIsAnError) {
    auto d = NetDevice::create(NetMode::Host, {}, "/nonexistent/netns");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().to_string(), "--net ns:/nonexistent/netns: No such file or directory");
    d = NetDevice::create(NetMode::Host, {}, "/proc/self/ns/uts");
    ASSERT_FALSE(d);
    const std::string text = d.error().to_string();
    // EINVAL as root (not a network namespace); EPERM without CAP_SYS_ADMIN.
    EXPECT_TRUE(text == "--net ns:/proc/self/ns/uts: /proc/self/ns/uts is not a network namespace" ||
                text.find("Operation not permitted") != std::string::npos)
        << text;
}

std::string netns_of(pid_t pid) {
    char buf[64] = {};
    std::string link = "/proc/" + std::to_string(pid) + "/ns/net";
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// The monitor joins the namespace before opening its -p listeners, so the
// process (and every socket it opens from then on) lives there: here a
// fresh namespace a helper child holds. Port 18080 on "any" binds there
// even if the host uses it, which a listener in the wrong namespace would not
// show; the process's /proc/PID/ns/net is the proof.
TEST(NetNamespace, JoinsTheNamespaceBeforeOpeningSockets) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "SKIPPED: joining a network namespace needs root";
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t holder = ::fork();
    ASSERT_GE(holder, 0);
    if (holder == 0) {  // holds a new, empty network namespace open until killed
        char ok = ::unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        (void)!::write(ready[1], &ok, 1);
        ::pause();
        ::_exit(0);
    }
    char ok = 0;
    ASSERT_EQ(::read(ready[0], &ok, 1), 1);
    ::close(ready[0]);
    ::close(ready[1]);
    const std::string target = netns_of(holder);
    if (ok != 'y') {
        ::kill(holder, SIGKILL);
        ::waitpid(holder, nullptr, 0);
        GTEST_SKIP() << "SKIPPED: unshare(CLONE_NEWNET) refused here";
    }
    ASSERT_NE(target, netns_of(::getpid()));
    pid_t child = ::fork();  // joining changes the whole process: a child does it
    ASSERT_GE(child, 0);
    if (child == 0) {
        PublishSpec p;
        p.host_port = 18080;
        p.guest_port = 80;
        auto d = NetDevice::create(NetMode::Host, {p}, "/proc/" + std::to_string(holder) + "/ns/net");
        if (!d)
            ::_exit(2);
        if (netns_of(::getpid()) != target)
            ::_exit(3);
        ::_exit(d->published_host_port(80) == 18080 ? 0 : 4);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "2: create failed, 3: not in the namespace, 4: no listener";
}

TEST_F(NetDeviceTest, NetNoneCreatesNoSocket) {
    auto d = NetDevice::create(NetMode::None, {});
    ASSERT_TRUE(d);
    auto r = req(abi::kNetSocket);
    r.arg = AF_INET;
    r.arg2 = SOCK_STREAM;
    EXPECT_EQ(call(*d, r), -EAFNOSUPPORT);
    EXPECT_EQ(d->open_sockets(), 0u);
    auto p = req(abi::kNetPublished);
    p.arg = 80;
    p.arg2 = SOCK_STREAM;
    EXPECT_EQ(call(*d, p), -ENOENT);
}

TEST_F(NetDeviceTest, HostileRequestsStopTheGuestOrFail) {
    auto d = NetDevice::create(NetMode::Host, {});
    ASSERT_TRUE(d);
    ASSERT_TRUE(m_mem->write(kArg, req(99)));
    EXPECT_FALSE(d->hypercall(*m_mem, kArg));  // unknown operation
    auto r = req(abi::kNetBind, 0);
    r.addr = kAddr;
    r.addr_len = 4096;
    ASSERT_TRUE(m_mem->write(kArg, r));
    EXPECT_FALSE(d->hypercall(*m_mem, kArg));  // address longer than sockaddr_storage
    auto s = req(abi::kNetSend, 7);
    s.buf = kMemSize - 16;
    s.len = 4096;
    ASSERT_TRUE(m_mem->write(kArg, s));
    EXPECT_FALSE(d->hypercall(*m_mem, kArg));  // buffer outside guest memory
    auto b = req(abi::kNetRecv, 12345);
    b.buf = kData;
    b.len = 16;
    EXPECT_EQ(call(*d, b), -EBADF);  // a handle never issued
    auto poll_many = req(abi::kNetPoll);
    poll_many.len = abi::kMaxNetPoll + 1;
    ASSERT_TRUE(m_mem->write(kArg, poll_many));
    EXPECT_FALSE(d->hypercall(*m_mem, kArg));
    auto opt = req(abi::kNetSetOpt, 0);
    auto sock = req(abi::kNetSocket);
    sock.arg = AF_INET;
    sock.arg2 = SOCK_STREAM;
    opt.handle = static_cast<uint32_t>(call(*d, sock));
    opt.arg = SOL_SOCKET;
    opt.arg2 = SO_BINDTODEVICE;
    opt.buf = kData;
    opt.len = 4;
    EXPECT_EQ(call(*d, opt), -ENOPROTOOPT);  // not on the option allow-list
}

TEST_F(NetDeviceTest, HostModeServesAConnectionThroughGuestMemory) {
    auto d = NetDevice::create(NetMode::Host, {});
    ASSERT_TRUE(d);
    int64_t l = -1;
    ASSERT_NO_FATAL_FAILURE(listen_on_loopback(*d, l));
    auto n = req(abi::kNetSockName, uint32_t(l));
    n.addr = kAddr;
    n.addr_len = abi::kMaxSockaddr;
    ASSERT_EQ(call(*d, n), 0);
    sockaddr_in a = *m_mem->read<sockaddr_in>(kAddr);
    ASSERT_NE(a.sin_port, 0);

    auto acc = req(abi::kNetAccept, uint32_t(l));
    EXPECT_EQ(call(*d, acc), -EAGAIN);  // nobody yet, and no wait asked
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    acc.wait_ns = 1000000000;
    acc.addr = kAddr;
    acc.addr_len = abi::kMaxSockaddr;
    int64_t conn = call(*d, acc);
    ASSERT_GE(conn, 0);
    EXPECT_EQ(m_last.addr_len, sizeof(sockaddr_in));

    // Host -> guest: the data lands in guest memory, split over two pieces.
    ASSERT_EQ(::send(c, "hello, guest", 12, 0), 12);
    ASSERT_TRUE(m_mem->write(kSegs, abi::NetSeg{kData, 5}));
    ASSERT_TRUE(m_mem->write(kSegs + 16, abi::NetSeg{kData + 0x1000, 64}));
    auto rv = req(abi::kNetRecv, uint32_t(conn));
    rv.buf = kSegs;
    rv.arg = 2;
    rv.len = 69;
    rv.wait_ns = 1000000000;
    ASSERT_EQ(call(*d, rv), 12);
    auto first = *m_mem->span(kData, 5);
    auto second = *m_mem->span(kData + 0x1000, 7);
    EXPECT_EQ(std::string(first.begin(), first.end()) + std::string(second.begin(), second.end()), "hello, guest");
    EXPECT_FALSE(m_last.revents & POLLIN);  // the reply carries the state after the call

    // Guest -> host.
    const char msg[] = "hello, host";
    ASSERT_TRUE(m_mem->write_bytes(kData, {reinterpret_cast<const uint8_t*>(msg), sizeof msg - 1}));
    auto sd = req(abi::kNetSend, uint32_t(conn));
    sd.buf = kData;
    sd.len = sizeof msg - 1;
    ASSERT_EQ(call(*d, sd), int64_t(sizeof msg - 1));
    char buf[32] = {};
    ASSERT_EQ(::recv(c, buf, sizeof buf, 0), ssize_t(sizeof msg - 1));
    EXPECT_STREQ(buf, msg);

    // Poll: the peer closes; the guest's poll sees it.
    ::close(c);
    ASSERT_TRUE(m_mem->write(kSegs, abi::NetPollEntry{uint32_t(conn), POLLIN, 0}));
    auto pl = req(abi::kNetPoll);
    pl.buf = kSegs;
    pl.len = 1;
    pl.wait_ns = 1000000000;
    EXPECT_EQ(call(*d, pl), 1);
    EXPECT_TRUE(m_mem->read<abi::NetPollEntry>(kSegs)->revents & POLLIN);
    EXPECT_EQ(call(*d, req(abi::kNetClose, uint32_t(conn))), 0);
    EXPECT_EQ(call(*d, req(abi::kNetClose, uint32_t(l))), 0);
    EXPECT_EQ(d->open_sockets(), 0u);
}

TEST_F(NetDeviceTest, PublishedPortIsOpenBeforeTheGuestAndReportsTheGuestPort) {
    int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&a), len), 0);
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
    uint16_t port = ntohs(a.sin_port);
    ::listen(probe, 1);
    auto taken = NetDevice::create(NetMode::None, {PublishSpec{"127.0.0.1", port, 80, false}});
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().to_string(), "-p 127.0.0.1:" + std::to_string(port) + ":80: host port " +
                                             std::to_string(port) + " is already in use");
    ::close(probe);
    auto dup = NetDevice::create(NetMode::None, {PublishSpec{"", port, 80, false}, PublishSpec{"", static_cast<uint16_t>(port + 1), 80, false}});
    ASSERT_FALSE(dup);
    EXPECT_NE(dup.error().to_string().find("published twice"), std::string::npos);

    auto d = NetDevice::create(NetMode::None, {PublishSpec{"127.0.0.1", port, 80, false}});
    ASSERT_TRUE(d) << d.error().to_string();
    auto p = req(abi::kNetPublished);
    p.arg = 80;
    p.arg2 = SOCK_STREAM;
    int64_t h = call(*d, p);
    ASSERT_GE(h, 0);
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    auto acc = req(abi::kNetAccept, uint32_t(h));
    acc.wait_ns = 1000000000;
    int64_t conn = call(*d, acc);
    ASSERT_GE(conn, 0);
    auto n = req(abi::kNetSockName, uint32_t(conn));
    n.addr = kAddr;
    n.addr_len = abi::kMaxSockaddr;
    ASSERT_EQ(call(*d, n), 0);
    EXPECT_EQ(ntohs(m_mem->read<sockaddr_in>(kAddr)->sin_port), 80);  // the guest's port, not the host's
    // A guest close of the -p listener only detaches it: the next listen() gets it again.
    EXPECT_EQ(call(*d, req(abi::kNetClose, uint32_t(h))), 0);
    EXPECT_EQ(call(*d, p), h);
    ::close(c);
}

// --net none: a -p UDP socket answers its clients (the last
// kPublishedUdpPeers sources it received from, however the guest spells
// them) and nobody else.
TEST_F(NetDeviceTest, PublishedUdpUnderNetNoneSendsOnlyToItsClients) {
    auto udp_on_loopback = [] {
        int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        timeval tv{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return fd;
    };
    auto name_of = [](int fd) {
        sockaddr_in a{};
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        return a;
    };
    int probe = udp_on_loopback();
    const sockaddr_in pub = name_of(probe);
    ::close(probe);
    auto d = NetDevice::create(NetMode::None, {PublishSpec{"127.0.0.1", ntohs(pub.sin_port), 53, true}});
    ASSERT_TRUE(d) << d.error().to_string();
    auto p = req(abi::kNetPublished);
    p.arg = 53;
    p.arg2 = SOCK_DGRAM;
    const int64_t h = call(*d, p);
    ASSERT_GE(h, 0);
    ASSERT_TRUE(m_mem->write_bytes(kData, {reinterpret_cast<const uint8_t*>("reply"), 5}));
    auto send_to = [&](const auto& to) {
        EXPECT_TRUE(m_mem->write(kAddr, to));
        auto sd = req(abi::kNetSend, uint32_t(h));
        sd.buf = kData;
        sd.len = 5;
        sd.addr = kAddr;
        sd.addr_len = sizeof to;
        return call(*d, sd);
    };
    sockaddr_in outside{};
    outside.sin_family = AF_INET;
    outside.sin_port = htons(53);
    ::inet_pton(AF_INET, "192.0.2.1", &outside.sin_addr);
    EXPECT_EQ(send_to(outside), -ENETUNREACH);
    auto no_addr = req(abi::kNetSend, uint32_t(h));
    no_addr.buf = kData;
    no_addr.len = 5;
    EXPECT_EQ(call(*d, no_addr), -EDESTADDRREQ);
    int client = udp_on_loopback();
    const sockaddr_in client_addr = name_of(client);
    EXPECT_EQ(send_to(client_addr), -ENETUNREACH);  // it has not sent anything yet

    // The client sends; a receive without an address buffer still makes it a client.
    ASSERT_EQ(::sendto(client, "hi", 2, 0, reinterpret_cast<const sockaddr*>(&pub), sizeof pub), 2);
    auto rv = req(abi::kNetRecv, uint32_t(h));
    rv.buf = kData + 0x100;
    rv.len = 64;
    rv.wait_ns = 1000000000;
    ASSERT_EQ(call(*d, rv), 2);
    sockaddr_in6 mapped{};  // the same client as an IPv6 guest socket names it
    mapped.sin6_family = AF_INET6;
    mapped.sin6_port = client_addr.sin_port;
    mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&mapped.sin6_addr.s6_addr[12], &client_addr.sin_addr, 4);
    EXPECT_EQ(send_to(mapped), 5);
    char buf[16] = {};
    sockaddr_in src{};
    socklen_t slen = sizeof src;
    ASSERT_EQ(::recvfrom(client, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&src), &slen), 5);
    EXPECT_EQ(std::string(buf, 5), "reply");
    EXPECT_EQ(src.sin_port, pub.sin_port);  // from the published port

    // kPublishedUdpPeers newer clients: the first is forgotten.
    std::vector<int> others;  // all open at once: each a port of its own
    for (uint32_t i = 0; i < abi::kPublishedUdpPeers; ++i) {
        others.push_back(udp_on_loopback());
        ASSERT_EQ(::sendto(others.back(), "x", 1, 0, reinterpret_cast<const sockaddr*>(&pub), sizeof pub), 1);
        ASSERT_EQ(call(*d, rv), 1);
    }
    EXPECT_EQ(send_to(client_addr), -ENETUNREACH);
    EXPECT_EQ(send_to(name_of(others.back())), 5);
    for (int fd : others)
        ::close(fd);
    ::close(client);
}

}  // namespace
// A signal that interrupts the monitor's wait (the guest timer's, the stop
// ticker's) must not reach the guest as EINTR: a wait that ends without a
// connection is EAGAIN, as the non-blocking accept said. Restored VMs with
// a timer running got "accept: Interrupted system call".
TEST_F(NetDeviceTest, AnInterruptedWaitIsNotEintr) {
    auto d = NetDevice::create(NetMode::Host, {});
    ASSERT_TRUE(d);
    int64_t l = -1;
    ASSERT_NO_FATAL_FAILURE(listen_on_loopback(*d, l));
    struct sigaction sa{}, old{};
    sa.sa_handler = [](int) {};  // no SA_RESTART: poll() returns EINTR
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(::sigaction(SIGALRM, &sa, &old), 0);
    itimerval every_10ms{{0, 10000}, {0, 10000}};
    ASSERT_EQ(::setitimer(ITIMER_REAL, &every_10ms, nullptr), 0);
    auto acc = req(abi::kNetAccept, uint32_t(l));
    acc.wait_ns = 60000000;  // 60 ms: several interruptions
    const int64_t got = call(*d, acc);
    itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &old, nullptr);
    EXPECT_EQ(got, -EAGAIN);
}

}  // namespace lightvm

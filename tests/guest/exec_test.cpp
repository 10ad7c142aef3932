// Processes the host starts in a running guest (lightvm-oci exec's kernel
// path, without containerd): a VM runs `sleep`, a client on its exec
// channel (monitor/exec_channel.hpp) asks for more processes and checks
// their stdio, exit statuses, signals and the VM afterwards.
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "common/fd_passing.hpp"
#include "guest_test_util.hpp"
#include "lightvm/vm.hpp"
#include "monitor/exec_channel.hpp"
#include "monitor/vm.hpp"

namespace lightvm::test {
namespace {

const char* const kBusybox = "/usr/bin/busybox";

// One exec through the channel, as lightvm-oci's: the request, three
// socket pairs, then the guest process's output and its wait status.
struct ExecResult {
    std::string out, err;
    int status = -1;  // wait status; -1: no reply
    double ms = 0;
};

ExecResult exec_in(const std::string& sock, std::vector<std::string> argv, std::string input = "",
                   int signal_after_output = 0, const std::string& cwd = "/tmp") {
    ExecResult r;
    const auto t0 = std::chrono::steady_clock::now();
    auto control = ExecChannel::connect(sock);
    if (!control)
        return r;
    abi::ExecRequest h{};
    h.kind = abi::kExecStart;
    h.argc = static_cast<uint32_t>(argv.size());
    h.envc = 1;
    std::memcpy(h.path, kBusybox, std::strlen(kBusybox));
    std::memcpy(h.cwd, cwd.c_str(), cwd.size());
    std::string strings;
    for (auto& a : argv)
        strings.append(a).push_back('\0');
    strings.append("X=from-the-host").push_back('\0');
    h.strings_len = static_cast<uint32_t>(strings.size());
    std::vector<char> msg(sizeof h + strings.size());
    std::memcpy(msg.data(), &h, sizeof h);
    std::memcpy(msg.data() + sizeof h, strings.data(), strings.size());
    int ours[3], theirs[3];
    for (int i = 0; i < 3; ++i) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            return r;
        ours[i] = sv[0];
        theirs[i] = sv[1];
    }
    (void)send_with_fds(*control, std::string_view(msg.data(), msg.size()), theirs, "exec request");
    for (int fd : theirs)
        ::close(fd);
    if (!input.empty())
        (void)!::write(ours[0], input.data(), input.size());
    ::shutdown(ours[0], SHUT_WR);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(ours[1], buf, sizeof buf)) > 0) {
        r.out.append(buf, static_cast<size_t>(n));
        if (signal_after_output) {  // a signal for the process, as the relay forwards one
            (void)::send(*control, &signal_after_output, sizeof signal_after_output, 0);
            signal_after_output = 0;
        }
    }
    while ((n = ::read(ours[2], buf, sizeof buf)) > 0)
        r.err.append(buf, static_cast<size_t>(n));
    ExecReply reply{};
    if (::recv(*control, &reply, sizeof reply, 0) == sizeof reply && reply.kind == kExecExited)
        r.status = reply.value;
    r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    for (int fd : ours)
        ::close(fd);
    ::close(*control);
    return r;
}

class Exec : public ::testing::Test {
protected:
    void SetUp() override {
        REQUIRE_KVM();
        if (::access(kBusybox, X_OK) != 0)
            GTEST_SKIP() << kBusybox << " not installed (busybox-static)";
    }
};

TEST_F(Exec, TheHostStartsProcessesInARunningGuest) {
    const std::string sock = "/tmp/lightvm-exec-test-" + std::to_string(::getpid());
    auto channel = ExecChannel::listen(sock);
    ASSERT_TRUE(channel) << channel.error().to_string();
    UniqueFd out(::memfd_create("out", MFD_CLOEXEC));
    VmConfig c;
    c.app_path = kBusybox;
    c.argv = {kBusybox, "sleep", "5"};
    c.mem_size = 128ull << 20;
    c.shares = {ShareSpec{"/", "/", true}};
    c.stdout_fd = c.stderr_fd = c.diag_fd = out.get();
    c.cpus = 1;
    auto work = Workload::prepare(c);
    ASSERT_TRUE(work) << work.error().to_string();
    auto vm = Vm::create(work->shape());
    ASSERT_TRUE(vm) << vm.error().to_string();
    ASSERT_TRUE(vm->load(std::move(*work)));
    vm->set_exec_channel(channel->get());
    (*channel)->start(request_exec_news);

    std::vector<ExecResult> got;
    std::thread client([&] {
        got.push_back(exec_in(sock, {"sh", "-c", "echo $X $(pwd); echo to stderr >&2; exit 5"}));
        got.push_back(exec_in(sock, {"sh", "-c", "cat; echo end"}, "from stdin\n"));
        got.push_back(exec_in(sock, {"sh", "-c", "echo up; sleep 30"}, "", SIGTERM));
        got.push_back(exec_in(sock, {"/no/such/program"}));
        got.push_back(exec_in(sock, {"sh", "-c", "ps -o pid,args"}));
        got.push_back(exec_in(sock, {"true"}, "", 0, "/no/such/dir"));
        for (int i = 0; i < 5; ++i)
            got.push_back(exec_in(sock, {"true"}));
        request_stop(SIGTERM);  // the VM's sleep is not the point
    });
    auto report = vm->run();
    client.join();
    ::unlink(sock.c_str());
    ASSERT_TRUE(report) << report.error().to_string();
    EXPECT_EQ(report->outcome.status, 128 + SIGTERM) << read_back(out.get());
    ASSERT_EQ(got.size(), 11u);
    EXPECT_EQ(got[0].out, "from-the-host /tmp\n");
    EXPECT_EQ(got[0].err, "to stderr\n");
    EXPECT_EQ(got[0].status, 5 << 8);
    EXPECT_EQ(got[1].out, "from stdin\nend\n");
    EXPECT_EQ(got[1].status, 0);
    EXPECT_EQ(got[2].out, "up\n");
    EXPECT_EQ(got[2].status, SIGTERM);  // killed by it: the wait status's signal
    EXPECT_EQ(got[3].status, 127 << 8);  // not found, as a shell says
    // A process of its own: a new pid, beside the first process (sleep 5).
    EXPECT_NE(got[4].out.find("sleep 5"), std::string::npos) << got[4].out;
    EXPECT_NE(got[4].out.find("ps -o pid,args"), std::string::npos) << got[4].out;
    EXPECT_EQ(got[5].status, 126 << 8);  // no such working directory: not started
    double best = 1e9;
    for (size_t i = 6; i < got.size(); ++i) {
        EXPECT_EQ(got[i].status, 0);
        best = std::min(best, got[i].ms);
    }
    std::printf("exec of busybox true, request to status: best of 5 %.2f ms\n", best);
}

}  // namespace
}  // namespace lightvm::test

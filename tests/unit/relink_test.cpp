// A background VM's link.sock (daemon/link.hpp): a restarted daemon
// connects, and its message waits there until the monitor takes the
// connection; a backlog filled by many restarts fails a connect at once
// instead of hanging the daemon's recovery.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/link.hpp"

using namespace lightvm;
using namespace lightvm::daemon;

namespace {

struct VmDir {
    std::string path;
    UniqueFd fd;
    VmDir() {
        char tmpl[] = "/tmp/relink_test.XXXXXX";
        path = ::mkdtemp(tmpl);
        fd = UniqueFd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    ~VmDir() { std::filesystem::remove_all(path); }
};

TEST(Relink, AMessageSentBeforeTheAcceptArrivesWithItsFiles) {
    VmDir dir;
    auto listener = relink_listen(dir.fd.get());
    ASSERT_TRUE(listener) << listener.error().to_string();
    auto daemon = relink_connect(dir.path);
    ASSERT_TRUE(daemon) << daemon.error().to_string();
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ASSERT_TRUE(send_message(daemon->get(), R"({"save":{"stop":false}})", {p[0], p[1]}));
    UniqueFd monitor(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(monitor.valid());
    auto msg = recv_message(monitor.get());
    ASSERT_TRUE(msg);
    EXPECT_EQ(msg->text, R"({"save":{"stop":false}})");
    EXPECT_EQ(msg->fds.size(), 2u);
    ASSERT_TRUE(send_message(monitor.get(), R"({"saved":true})"));
    auto reply = recv_message(daemon->get());
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->text, R"({"saved":true})");
    ::close(p[0]);
    ::close(p[1]);
}

TEST(Relink, AFullBacklogFailsAConnectAtOnce) {
    VmDir dir;
    auto listener = relink_listen(dir.fd.get());
    ASSERT_TRUE(listener);
    std::vector<UniqueFd> pending;
    const auto t0 = std::chrono::steady_clock::now();
    bool refused = false;
    for (int i = 0; i < 200 && !refused; ++i) {
        auto c = relink_connect(dir.path);
        if (c)
            pending.push_back(std::move(*c));
        else
            refused = true;
    }
    EXPECT_TRUE(refused) << "200 connections pending without an accept";
    EXPECT_GE(pending.size(), 64u);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(Relink, NoListenerIsAnErrorNamingThePath) {
    VmDir dir;
    auto c = relink_connect(dir.path);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().to_string().find("link.sock"), std::string::npos) << c.error().to_string();
}

}  // namespace

// The live-migration wire format (src/migration/wire.hpp): every header a
// target accepts or refuses, and frames through a real socket pair.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "migration/wire.hpp"

using namespace lightvm;
using namespace lightvm::migration;

namespace {

constexpr uint64_t kMem = 64ull << 20;

Header h(Frame type, uint64_t a = 0, uint64_t len = 0) { return {static_cast<uint32_t>(type), 0, a, len}; }

std::string refusal(const Header& hdr, uint64_t mem = kMem) {
    auto r = check_header(hdr, mem);
    return r ? "" : r.error().message;
}

struct Pair {
    int fd[2] = {-1, -1};
    Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0); }
    ~Pair() {
        ::close(fd[0]);
        ::close(fd[1]);
    }
};

}  // namespace

TEST(MigrationWire, AcceptsWellFormedHeaders) {
    EXPECT_EQ(refusal(h(Frame::Hello, 0, 100), 0), "");
    EXPECT_EQ(refusal(h(Frame::Pages, 4096, 8192)), "");
    EXPECT_EQ(refusal(h(Frame::Pages, kMem - 4096, 4096)), "");
    EXPECT_EQ(refusal(h(Frame::Zero, 0, kMem)), "");  // a Zero run has no payload: any length inside RAM
    EXPECT_EQ(refusal(h(Frame::State, 0, 1000)), "");
    EXPECT_EQ(refusal(h(Frame::End)), "");
    EXPECT_EQ(refusal(h(Frame::Go)), "");
}

TEST(MigrationWire, RefusesHostileHeaders) {
    EXPECT_NE(refusal(h(static_cast<Frame>(0))).find("unknown frame type 0"), std::string::npos);
    EXPECT_NE(refusal(h(static_cast<Frame>(99))).find("unknown frame type 99"), std::string::npos);
    Header flags = h(Frame::End);
    flags.flags = 1;
    EXPECT_NE(refusal(flags).find("flags"), std::string::npos);
    EXPECT_NE(refusal(h(Frame::Hello, 0, kMaxJson + 1)).find("at most"), std::string::npos);
    EXPECT_NE(refusal(h(Frame::Go, 0, 1)).find("with a payload"), std::string::npos);
    EXPECT_NE(refusal(h(Frame::State, 0, 0)), "");
    EXPECT_NE(refusal(h(Frame::State, 0, kMaxState + 1)), "");
    EXPECT_NE(refusal(h(Frame::Pages, 4096, 4096), 0).find("before hello"), std::string::npos);
    EXPECT_NE(refusal(h(Frame::Pages, 100, 4096)).find("page-aligned"), std::string::npos);
    EXPECT_NE(refusal(h(Frame::Pages, 0, 100)).find("page-aligned"), std::string::npos);
    EXPECT_NE(refusal(h(Frame::Pages, 0, 0)), "");
    EXPECT_NE(refusal(h(Frame::Pages, 0, kMaxPagesFrame + 4096)), "");
    EXPECT_NE(refusal(h(Frame::Pages, kMem, 4096)).find("outside guest RAM"), std::string::npos);
    // a + len overflows: must not wrap into range.
    EXPECT_NE(refusal(h(Frame::Zero, ~uint64_t{4095}, 8192)).find("outside guest RAM"), std::string::npos);
}

TEST(MigrationWire, FramesRoundTrip) {
    Pair p;
    std::vector<uint8_t> page(8192, 0xab);
    ASSERT_TRUE(send_frame(p.fd[0], Frame::Pages, 4096, page));
    ASSERT_TRUE(send_zero(p.fd[0], 16384, 4096));
    ASSERT_TRUE(send_frame(p.fd[0], Frame::Ready, std::string("{\"id\":\"x\"}")));
    auto a = recv_header(p.fd[1], kMem);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->type, static_cast<uint32_t>(Frame::Pages));
    EXPECT_EQ(a->a, 4096u);
    std::vector<uint8_t> got(a->len);
    ASSERT_TRUE(recv_exact(p.fd[1], got.data(), got.size()));
    EXPECT_EQ(got, page);
    auto z = recv_header(p.fd[1], kMem);
    ASSERT_TRUE(z);
    EXPECT_EQ(z->type, static_cast<uint32_t>(Frame::Zero));
    EXPECT_EQ(z->len, 4096u);
    auto ready = expect_text(p.fd[1], Frame::Ready, kMem);
    ASSERT_TRUE(ready);
    EXPECT_EQ(*ready, "{\"id\":\"x\"}");
}

TEST(MigrationWire, PeerErrorsAndSurprisesAreOneLine) {
    Pair p;
    ASSERT_TRUE(send_frame(p.fd[0], Frame::Error, std::string("hello: wrong secret")));
    auto r = expect_text(p.fd[1], Frame::Accept, 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "the peer gave up: hello: wrong secret");
    ASSERT_TRUE(send_frame(p.fd[0], Frame::Go, 0, {}));
    r = expect_text(p.fd[1], Frame::Started, kMem);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "expected a started frame, got go");
    ::close(p.fd[0]);
    p.fd[0] = ::dup(p.fd[1]);  // keep the destructor's close balanced
    ::shutdown(p.fd[1], SHUT_WR);
}

TEST(MigrationWire, ClosedPeerIsAnError) {
    Pair p;
    ::shutdown(p.fd[0], SHUT_WR);
    auto r = recv_header(p.fd[1], kMem);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("connection closed"), std::string::npos);
}

// --migrate-listen / --to addresses (src/daemon/migrate_net.hpp).
#include <gtest/gtest.h>

#include "daemon/migrate_net.hpp"

using namespace lightvm::daemon;

TEST(MigrateEndpoint, ParsesHostsAndPorts) {
    auto a = parse_endpoint("127.0.0.1:7070");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 7070);
    auto b = parse_endpoint("[::1]:65535");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->host, "::1");
    EXPECT_EQ(b->port, 65535);
    auto c = parse_endpoint("host.example:1");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->host, "host.example");
}

TEST(MigrateEndpoint, RefusesMalformedOnes) {
    for (const char* bad : {"", "nowhere", ":7070", "host:", "host:0", "host:65536", "host:12a", "::1:7070",
                            "[::1]7070", "[::1]:", "host:123456"}) {
        auto r = parse_endpoint(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().to_string().find('\n'), std::string::npos) << bad;
        }
    }
}

TEST(MigrateEndpoint, ConnectToNothingIsOneLine) {
    auto fd = connect_endpoint({"127.0.0.1", 1}, 1000);
    ASSERT_FALSE(fd);
    EXPECT_NE(fd.error().message.find("cannot connect to 127.0.0.1:1"), std::string::npos);
}

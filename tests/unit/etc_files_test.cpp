// The guest's /etc/hosts and /etc/resolv.conf where its rootfs lacks them
// (monitor/etc_files.hpp). No KVM.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "monitor/etc_files.hpp"

using namespace lightvm;

namespace {

struct Tree {
    std::string root;
    Tree() {
        char tmpl[] = "/tmp/lightvm-etc-test-XXXXXX";
        root = ::mkdtemp(tmpl);
        std::filesystem::create_directories(root + "/rootfs/etc");
        std::filesystem::create_directories(root + "/etcdir");
        std::ofstream(root + "/rootfs/etc/hosts") << "10.0.0.1 mine\n";
        std::ofstream(root + "/etcdir/resolv.conf") << "nameserver 10.0.0.2\n";
    }
    ~Tree() { std::filesystem::remove_all(root); }
};

}  // namespace

TEST(EtcFiles, TheShareThatServesThePathDecides) {
    Tree t;
    std::vector<ShareSpec> rootfs{{t.root + "/rootfs", "/", false}};
    EXPECT_TRUE(share_provides(rootfs, "/etc/hosts"));
    EXPECT_FALSE(share_provides(rootfs, "/etc/resolv.conf"));
    // A share on /etc hides the rootfs's /etc, as a mount would.
    std::vector<ShareSpec> both{{t.root + "/rootfs", "/", false}, {t.root + "/etcdir", "/etc", true}};
    EXPECT_FALSE(share_provides(both, "/etc/hosts"));
    EXPECT_TRUE(share_provides(both, "/etc/resolv.conf"));
    // /etcetera is not below /etc.
    std::vector<ShareSpec> etcetera{{t.root + "/etcdir", "/etcetera", false}};
    EXPECT_FALSE(share_provides(etcetera, "/etc/resolv.conf"));
    EXPECT_FALSE(share_provides({}, "/etc/hosts"));
    // A tmpfs nearer the path hides the share (a fresh tmpfs is empty); one
    // farther away, or elsewhere, does not.
    EXPECT_FALSE(share_provides(rootfs, "/etc/hosts", {{"/etc", 0}}));
    EXPECT_TRUE(share_provides(rootfs, "/etc/hosts", {{"/tmp", 0}, {"/etcetera", 0}}));
    EXPECT_TRUE(share_provides(both, "/etc/resolv.conf", {{"/", 0}}));
}

TEST(EtcFiles, ATmpfsOverEtcGetsTheFallbacks) {
    Tree t;
    VmConfig cfg;
    cfg.shares = {{t.root + "/rootfs", "/", false}};
    auto f = etc_files(cfg);
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->hosts);  // the rootfs has one
    cfg.tmpfs = {{"/etc", 0}};
    f = etc_files(cfg);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->hosts) << "--tmpfs /etc hides the rootfs's /etc/hosts";
}

TEST(EtcFiles, NameServersSkipLoopbackWhereTheVmHasItsOwn) {
    const char* text =
        "# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver 192.0.2.1\n"
        "nameserver ::1\nnameserver 2001:db8::1\nnameserver not-an-address\noptions edns0\n";
    EXPECT_EQ(name_servers(text, false), (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
    EXPECT_EQ(name_servers(text, true), (std::vector<std::string>{"127.0.0.53", "192.0.2.1", "::1"}));  // at most 3
    EXPECT_TRUE(name_servers("", true).empty());
}

TEST(EtcFiles, HostsWithoutARootfsResolvConfOnlyWithHostSockets) {
    Tree t;
    VmConfig cfg;
    auto f = etc_files(cfg);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->hosts);
    EXPECT_EQ(f->resolv_conf, "");  // --net none: no name server is reachable
    cfg.shares = {{t.root + "/rootfs", "/", false}};
    f = etc_files(cfg);
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->hosts);  // the rootfs's own
    cfg.dns = {"192.0.2.53"};
    f = etc_files(cfg);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->resolv_conf, "nameserver 192.0.2.53\n");  // --dns wins over any rootfs
}

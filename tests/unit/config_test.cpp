// Tests for --mem size parsing and VmConfig validation.
#include "monitor/config.hpp"

#include <string>

#include <gtest/gtest.h>

#include "lightvm/abi.h"

namespace lightvm {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

TEST(ParseSize, Accepted) {
    struct Case {
        const char* text;
        uint64_t bytes;
    };
    for (const Case& c : {Case{"256M", 256 * kMiB}, Case{"1G", kGiB}, Case{"64MiB", 64 * kMiB},
                          Case{"65536K", 64 * kMiB}, Case{"1048576", kMiB}, Case{"2gb", 2 * kGiB},
                          Case{"1", 1}, Case{"512B", 512}, Case{"4kib", 4096}, Case{"3mb", 3 * kMiB},
                          Case{"16GiB", 16 * kGiB}, Case{"0016M", 16 * kMiB}}) {
        auto r = parse_size(c.text);
        ASSERT_TRUE(r) << c.text << ": " << r.error().to_string();
        EXPECT_EQ(*r, c.bytes) << c.text;
    }
}

TEST(ParseSize, Rejected) {
    for (const char* text : {"", "abc", "0", "0M", "12X", "-1", "-1G", "+1G", " 1G", "1G ", "1 G", "1.5G", "G",
                             "1GG", "1T", "0x10", "99999999999999999999G", "99999999999999999999",
                             "17179869184G", "18446744073709551615K"}) {
        auto r = parse_size(text);
        ASSERT_FALSE(r) << "'" << text << "' accepted as " << *r;
        EXPECT_EQ(r.error().kind, ErrorKind::BadInput) << text;
        EXPECT_EQ(r.error().where, "size");
        EXPECT_NE(r.error().message.find(std::string("'") + text + "'"), std::string::npos) << r.error().message;
    }
}

TEST(ParseSize, LargestValuesPerSuffix) {
    EXPECT_EQ(*parse_size("18446744073709551615"), UINT64_MAX);
    EXPECT_EQ(*parse_size("17179869183G"), 17179869183ull << 30);
    EXPECT_EQ(*parse_size("18014398509481983K"), 18014398509481983ull << 10);
    EXPECT_FALSE(parse_size("18014398509481984K"));
}

VmConfig base_config() {
    VmConfig c;
    c.app_path = "/bin/app";
    return c;
}

TEST(Validate, DefaultsAreValid) {
    auto r = validate(base_config());
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->mem_size, 256 * kMiB);
    EXPECT_EQ(r->argv, std::vector<std::string>{"/bin/app"});
}

TEST(Validate, RoundsMemoryUpToTwoMiB) {
    struct Case {
        uint64_t in, out;
    };
    for (const Case& c : {Case{16 * kMiB, 16 * kMiB}, Case{16 * kMiB + 1, 18 * kMiB}, Case{17 * kMiB, 18 * kMiB},
                          Case{18 * kMiB - 1, 18 * kMiB}, Case{15 * kMiB + 1, 16 * kMiB},
                          Case{1000 * kMiB + 4096, 1002 * kMiB}, Case{abi::kMaxMemSize, abi::kMaxMemSize}}) {
        auto cfg = base_config();
        cfg.mem_size = c.in;
        auto r = validate(cfg);
        ASSERT_TRUE(r) << c.in << ": " << r.error().to_string();
        EXPECT_EQ(r->mem_size, c.out) << c.in;
        EXPECT_EQ(r->mem_size % abi::kHugePageSize, 0u);
    }
}

TEST(Validate, RejectsTooLittleMemory) {
    for (uint64_t mem : {uint64_t{0}, uint64_t{1}, kMiB, 14 * kMiB, abi::kMinMemSize - 2 * kMiB}) {
        auto cfg = base_config();
        cfg.mem_size = mem;
        auto r = validate(cfg);
        ASSERT_FALSE(r) << mem;
        EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
        EXPECT_EQ(r.error().where, "--mem");
        EXPECT_NE(r.error().message.find("too small"), std::string::npos) << r.error().message;
    }
}

TEST(Validate, RejectsTooMuchMemory) {
    for (uint64_t mem : {abi::kMaxMemSize + 1, abi::kMaxMemSize + 2 * kMiB, 64 * kGiB}) {
        auto cfg = base_config();
        cfg.mem_size = mem;
        auto r = validate(cfg);
        ASSERT_FALSE(r) << mem;
        EXPECT_EQ(r.error().where, "--mem");
        EXPECT_NE(r.error().message.find("too large"), std::string::npos) << r.error().message;
    }
}

TEST(Validate, HugeMemoryIsTooLargeNotTooSmall) {
    // Rounding UINT64_MAX up to 2 MiB wraps to 0 (src/monitor/config.cpp, validate()).
    auto cfg = base_config();
    cfg.mem_size = UINT64_MAX;
    auto r = validate(cfg);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("too large"), std::string::npos) << r.error().to_string();
}

TEST(Validate, Timeout) {
    auto cfg = base_config();
    cfg.timeout_seconds = -0.5;
    auto r = validate(cfg);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().where, "--timeout");
    cfg.timeout_seconds = 0;
    EXPECT_TRUE(validate(cfg));
    cfg.timeout_seconds = 2.5;
    EXPECT_TRUE(validate(cfg));
}

TEST(Validate, Environment) {
    for (const char* bad : {"NOEQUALS", "=value", "=", ""}) {
        auto cfg = base_config();
        cfg.env = {"OK=1", bad};
        auto r = validate(cfg);
        ASSERT_FALSE(r) << "'" << bad << "'";
        EXPECT_EQ(r.error().where, "--env");
        EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
        EXPECT_NE(r.error().message.find(std::string("'") + bad + "'"), std::string::npos);
    }
    auto cfg = base_config();
    cfg.env = {"A=", "B=c=d", "PATH=/bin:/usr/bin"};
    auto r = validate(cfg);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->env, cfg.env);
}

TEST(Validate, ArgvZeroFromAppPath) {
    auto cfg = base_config();
    cfg.app_path = "/srv/hello";
    auto r = validate(cfg);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->argv, std::vector<std::string>{"/srv/hello"});

    cfg.argv = {"custom0", "arg"};
    r = validate(cfg);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->argv, (std::vector<std::string>{"custom0", "arg"}));
}

TEST(Validate, Hostname) {
    auto cfg = base_config();
    cfg.hostname = std::string(64, 'h');
    EXPECT_TRUE(validate(cfg));
    cfg.hostname = std::string(65, 'h');
    auto r = validate(cfg);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().where, "--hostname");
    EXPECT_NE(r.error().message.find("1 to 64"), std::string::npos) << r.error().message;
    cfg.hostname = "";
    EXPECT_FALSE(validate(cfg));
}

// Issue 13, bug 7: a working directory that does not fit the boot page
// used to become "/" silently.
TEST(Validate, WorkdirTooLongIsAnErrorNamingTheLimit) {
    auto cfg = base_config();
    cfg.cwd = "/" + std::string(254, 'd');  // 255 bytes: fits with its NUL
    auto ok = validate(cfg);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->cwd, cfg.cwd);
    cfg.cwd = "/" + std::string(255, 'd');
    auto r = validate(cfg);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
    EXPECT_EQ(r.error().where, "--workdir");
    EXPECT_NE(r.error().message.find("at most 255"), std::string::npos) << r.error().message;
}

TEST(Validate, AppPathTooLongIsAnError) {
    auto cfg = base_config();
    cfg.app_path = "/" + std::string(300, 'a');
    auto r = validate(cfg);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().where, "APP");
    EXPECT_NE(r.error().message.find("at most 255"), std::string::npos) << r.error().message;
}

TEST(Validate, OtherFieldsPassThrough) {
    auto cfg = base_config();
    cfg.trace = true;
    cfg.stats = true;
    cfg.stdout_fd = 7;
    cfg.diag_fd = 9;
    auto r = validate(cfg);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->trace);
    EXPECT_TRUE(r->stats);
    EXPECT_EQ(r->stdout_fd, 7);
    EXPECT_EQ(r->diag_fd, 9);
    EXPECT_EQ(r->app_path, "/bin/app");
}

}  // namespace
}  // namespace lightvm

// Issue 13, bug 6: memory admission reads the host's and the cgroup's numbers.
#include "memory/admission.hpp"

namespace lightvm {
namespace {

TEST(Admission, MeminfoAvailable) {
    EXPECT_EQ(parse_meminfo_available("MemTotal: 100 kB\nMemFree: 5 kB\nMemAvailable:   22525496 kB\n"),
              22525496ull * 1024);
    EXPECT_FALSE(parse_meminfo_available("MemTotal: 100 kB\n"));
}

TEST(Admission, MemoryCgroupV1AndV2) {
    bool v2 = false;
    auto p = parse_memory_cgroup("9:name=systemd:/\n4:memory:/process_api/abc\n0::/\n", v2);
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, "/process_api/abc");
    EXPECT_FALSE(v2);
    p = parse_memory_cgroup("0::/user.slice/session-1.scope\n", v2);
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, "/user.slice/session-1.scope");
    EXPECT_TRUE(v2);
    EXPECT_FALSE(parse_memory_cgroup("", v2));
}

TEST(Admission, HostHasSomeMemory) {
    auto a = host_memory_available();
    ASSERT_TRUE(a);
    EXPECT_GT(*a, 16ull << 20);
}

}  // namespace
}  // namespace lightvm

// --tmpfs PATH[:SIZE], and which tmpfs mounts a VM gets.
TEST(Tmpfs, ParseAndRefuse) {
    auto t = lightvm::parse_tmpfs("/scratch/./x:2M");
    ASSERT_TRUE(t) << t.error().to_string();
    EXPECT_EQ(t->guest_path, "/scratch/x");
    EXPECT_EQ(t->size, 2u << 20);
    auto d = lightvm::parse_tmpfs("/data");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->size, 0u) << "0: half of --mem, decided with the VM's size";
    for (const char* bad : {"relative", "/x:abc", "/", ":1M", "/x:0"})
        EXPECT_FALSE(lightvm::parse_tmpfs(bad)) << bad;
    EXPECT_NE(lightvm::parse_tmpfs("rel").error().to_string().find("--tmpfs"), std::string::npos);
}

TEST(Tmpfs, DefaultsUnlessCovered) {
    lightvm::VmConfig cfg;
    cfg.mem_size = 64u << 20;
    auto all = lightvm::effective_tmpfs(cfg);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].guest_path, "/tmp");
    EXPECT_EQ(all[1].guest_path, "/dev/shm");
    EXPECT_EQ(all[0].size, 32u << 20);
    cfg.shares.push_back({"/host", "/tmp/x", false});  // a share below /tmp keeps the synthetic /tmp
    cfg.tmpfs.push_back({"/dev/shm", 1u << 20});       // an explicit size replaces the default
    cfg.tmpfs.push_back({"/scratch", 0});
    all = lightvm::effective_tmpfs(cfg);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].guest_path, "/dev/shm");
    EXPECT_EQ(all[0].size, 1u << 20);
    EXPECT_EQ(all[1].guest_path, "/scratch");
    EXPECT_EQ(all[1].size, 32u << 20);

    lightvm::VmConfig root;  // --rootfs: its own /tmp, the kernel's /dev with a tmpfs /dev/shm
    root.shares.push_back({"/srv/image", "/", false});
    all = lightvm::effective_tmpfs(root);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].guest_path, "/dev/shm");
}

TEST(Tmpfs, ValidateRefuses) {
    lightvm::VmConfig cfg;
    cfg.tmpfs = {{"/a", 0}, {"/a", 0}};
    EXPECT_FALSE(lightvm::validate(cfg)) << "two at one path";
    cfg.tmpfs = {{"/a", 0}, {"/b", 0}, {"/c", 0}};
    EXPECT_FALSE(lightvm::validate(cfg)) << "more than fit the boot page";
    cfg.tmpfs = {{"/data", 0}};
    cfg.shares = {{"/host", "/data", false}};
    EXPECT_FALSE(lightvm::validate(cfg)) << "a share and a tmpfs at one path";
    cfg.shares.clear();
    EXPECT_TRUE(lightvm::validate(cfg));
}

// --fs HOST[:GUEST][:OPTS] and --rootfs DIR[:OPTS]: the option list, the
// forms from before it (a trailing :ro/:rw), and one-line errors.
TEST(ParseShare, OptionLists) {
    using lightvm::ShareOwner;
    auto s = lightvm::parse_share("/srv/data:/d:ro,mapped");
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_EQ(s->host_path, "/srv/data");
    EXPECT_EQ(s->guest_path, "/d");
    EXPECT_TRUE(s->read_only);
    EXPECT_EQ(s->owner, ShareOwner::Mapped);

    s = lightvm::parse_share("/srv/data:/d:mapped");
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->read_only);
    EXPECT_EQ(s->owner, ShareOwner::Mapped);

    s = lightvm::parse_share("/srv/data:mapped,rw");  // options without a guest path
    ASSERT_TRUE(s);
    EXPECT_EQ(s->host_path, "/srv/data");
    EXPECT_EQ(s->guest_path, "/srv/data");
    EXPECT_EQ(s->owner, ShareOwner::Mapped);

    s = lightvm::parse_share("/srv/data:/d:passthrough,ro");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->read_only);
    EXPECT_EQ(s->owner, ShareOwner::Passthrough);

    // What worked before option lists still does.
    s = lightvm::parse_share("/srv/data:/d:ro");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->read_only);
    EXPECT_EQ(s->owner, ShareOwner::Passthrough);
    s = lightvm::parse_share("/srv/data:ro");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->guest_path, "/srv/data");
    EXPECT_TRUE(s->read_only);
    s = lightvm::parse_share("/srv/data:/d:rw");
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->read_only);
    s = lightvm::parse_share("/srv/data:/d/./e/");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->guest_path, "/d/e");
    EXPECT_EQ(s->owner, ShareOwner::Passthrough);
    s = lightvm::parse_share("/srv/data:/a:b/c");  // a '/' in the last field: part of the guest path
    ASSERT_TRUE(s);
    EXPECT_EQ(s->guest_path, "/a:b/c");
}

TEST(ParseShare, BadOptionsAreOneLineErrors) {
    auto error = [](const char* text) {
        auto s = lightvm::parse_share(text);
        return s ? std::string("accepted") : s.error().to_string();
    };
    EXPECT_EQ(error("/srv:/d:mappd"),
              "--fs: unknown option 'mappd' in '/srv:/d:mappd' (options: ro, rw, mapped, passthrough)");
    EXPECT_EQ(error("/srv:/d:ro,mapd"),
              "--fs: unknown option 'mapd' in '/srv:/d:ro,mapd' (options: ro, rw, mapped, passthrough)");
    EXPECT_EQ(error("/srv:/d:mapped,passthrough"),
              "--fs: 'mapped' and 'passthrough' conflict in '/srv:/d:mapped,passthrough' (options: ro, rw, mapped, "
              "passthrough)");
    EXPECT_EQ(error("/srv:/d:ro,rw"),
              "--fs: 'ro' and 'rw' conflict in '/srv:/d:ro,rw' (options: ro, rw, mapped, passthrough)");
    EXPECT_EQ(error("/srv:/d:"), "--fs: empty option in '/srv:/d:' (options: ro, rw, mapped, passthrough)");
    EXPECT_EQ(error("/srv:/d:ro,,mapped"),
              "--fs: empty option in '/srv:/d:ro,,mapped' (options: ro, rw, mapped, passthrough)");
    EXPECT_EQ(error("/srv:MAPPED"), "--fs: unknown option 'MAPPED' in '/srv:MAPPED' (options: ro, rw, mapped, passthrough)");
    EXPECT_EQ(error(":/d:mapped"), "--fs: missing host directory in ':/d:mapped'");
    EXPECT_EQ(error("/srv:d/e"), "--fs: guest path 'd/e' must be absolute");
}

TEST(ParseShare, Rootfs) {
    auto r = lightvm::parse_rootfs("/srv/image:ro,mapped");
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->host_path, "/srv/image");
    EXPECT_EQ(r->guest_path, "/");
    EXPECT_TRUE(r->read_only);
    EXPECT_EQ(r->owner, lightvm::ShareOwner::Mapped);
    r = lightvm::parse_rootfs("/srv/image:ro");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->read_only);
    EXPECT_EQ(r->owner, lightvm::ShareOwner::Passthrough);
    r = lightvm::parse_rootfs("image");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->host_path, "image");
    EXPECT_FALSE(r->read_only);
    r = lightvm::parse_rootfs("/srv/a:b/image");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->host_path, "/srv/a:b/image");
    auto bad = lightvm::parse_rootfs("/srv/image:mapped,bogus");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().to_string(),
              "--rootfs: unknown option 'bogus' in '/srv/image:mapped,bogus' (options: ro, rw, mapped, passthrough)");
    EXPECT_FALSE(lightvm::parse_rootfs(":ro"));
}

TEST(ParseShare, OwnerNames) {
    using lightvm::ShareOwner;
    EXPECT_STREQ(lightvm::share_owner_name(ShareOwner::Mapped), "mapped");
    EXPECT_STREQ(lightvm::share_owner_name(ShareOwner::Passthrough), "passthrough");
    EXPECT_EQ(lightvm::share_owner_from_name("mapped"), ShareOwner::Mapped);
    EXPECT_EQ(lightvm::share_owner_from_name("passthrough"), ShareOwner::Passthrough);
    EXPECT_FALSE(lightvm::share_owner_from_name("Mapped"));
    EXPECT_FALSE(lightvm::share_owner_from_name(""));
}

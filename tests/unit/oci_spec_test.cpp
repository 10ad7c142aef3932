// config.json -> VmConfig mapping of lightvm-oci (src/oci/spec.cpp), and
// resolving process.args[0] inside the container's root. No KVM.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "oci/commands.hpp"
#include "oci/etc_binds.hpp"
#include "oci/spec.hpp"

using namespace lightvm;
using namespace lightvm::oci;

namespace {

class OciSpec : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/oci-spec-test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        bundle = tmpl;
        ASSERT_EQ(::mkdir((bundle + "/rootfs").c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((bundle + "/rootfs/bin").c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((bundle + "/data").c_str(), 0755), 0);
    }
    void TearDown() override { std::system(("rm -rf " + bundle).c_str()); }

    // A valid config with `extra` spliced into the top-level object.
    std::string config(const std::string& extra = "", const std::string& process = "") {
        std::string p = process.empty() ? R"({"args":["sh","-c","true"],"env":["PATH=/bin","A=1"],"cwd":"/work"})" : process;
        return R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":)" + p + (extra.empty() ? "" : "," + extra) + "}";
    }
    void file(const std::string& rel, const std::string& text, mode_t mode) {
        std::ofstream(bundle + "/" + rel) << text;
        ASSERT_EQ(::chmod((bundle + "/" + rel).c_str(), mode), 0);
    }
    std::string bundle;
};

std::string error_of(const Result<ContainerSpec>& r) { return r ? "(no error)" : r.error().to_string(); }

TEST_F(OciSpec, MapsProcessRootAndHostname) {
    auto s = parse_spec(config(R"("hostname":"box","root":{"path":"rootfs","readonly":true})"), bundle);
    ASSERT_TRUE(s) << error_of(s);
    EXPECT_EQ(s->args, (std::vector<std::string>{"sh", "-c", "true"}));
    EXPECT_EQ(s->vm.env, (std::vector<std::string>{"PATH=/bin", "A=1"}));
    EXPECT_EQ(s->vm.cwd, "/work");
    EXPECT_EQ(s->vm.hostname, "box");
    ASSERT_EQ(s->vm.shares.size(), 1u);
    EXPECT_EQ(s->vm.shares[0].host_path, bundle + "/rootfs");
    EXPECT_EQ(s->vm.shares[0].guest_path, "/");
    EXPECT_TRUE(s->vm.shares[0].read_only);
    EXPECT_TRUE(s->warnings.empty());
}

TEST_F(OciSpec, AdditionalGidsAreNumbers) {  // as containerd writes them
    auto s = parse_spec(config("", R"({"args":["sh"],"user":{"uid":0,"gid":0,"additionalGids":[0,10]}})"), bundle);
    ASSERT_TRUE(s) << error_of(s);
    EXPECT_TRUE(s->warnings.empty());
    EXPECT_EQ(s->vm.user.groups, std::vector<uint32_t>{10});  // gid itself is not repeated
}

TEST_F(OciSpec, ProcessUserIsTheGuestsUser) {
    auto s = parse_spec(config("", R"({"args":["sh"],"user":{"uid":1000,"gid":100,"additionalGids":[5,6]}})"), bundle);
    ASSERT_TRUE(s) << error_of(s);
    EXPECT_EQ(s->vm.user.uid, 1000u);
    EXPECT_EQ(s->vm.user.gid, 100u);
    EXPECT_EQ(s->vm.user.groups, (std::vector<uint32_t>{5, 6}));
}

TEST_F(OciSpec, MountsBecomeSharesAndTmpfs) {
    std::string mounts = R"("mounts":[
        {"destination":"/proc","type":"proc","source":"proc"},
        {"destination":"/dev","type":"tmpfs","source":"tmpfs"},
        {"destination":"/dev/pts","type":"devpts","source":"devpts"},
        {"destination":"/dev/shm","type":"tmpfs","source":"shm"},
        {"destination":"/sys","type":"sysfs","source":"sysfs","options":["ro"]},
        {"destination":"/data","type":"bind","source":")" + bundle + R"(/data","options":["rbind","ro"]},
        {"destination":"/rw","source":")" + bundle + R"(/data","options":["bind"]},
        {"destination":"/run","type":"tmpfs","source":"tmpfs","options":["nosuid","size=8m"]}])";
    auto s = parse_spec(config(mounts), bundle);
    ASSERT_TRUE(s) << error_of(s);
    ASSERT_EQ(s->vm.shares.size(), 3u);
    EXPECT_EQ(s->vm.shares[1].guest_path, "/data");
    EXPECT_TRUE(s->vm.shares[1].read_only);
    EXPECT_EQ(s->vm.shares[2].guest_path, "/rw");
    EXPECT_FALSE(s->vm.shares[2].read_only);
    ASSERT_EQ(s->vm.tmpfs.size(), 1u);
    EXPECT_EQ(s->vm.tmpfs[0].guest_path, "/run");
    EXPECT_EQ(s->vm.tmpfs[0].size, 8ull << 20);
}

// lightvm.owner=mapped on a bind mount, io.lightvm.root-owner for the root.
TEST_F(OciSpec, OwnershipModelOfMountsAndRoot) {
    std::string mounts = R"("mounts":[
        {"destination":"/m","type":"bind","source":")" + bundle + R"(/data","options":["rbind","lightvm.owner=mapped"]},
        {"destination":"/p","type":"bind","source":")" + bundle + R"(/data","options":["bind","lightvm.owner=passthrough"]},
        {"destination":"/d","type":"bind","source":")" + bundle + R"(/data","options":["bind","ro"]}],
        "annotations":{"io.lightvm.root-owner":"mapped"})";
    auto s = parse_spec(config(mounts), bundle);
    ASSERT_TRUE(s) << error_of(s);
    ASSERT_EQ(s->vm.shares.size(), 4u);
    EXPECT_EQ(s->vm.shares[0].guest_path, "/");
    EXPECT_EQ(s->vm.shares[0].owner, ShareOwner::Mapped);
    EXPECT_EQ(s->vm.shares[1].owner, ShareOwner::Mapped);
    EXPECT_EQ(s->vm.shares[2].owner, ShareOwner::Passthrough);
    EXPECT_EQ(s->vm.shares[3].owner, ShareOwner::Passthrough);
    EXPECT_TRUE(s->vm.shares[3].read_only);
    auto bad = parse_spec(config(R"("mounts":[{"destination":"/m","type":"bind","source":")" + bundle +
                                 R"(/data","options":["bind","lightvm.owner=xattr"]}])"),
                          bundle);
    EXPECT_EQ(error_of(bad),
              "config.json: mounts /m: option lightvm.owner=xattr (lightvm.owner=mapped or lightvm.owner=passthrough)");
    bad = parse_spec(config(R"("annotations":{"io.lightvm.root-owner":"yes"})"), bundle);
    EXPECT_EQ(error_of(bad), "config.json: annotations io.lightvm.root-owner: 'yes' is not mapped or passthrough");
}

TEST_F(OciSpec, FileBindIsASingleFileShare) {
    file("motd", "hello\n", 0644);
    auto s = parse_spec(config(R"("mounts":[{"destination":"/etc/motd","type":"bind","source":")" + bundle +
                               R"(/motd","options":["rbind","ro"]}])"),
                        bundle);
    ASSERT_TRUE(s) << error_of(s);
    ASSERT_EQ(s->vm.shares.size(), 2u);  // the root, then the file
    EXPECT_EQ(s->vm.shares[1].host_path, bundle + "/motd");
    EXPECT_EQ(s->vm.shares[1].guest_path, "/etc/motd");
    EXPECT_TRUE(s->vm.shares[1].read_only);
    EXPECT_TRUE(s->warnings.empty());
    // A device node is not a file: skipped with a warning, as before.
    s = parse_spec(config(R"("mounts":[{"destination":"/dev/x","type":"bind","source":"/dev/null"}])"), bundle);
    ASSERT_TRUE(s) << error_of(s);
    EXPECT_EQ(s->vm.shares.size(), 1u);
    ASSERT_EQ(s->warnings.size(), 1u);
    EXPECT_NE(s->warnings[0].find("neither a directory nor a regular file"), std::string::npos);
}

TEST_F(OciSpec, CgroupsPathAndResources) {
    auto s = parse_spec(config(R"("linux":{"cgroupsPath":"/docker/abc","resources":{"memory":{"limit":67108864},
        "cpu":{"shares":100},"pids":{"limit":10}}})"), bundle);
    ASSERT_TRUE(s) << error_of(s);
    EXPECT_EQ(s->cgroups_path, "/docker/abc");
    EXPECT_EQ(*s->resources.memory_limit, 67108864);
    EXPECT_EQ(*s->resources.cpu_shares, 100u);
    EXPECT_EQ(s->vm.mem_size, 67108864u);
    auto bad = parse_spec(config(R"("linux":{"cgroupsPath":5})"), bundle);
    ASSERT_FALSE(bad);
    EXPECT_EQ(error_of(bad), "config.json: linux.cgroupsPath: not a string");
    bad = parse_spec(config(R"("linux":{"resources":{"pids":{"limit":"many"}}})"), bundle);
    ASSERT_FALSE(bad);
    EXPECT_EQ(error_of(bad), "config.json: linux.resources.pids.limit: not an integer");
}

// Docker's /etc/hosts, /etc/hostname and /etc/resolv.conf binds: served by
// the guest kernel from what the files say, warnings for what it drops.
TEST_F(OciSpec, DockersEtcFilesAreServedByTheGuest) {
    file("hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
                  "172.17.0.2\tbox\n", 0644);
    file("hostname", "box\n", 0644);
    file("resolv.conf", "# from the host\nnameserver 10.0.0.53\nnameserver ::1\n", 0644);
    auto bind = [&](const char* name) {
        return R"({"destination":"/etc/)" + std::string(name) + R"(","type":"bind","source":")" + bundle + "/" +
               name + R"(","options":["rbind","rprivate"]})";
    };
    auto s = parse_spec(config(R"("hostname":"box","mounts":[)" + bind("hosts") + "," + bind("hostname") + "," +
                               bind("resolv.conf") + "]"),
                        bundle);
    ASSERT_TRUE(s) << error_of(s);
    EXPECT_EQ(s->vm.shares.size(), 1u);
    EXPECT_TRUE(s->warnings.empty());
    ASSERT_TRUE(apply_etc_binds(*s));
    EXPECT_TRUE(s->vm.serve_etc_hosts);
    EXPECT_TRUE(s->vm.serve_etc_hostname);
    EXPECT_EQ(s->vm.dns, (std::vector<std::string>{"10.0.0.53", "::1"}));
    EXPECT_TRUE(s->warnings.empty()) << s->warnings[0];

    file("hosts", "127.0.0.1\tlocalhost\n10.1.1.1\tdb.internal\n", 0644);
    file("resolv.conf", "search example.org\nnameserver 10.0.0.53\n", 0644);
    s = parse_spec(config(R"("mounts":[)" + bind("hosts") + "," + bind("resolv.conf") + "]"), bundle);
    ASSERT_TRUE(s) << error_of(s);
    ASSERT_TRUE(apply_etc_binds(*s));
    EXPECT_FALSE(s->vm.serve_etc_hostname);
    ASSERT_EQ(s->warnings.size(), 2u);
    EXPECT_NE(s->warnings[0].find("only its nameserver lines"), std::string::npos);
    EXPECT_NE(s->warnings[1].find("--add-host"), std::string::npos);
}

TEST_F(OciSpec, OomScoreAdjAndInitSignals) {
    auto s = parse_spec(config("", R"({"args":["sh"],"oomScoreAdj":-500})"), bundle);
    ASSERT_TRUE(s) << error_of(s);
    EXPECT_TRUE(s->has_oom_score_adj);
    EXPECT_EQ(s->oom_score_adj, -500);
    EXPECT_TRUE(s->vm.ignore_unhandled_signals);  // the container's init, as runc's pid 1
    EXPECT_EQ(error_of(parse_spec(config("", R"({"args":["sh"],"oomScoreAdj":1001})"), bundle)),
              "config.json: process.oomScoreAdj: must be an integer from -1000 to 1000");
    EXPECT_EQ(error_of(parse_spec(config("", R"({"args":["sh"],"oomScoreAdj":"0"})"), bundle)),
              "config.json: process.oomScoreAdj: must be an integer from -1000 to 1000");
}

TEST_F(OciSpec, ResourcesAndNamespaces) {
    auto s = parse_spec(config(R"("linux":{"resources":{"memory":{"limit":67108864},"pids":{"limit":50}},
        "namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"network"}]})"),
                        bundle);
    ASSERT_TRUE(s) << error_of(s);
    EXPECT_EQ(s->vm.mem_size, 64ull << 20);
    EXPECT_EQ(s->vm.max_procs, 50u);
    EXPECT_EQ(s->vm.net, NetMode::Host);  // a new network namespace of the monitor's: host sockets there
    EXPECT_TRUE(s->new_netns);
    auto host = parse_spec(config(R"("linux":{"namespaces":[{"type":"pid"}]})"), bundle);
    ASSERT_TRUE(host) << error_of(host);
    EXPECT_EQ(host->vm.net, NetMode::Host);  // no network namespace: the host's network, as runc
    EXPECT_FALSE(host->new_netns);
    auto joined = parse_spec(config(R"("linux":{"namespaces":[{"type":"network","path":"/proc/self/ns/net"}]})"), bundle);
    ASSERT_TRUE(joined) << error_of(joined);
    EXPECT_EQ(joined->vm.net, NetMode::Host);
    EXPECT_EQ(joined->netns_path, "/proc/self/ns/net");
    EXPECT_FALSE(joined->new_netns);
}

TEST_F(OciSpec, CpuLimitsBecomeVcpus) {
    auto cpus = [&](const std::string& cpu) {
        auto s = parse_spec(config(R"("linux":{"resources":{"cpu":)" + cpu + "}}"), bundle);
        return s ? static_cast<int>(s->vm.cpus) : -1;
    };
    EXPECT_EQ(cpus(R"({"quota":150000,"period":100000})"), 2);  // 1.5 CPUs: two vCPUs, rounded up
    EXPECT_EQ(cpus(R"({"quota":50000})"), 1);
    EXPECT_EQ(cpus(R"({"cpus":"0-2,5"})"), 4);
    EXPECT_EQ(cpus(R"({"shares":1024})"), static_cast<int>(host_vcpus()));  // no limit: the host's
    EXPECT_EQ(cpus(R"({"cpus":"zero"})"), -1);
    auto many = parse_spec(config(R"("linux":{"resources":{"cpu":{"quota":6400000,"period":100000}}})"), bundle);
    ASSERT_TRUE(many) << error_of(many);
    EXPECT_EQ(many->vm.cpus, 8u);
    ASSERT_EQ(many->warnings.size(), 1u);
    EXPECT_EQ(many->warnings[0], "linux.resources.cpu: 64 CPUs asked for; a VM has at most 8 vCPUs");
    auto none = parse_spec(config(), bundle);
    ASSERT_TRUE(none) << error_of(none);
    EXPECT_EQ(none->vm.cpus, host_vcpus());
}

TEST_F(OciSpec, AnnotationsSetLightvmOptions) {
    auto s = parse_spec(config(R"("annotations":{"io.lightvm.memory":"96M","io.lightvm.timeout":"2.5","other":"x"})"), bundle);
    ASSERT_TRUE(s) << error_of(s);
    EXPECT_EQ(s->vm.mem_size, 96ull << 20);
    EXPECT_DOUBLE_EQ(s->vm.timeout_seconds, 2.5);
    EXPECT_EQ(s->annotations.at("other"), "x");
    EXPECT_NE(error_of(parse_spec(config(R"("annotations":{"io.lightvm.memroy":"96M"})"), bundle)).find("unknown lightvm option"),
              std::string::npos);
}

TEST_F(OciSpec, HooksParsed) {
    auto s = parse_spec(config(R"("hooks":{"prestart":[{"path":"/bin/true","args":["true","x"],"timeout":5}],
        "poststop":[{"path":"/bin/false"}]})"),
                        bundle);
    ASSERT_TRUE(s) << error_of(s);
    ASSERT_EQ(s->hooks.prestart.size(), 1u);
    EXPECT_EQ(s->hooks.prestart[0].args, (std::vector<std::string>{"true", "x"}));
    EXPECT_EQ(s->hooks.prestart[0].timeout_seconds, 5);
    EXPECT_EQ(s->hooks.poststop.size(), 1u);
    EXPECT_NE(error_of(parse_spec(config(R"("hooks":{"prestart":[{"path":"rel"}]})"), bundle)).find("not absolute"),
              std::string::npos);
}

// Every bad input is one line naming the field.
TEST_F(OciSpec, BadConfigsAreOneLineErrors) {
    struct Case {
        std::string text, expect;
    } cases[] = {
        {"{not json", "not valid JSON"},
        {"[]", "not a JSON object"},
        {R"({"root":{"path":"rootfs"},"process":{"args":["sh"]}})", "ociVersion: missing"},
        {R"({"ociVersion":"2.0.0","root":{"path":"rootfs"},"process":{"args":["sh"]}})", "'2.0.0' is not supported"},
        {R"({"ociVersion":"1.0.2","process":{"args":["sh"]}})", "root.path: missing"},
        {R"({"ociVersion":"1.0.2","root":{"path":"nowhere"},"process":{"args":["sh"]}})", "does not exist"},
        {R"({"ociVersion":"1.0.2","root":{"path":"rootfs"}})", "process: missing"},
        {config("", R"({"args":[]})"), "process.args: empty"},
        {config("", R"({"args":["sh"],"cwd":"rel"})"), "is not absolute"},
        {config("", R"({"args":["sh"],"user":{"uid":-1,"gid":1000}})"), "uid and gid must be numbers"},
        {config("", R"({"args":["sh"],"user":{"uid":1,"additionalGids":[1,2,3,4,5]}})"), "lightvm passes at most 3"},
        {config("", R"({"args":["sh"],"env":["NOEQUALS"]})"), "not of the form KEY=VALUE"},
        {config(R"("linux":{"namespaces":[{"type":"bogus"}]})"), "unsupported namespace type 'bogus'"},
        {config(R"("linux":{"namespaces":[{"type":"network","path":"/nonexistent/ns"}]})"), "does not exist"},
        {config(R"("mounts":[{"destination":"/x","type":"bind","source":"/nonexistent-src"}])"), "does not exist"},
        {config(R"("mounts":[{"destination":"rel","type":"tmpfs"}])"), "not absolute"},
        {config(R"("hostname":5)"), "hostname: not a string"},
        {config("", R"({"args":["sh"],"terminal":"yes"})"), "wrong type"},
    };
    for (const auto& c : cases) {
        auto r = parse_spec(c.text, bundle);
        ASSERT_FALSE(r) << c.text;
        std::string e = r.error().to_string();
        EXPECT_NE(e.find(c.expect), std::string::npos) << c.text << " -> " << e;
        EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    }
}

TEST_F(OciSpec, ResolvesArgsZeroInsideTheRoot) {
    file("rootfs/bin/tool", "#!/bin/sh\n", 0755);
    file("rootfs/bin/notexec", "x", 0644);
    ASSERT_EQ(::symlink("/bin/tool", (bundle + "/rootfs/bin/link").c_str()), 0);
    // An absolute symlink names a path in the container, never the host's.
    ASSERT_EQ(::symlink("/etc/passwd", (bundle + "/rootfs/bin/escape").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../../../../bin/sh", (bundle + "/rootfs/bin/dotdot").c_str()), 0);
    auto spec = [&](const std::string& arg0) {
        auto s = parse_spec(config("", R"({"args":[")" + arg0 + R"("],"env":["PATH=/usr/bin:/bin"]})"), bundle);
        EXPECT_TRUE(s) << error_of(s);
        return *s;
    };
    auto a = resolve_app(spec("tool"));
    ASSERT_TRUE(a) << a.error().to_string();
    EXPECT_EQ(a->guest_path, "/bin/tool");
    ::close(a->fd);
    auto b = resolve_app(spec("/bin/link"));
    ASSERT_TRUE(b) << b.error().to_string();
    ::close(b->fd);
    EXPECT_FALSE(resolve_app(spec("notexec")));
    EXPECT_FALSE(resolve_app(spec("missing")));
    EXPECT_FALSE(resolve_app(spec("/bin/escape")));
    EXPECT_FALSE(resolve_app(spec("/bin/dotdot")));
    EXPECT_NE(resolve_app(spec("missing")).error().to_string().find("not found in the container's root"),
              std::string::npos);
}

TEST(OciIds, ContainerIdsNameOneDirectory) {
    EXPECT_TRUE(check_container_id("abc-1_2.3+x"));
    for (const char* bad : {"", ".", "..", "a/b", "../x", "-x", "a b", "a\nb"})
        EXPECT_FALSE(check_container_id(bad)) << bad;
    EXPECT_FALSE(check_container_id(std::string(1025, 'a')));
}

TEST(OciSignals, NamesAndNumbers) {
    EXPECT_EQ(parse_signal("9"), 9);
    EXPECT_EQ(parse_signal("KILL"), 9);
    EXPECT_EQ(parse_signal("SIGTERM"), 15);
    EXPECT_EQ(parse_signal("SIGUSR1"), 10);
    EXPECT_EQ(parse_signal("0"), 0);
    EXPECT_EQ(parse_signal("NOPE"), 0);
    EXPECT_EQ(parse_signal("9x"), 0);
}

}  // namespace

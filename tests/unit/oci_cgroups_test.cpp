// lightvm-oci's cgroups (src/oci/cgroups): naming the cgroup from
// linux.cgroupsPath, linux.resources, and the v1 and v2 layouts over fake
// directory trees (regular files stand in for cgroupfs's; the real v1 tree
// is exercised by tests/system/oci_test.sh).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "oci/cgroups/cgroup.hpp"
#include "oci/cgroups/files.hpp"
#include "oci/cgroups/path.hpp"
#include "oci/cgroups/resources.hpp"

using namespace lightvm;
using namespace lightvm::oci::cgroups;
using json = nlohmann::json;

namespace {

TEST(OciCgroupPath, CgroupfsFormIsBelowTheRoot) {
    EXPECT_EQ(*cgroup_path("/docker/abc", "abc", false), "/docker/abc");
    EXPECT_EQ(*cgroup_path("docker//abc/", "abc", false), "/docker/abc");
    EXPECT_EQ(*cgroup_path("", "c1", false), "/c1");
    EXPECT_FALSE(cgroup_path("/docker/../../etc", "c1", false));
    EXPECT_FALSE(cgroup_path("/", "c1", false));
}

TEST(OciCgroupPath, SystemdFormIsWhereSystemdPutsTheScope) {
    EXPECT_EQ(*cgroup_path("system.slice:docker:abc", "abc", true), "/system.slice/docker-abc.scope");
    EXPECT_EQ(*cgroup_path("kubepods-besteffort-pod1.slice:cri-containerd:x", "x", true),
              "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-x.scope");
    EXPECT_EQ(*cgroup_path(":docker:abc", "abc", true), "/system.slice/docker-abc.scope");
    EXPECT_EQ(*cgroup_path("-.slice:p:n", "n", true), "/p-n.scope");
    EXPECT_EQ(*cgroup_path("user.slice::my.slice", "c", true), "/user.slice/my.slice");
    EXPECT_EQ(*cgroup_path("", "c1", true), "/system.slice/lightvm-oci-c1.scope");
    EXPECT_FALSE(cgroup_path("/docker/abc", "abc", true));          // not slice:prefix:name
    EXPECT_FALSE(cgroup_path("system:docker:abc", "abc", true));    // not a slice
    EXPECT_FALSE(cgroup_path("a--b.slice:p:n", "n", true));
    EXPECT_FALSE(cgroup_path("system.slice:docker:", "abc", true));  // no name
    EXPECT_EQ(*expand_slice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
}

TEST(OciResources, ParsesTheSpecFields) {
    auto r = parse_resources(json::parse(R"({"memory":{"limit":268435456,"reservation":1048576,"swap":-1},
        "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0-1","mems":"0"},
        "pids":{"limit":100},"blockIO":{"weight":300}})"));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(*r->memory_limit, 268435456);
    EXPECT_EQ(*r->memory_reservation, 1048576);
    EXPECT_EQ(*r->memory_swap, -1);
    EXPECT_EQ(*r->cpu_shares, 512u);
    EXPECT_EQ(*r->cpu_quota, 50000);
    EXPECT_EQ(*r->cpu_period, 100000u);
    EXPECT_EQ(*r->cpuset_cpus, "0-1");
    EXPECT_EQ(*r->pids_limit, 100);
    EXPECT_EQ(*r->blkio_weight, 300u);
    EXPECT_TRUE(r->warnings.empty());
}

TEST(OciResources, ZeroAndAbsentAreUnsetAndUnappliedFieldsWarn) {
    auto r = parse_resources(json::parse(R"({"memory":{"limit":0,"kernel":1024},"cpu":{"shares":0},
        "hugepageLimits":[{"pageSize":"2MB","limit":1}],"devices":[]})"));
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->memory_limit);
    EXPECT_FALSE(r->cpu_shares);
    ASSERT_EQ(r->warnings.size(), 2u);
    EXPECT_NE(r->warnings[0].find("memory.kernel"), std::string::npos);
    EXPECT_NE(r->warnings[1].find("hugepageLimits"), std::string::npos);
}

TEST(OciResources, WrongTypesAreOneLineErrors) {
    auto a = parse_resources(json::parse(R"({"memory":{"limit":"1g"}})"));
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().to_string(), "linux.resources.memory.limit: not an integer");
    EXPECT_FALSE(parse_resources(json::parse(R"({"cpu":[]})")));
    EXPECT_FALSE(parse_resources(json::parse(R"({"cpu":{"shares":-5}})")));
    EXPECT_FALSE(parse_resources(json::parse(R"({"blockIO":{"weight":5}})")));
    EXPECT_FALSE(parse_resources(json::parse(R"([1])")));
}

TEST(OciResources, HostLimitsLeaveRoomForTheMonitor) {
    Resources r;
    r.memory_limit = 256 << 20;
    r.memory_swap = 512 << 20;
    r.pids_limit = 10;
    r.cpu_quota = 50000;
    Resources h = host_limits(r, 256 << 20);
    const int64_t extra = static_cast<int64_t>(monitor_memory_overhead(256 << 20));
    EXPECT_GT(extra, 0);
    EXPECT_EQ(*h.memory_limit, (256 << 20) + extra);
    EXPECT_EQ(*h.memory_swap, (512 << 20) + extra);
    EXPECT_EQ(*h.pids_limit, 10 + kMonitorTasks);
    EXPECT_EQ(*h.cpu_quota, 50000);
    r.memory_limit = -1;
    EXPECT_EQ(*host_limits(r, 256 << 20).memory_limit, -1);
}

TEST(OciResources, MergeTakesTheNewerFields) {
    Resources a, b;
    a.memory_limit = 1;
    a.cpu_shares = 2;
    b.cpu_shares = 3;
    merge(a, b);
    EXPECT_EQ(*a.memory_limit, 1);
    EXPECT_EQ(*a.cpu_shares, 3u);
}

// A fake hierarchy under /tmp: directories and the files cgroupfs would have.
class OciCgroupTree : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/oci-cgroups-test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root = tmpl;
    }
    void TearDown() override { std::system(("rm -rf " + root).c_str()); }
    void put(const std::string& rel, const std::string& text) { std::ofstream(root + rel) << text; }
    std::string get(const std::string& rel) {
        std::stringstream s;
        s << std::ifstream(root + rel).rdbuf();
        return s.str();
    }
    void mkdir(const std::string& rel) { ASSERT_EQ(::mkdir((root + rel).c_str(), 0755), 0) << rel; }
    std::string root;
};

TEST_F(OciCgroupTree, V2CreateEnablesControllersDownToTheLeaf) {
    put("/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
    put("/cgroup.subtree_control", "");
    Cgroup cg({Version::V2, root}, "/docker/c1");
    ASSERT_TRUE(cg.create());
    EXPECT_EQ(get("/cgroup.subtree_control"), "+cpuset +cpu +io +memory +pids");
    struct stat st;
    EXPECT_EQ(::stat((root + "/docker/c1").c_str(), &st), 0);
    EXPECT_EQ(cg.made().size(), 2u);
    EXPECT_EQ(cg.dirs(), std::vector<std::string>{root + "/docker/c1"});
}

TEST_F(OciCgroupTree, V2ApplyWritesV2Files) {
    mkdir("/c1");
    for (const char* f : {"memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max", "pids.max",
                          "cpuset.cpus", "io.weight", "cgroup.procs"})
        put(std::string("/c1/") + f, "");
    put("/c1/cpu.max", "max 100000\n");
    Cgroup cg({Version::V2, root}, "/c1");
    Resources r;
    r.memory_limit = 300 << 20;
    r.memory_swap = 400 << 20;
    r.memory_reservation = 100 << 20;
    r.cpu_shares = 1024;
    r.cpu_quota = 50000;
    r.pids_limit = -1;
    r.cpuset_cpus = "0";
    r.blkio_weight = 500;
    std::vector<std::string> warnings;
    ASSERT_TRUE(cg.apply(r, warnings));
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(get("/c1/memory.max"), std::to_string(300 << 20));
    EXPECT_EQ(get("/c1/memory.swap.max"), std::to_string(100 << 20));  // swap alone
    EXPECT_EQ(get("/c1/memory.low"), std::to_string(100 << 20));
    EXPECT_EQ(get("/c1/cpu.weight"), "39");  // runc's conversion of 1024
    EXPECT_EQ(get("/c1/cpu.max"), "50000 100000");
    EXPECT_EQ(get("/c1/pids.max"), "max");
    EXPECT_EQ(get("/c1/cpuset.cpus"), "0");
    EXPECT_EQ(get("/c1/io.weight"), "default " + std::to_string(v2::blkio_to_io_weight(500)));
    // A later update of the period keeps the quota in force.
    Resources p;
    p.cpu_period = 200000;
    ASSERT_TRUE(cg.apply(p, warnings));
    EXPECT_EQ(get("/c1/cpu.max"), "50000 200000");
    // Swap below memory is an error, not a negative swap.
    Resources bad;
    bad.memory_swap = 1 << 20;
    EXPECT_FALSE(cg.apply(bad, warnings));
    ASSERT_TRUE(cg.join(4242));
    EXPECT_EQ(get("/c1/cgroup.procs"), "4242");
}

TEST_F(OciCgroupTree, V2MissingControllerFileIsAWarning) {
    mkdir("/c1");
    Cgroup cg({Version::V2, root}, "/c1");
    Resources r;
    r.pids_limit = 5;
    std::vector<std::string> warnings;
    ASSERT_TRUE(cg.apply(r, warnings));
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("pids.max"), std::string::npos);
}

TEST_F(OciCgroupTree, V2StatsHaveRuncsShape) {
    mkdir("/c1");
    put("/c1/memory.current", "123456\n");
    put("/c1/memory.max", "max\n");
    put("/c1/memory.stat", "anon 1000\nfile 2000\nshmem 3000\n");
    put("/c1/cpu.stat", "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 7\nnr_throttled 2\n"
                        "throttled_usec 10\n");
    put("/c1/pids.current", "3\n");
    put("/c1/pids.max", "40\n");
    json s = Cgroup({Version::V2, root}, "/c1").stats();
    EXPECT_EQ(s["memory"]["usage"]["usage"], 123456u);
    EXPECT_EQ(s["memory"]["usage"]["limit"], ~0ull);
    EXPECT_EQ(s["memory"]["cache"], 2000u);
    EXPECT_EQ(s["memory"]["raw"]["shmem"], 3000u);
    EXPECT_EQ(s["cpu"]["usage"]["total"], 5000000u);
    EXPECT_EQ(s["cpu"]["usage"]["user"], 3000000u);
    EXPECT_EQ(s["cpu"]["throttling"]["throttledPeriods"], 2u);
    EXPECT_EQ(s["pids"]["current"], 3u);
    EXPECT_EQ(s["pids"]["limit"], 40u);
}

TEST_F(OciCgroupTree, V1CreateMakesOneDirPerControllerAndCpusetInherits) {
    for (const char* c : {"/memory", "/cpu", "/cpuacct", "/pids", "/cpuset"})
        mkdir(c);
    put("/cpuset/cpuset.cpus", "0-3\n");
    put("/cpuset/cpuset.mems", "0\n");
    Cgroup cg({Version::V1, root}, "/docker/c1");
    // cgroupfs would make the new cpuset's files; the fake cannot, so
    // create fails there and removes every directory it made.
    EXPECT_FALSE(cg.create());
    struct stat st;
    EXPECT_NE(::stat((root + "/memory/docker").c_str(), &st), 0);
    EXPECT_EQ(cg.made().size(), 0u);
    EXPECT_EQ(cg.dirs().size(), 5u);
    // With the files there (pre-made), it inherits the parent's.
    mkdir("/cpuset/docker");
    put("/cpuset/docker/cpuset.cpus", "");
    put("/cpuset/docker/cpuset.mems", "");
    ASSERT_TRUE(v1::init_cpuset(root + "/cpuset/docker"));
    EXPECT_EQ(get("/cpuset/docker/cpuset.cpus"), "0-3\n");
}

TEST_F(OciCgroupTree, V1ApplyAndStats) {
    for (const char* c : {"/memory", "/memory/c1", "/cpu", "/cpu/c1", "/cpuacct", "/cpuacct/c1", "/pids", "/pids/c1"})
        mkdir(c);
    for (const char* f : {"/memory/c1/memory.limit_in_bytes", "/memory/c1/memory.memsw.limit_in_bytes",
                          "/memory/c1/memory.soft_limit_in_bytes", "/cpu/c1/cpu.shares", "/cpu/c1/cpu.cfs_quota_us",
                          "/cpu/c1/cpu.cfs_period_us", "/pids/c1/pids.max"})
        put(f, "");
    Cgroup cg({Version::V1, root}, "/c1");
    Resources r;
    r.memory_limit = 1 << 30;
    r.memory_swap = -1;
    r.cpu_shares = 512;
    r.cpu_quota = 150000;
    r.cpu_period = 100000;
    r.pids_limit = 42;
    r.blkio_weight = 100;  // no blkio here: a warning
    std::vector<std::string> warnings;
    ASSERT_TRUE(cg.apply(r, warnings));
    EXPECT_EQ(get("/memory/c1/memory.limit_in_bytes"), std::to_string(1 << 30));
    EXPECT_EQ(get("/memory/c1/memory.memsw.limit_in_bytes"), "-1");
    EXPECT_EQ(get("/cpu/c1/cpu.shares"), "512");
    EXPECT_EQ(get("/cpu/c1/cpu.cfs_quota_us"), "150000");
    EXPECT_EQ(get("/pids/c1/pids.max"), "42");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("blkio"), std::string::npos);

    put("/memory/c1/memory.usage_in_bytes", "5000\n");
    put("/memory/c1/memory.stat", "cache 100\nrss 200\n");
    put("/cpuacct/c1/cpuacct.usage", "999\n");
    put("/cpuacct/c1/cpuacct.usage_percpu", "500 499 \n");
    put("/cpuacct/c1/cpuacct.stat", "user 3\nsystem 1\n");
    put("/pids/c1/pids.current", "2\n");
    json s = cg.stats();
    EXPECT_EQ(s["memory"]["usage"]["usage"], 5000u);
    EXPECT_EQ(s["memory"]["usage"]["limit"], uint64_t(1) << 30);
    EXPECT_EQ(s["memory"]["cache"], 100u);
    EXPECT_EQ(s["cpu"]["usage"]["total"], 999u);
    EXPECT_EQ(s["cpu"]["usage"]["percpu"], json::array({500, 499}));
    EXPECT_EQ(s["cpu"]["usage"]["user"], 3u * (1000000000u / static_cast<unsigned>(::sysconf(_SC_CLK_TCK))));
    EXPECT_EQ(s["pids"]["current"], 2u);
}

TEST_F(OciCgroupTree, DetectTellsV1FromV2AndRefusesOthers) {
    EXPECT_FALSE(detect("/proc"));  // procfs: neither layout
    EXPECT_FALSE(detect(root + "/missing"));
    // The host's own: a v2 root has cgroup.controllers, a v1 tmpfs has not.
    struct stat st;
    if (::stat("/sys/fs/cgroup", &st) != 0)
        GTEST_SKIP() << "no /sys/fs/cgroup";
    auto real = detect("/sys/fs/cgroup");
    ASSERT_TRUE(real) << real.error().to_string();
    const bool v2_root = ::stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
    EXPECT_EQ(real->version, v2_root ? Version::V2 : Version::V1);
}

}  // namespace

namespace {

// The real kernel's cgroup2 where one is mounted and writable (root): the
// hybrid layout's unified/ (no controllers: limits are warnings) or a pure
// v2 /sys/fs/cgroup. A child joins, the statistics read, the cgroup goes.
TEST(OciCgroupRealV2, CreateJoinStatsRemove) {
    std::string mount;
    for (const char* m : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
        auto h = detect(m);
        if (h && h->version == Version::V2 && ::access(m, W_OK) == 0) {
            mount = m;
            break;
        }
    }
    if (mount.empty())
        GTEST_SKIP() << "no writable cgroup2 mount";
    const std::string path = "/lightvm-oci-unit-" + std::to_string(::getpid()) + "/c1";
    Cgroup cg({Version::V2, mount}, path);
    auto made = cg.create();
    ASSERT_TRUE(made) << made.error().to_string();
    pid_t child = ::fork();
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    auto joined = cg.join(child);
    EXPECT_TRUE(joined) << (joined ? "" : joined.error().to_string());
    EXPECT_NE(read_text(mount + path + "/cgroup.procs").value_or("").find(std::to_string(child)), std::string::npos);
    Resources r;
    r.pids_limit = 10;
    std::vector<std::string> warnings;
    EXPECT_TRUE(cg.apply(r, warnings));  // applied, or a warning where pids is not enabled
    EXPECT_EQ(warnings.empty(), exists(mount + path + "/pids.max"));
    json s = cg.stats();
    EXPECT_TRUE(s.contains("memory") && s.contains("cpu") && s.contains("pids"));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    EXPECT_TRUE(cg.remove());
    EXPECT_FALSE(exists(mount + path));
    ::rmdir((mount + "/lightvm-oci-unit-" + std::to_string(::getpid())).c_str());
}

}  // namespace

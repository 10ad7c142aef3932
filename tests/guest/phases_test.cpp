// The phase API (include/lightvm/vm.hpp) as a pool uses it: shell first,
// workload later, and a shell is never loaded twice.
#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <sstream>

#include "guest_test_util.hpp"
#include "lightvm/vm.hpp"
#include "monitor/kernel_file.hpp"
#include "monitor/layout.hpp"

namespace lightvm::test {
namespace {

int memfd(const char* name) { return ::memfd_create(name, MFD_CLOEXEC); }

struct Captured {
    UniqueFd in{memfd("in")}, out{memfd("out")}, err{memfd("err")};
    VmConfig config(const std::string& prog, std::vector<std::string> args = {}) {
        VmConfig c;
        c.app_path = guest_path(prog);
        c.argv.push_back(c.app_path);
        for (auto& a : args)
            c.argv.push_back(a);
        c.mem_size = 64ull << 20;
        c.stdin_fd = in.get();
        c.stdout_fd = out.get();
        c.stderr_fd = err.get();
        c.diag_fd = err.get();
        return c;
    }
};

class Phases : public ::testing::Test {
protected:
    void SetUp() override { REQUIRE_KVM(); }
};

TEST_F(Phases, ShellMadeBeforeTheWorkloadRunsIt) {
    Captured io;
    auto vm = Vm::create(VmShape{64ull << 20, 1});
    ASSERT_TRUE(vm) << vm.error().to_string();
    EXPECT_FALSE(vm->loaded());
    auto work = Workload::prepare(io.config("hello.musl", {"a", "b"}));
    ASSERT_TRUE(work) << work.error().to_string();
    ASSERT_TRUE(vm->load(std::move(*work)));
    EXPECT_TRUE(vm->loaded());
    auto report = vm->run();
    ASSERT_TRUE(report) << report.error().to_string();
    EXPECT_EQ(report->outcome.status, 0);
    EXPECT_EQ(read_back(io.out.get()).substr(0, 27), "Hello from a lightvm guest!");
    EXPECT_GT(report->stats.app_entry_ns, report->stats.image_ready_ns);
}

// A shell's guest kernel text and read-only data are a private
// (copy-on-write) mapping of the executable that embeds the kernel, at the
// blob's offset: one page-cache copy for every VM on the host, not a copy
// in each VM's RAM. The run afterwards proves the mapped kernel boots.
TEST_F(Phases, KernelTextIsMappedFromTheExecutable) {
    auto blob = embedded_kernel();
    auto file = kernel_file(blob);
    ASSERT_TRUE(file) << "the embedded kernel is not page-aligned in the executable";
    auto vm = Vm::create(VmShape{64ull << 20, 1});
    ASSERT_TRUE(vm) << vm.error().to_string();
    char exe[PATH_MAX] = {};
    ASSERT_GT(::readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
    std::ifstream maps("/proc/self/maps");
    uint64_t mapped = 0;
    for (std::string line; std::getline(maps, line);) {
        std::istringstream in(line);
        std::string range, perms, offset, dev, inode, path;
        in >> range >> perms >> offset >> dev >> inode >> path;
        const uint64_t off = std::stoull(offset, nullptr, 16);
        if (path == exe && perms == "rw-p" && off >= file->offset && off < file->offset + blob.size()) {
            const auto dash = range.find('-');
            mapped += std::stoull(range.substr(dash + 1), nullptr, 16) - std::stoull(range.substr(0, dash), nullptr, 16);
        }
    }
    EXPECT_GE(mapped, 64u << 10) << "no private mapping of " << exe << " inside the kernel blob";
    Captured io;
    auto work = Workload::prepare(io.config("hello.musl", {}));
    ASSERT_TRUE(work) << work.error().to_string();
    ASSERT_TRUE(vm->load(std::move(*work)));
    auto report = vm->run();
    ASSERT_TRUE(report) << report.error().to_string();
    EXPECT_EQ(report->outcome.status, 0);
}

TEST_F(Phases, AShellIsNeverLoadedTwice) {
    Captured io;
    auto vm = Vm::create(VmShape{64ull << 20, 1});
    ASSERT_TRUE(vm) << vm.error().to_string();
    ASSERT_TRUE(vm->load(*Workload::prepare(io.config("noop.musl"))));
    auto again = vm->load(*Workload::prepare(io.config("noop.musl")));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().to_string(), "load: this VM shell was already used; shells are never reused");
    ASSERT_TRUE(vm->run());
    auto rerun = vm->run();
    ASSERT_FALSE(rerun);
    EXPECT_EQ(rerun.error().to_string(), "run: this VM has already run");
    EXPECT_FALSE(vm->load(*Workload::prepare(io.config("noop.musl"))));
}

TEST_F(Phases, RunWithoutWorkloadAndWrongShapeAreRefused) {
    Captured io;
    auto vm = Vm::create(VmShape{32ull << 20, 1});
    ASSERT_TRUE(vm) << vm.error().to_string();
    auto run = vm->run();
    ASSERT_FALSE(run);
    EXPECT_EQ(run.error().to_string(), "run: no workload loaded");
    auto load = vm->load(*Workload::prepare(io.config("noop.musl")));
    ASSERT_FALSE(load);
    EXPECT_EQ(load.error().to_string(), "load: workload needs 64 MiB, shell has 32 MiB");
    auto two = Vm::create(VmShape{64ull << 20, 2});
    ASSERT_FALSE(two);
    EXPECT_EQ(two.error().to_string(), "shape: only 1 vCPU per VM is supported");
}

TEST_F(Phases, BadAppFailsInPrepareWithoutAShell) {
    Captured io;
    auto work = Workload::prepare(io.config("/nonexistent/app"));
    ASSERT_FALSE(work);
    EXPECT_EQ(work.error().kind, ErrorKind::NotFound);
}

TEST_F(Phases, BeforeRunHookRunsBetweenLoadAndRun) {
    Captured io;
    bool called = false;
    RunHooks hooks;
    hooks.before_run = [&](Vm& vm) -> Result<void> {
        called = vm.loaded();
        return {};
    };
    auto report = run_vm(io.config("noop.musl"), hooks);
    ASSERT_TRUE(report) << report.error().to_string();
    EXPECT_TRUE(called);
    hooks.before_run = [](Vm&) -> Result<void> { return make_error(ErrorKind::System, "sandbox", "refused"); };
    auto refused = run_vm(io.config("hello.musl"), hooks);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().to_string(), "sandbox: refused");
    EXPECT_EQ(read_back(io.out.get()), "") << "the guest must not have run";
}

}  // namespace
}  // namespace lightvm::test

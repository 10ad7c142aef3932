// The phase API (include/lightvm/vm.hpp) as a pool uses it: shell first,
// workload later, and a shell is never loaded twice.
#include <sys/mman.h>
#include <unistd.h>

#include "guest_test_util.hpp"
#include "lightvm/vm.hpp"

namespace lightvm::test {
namespace {

int memfd(const char* name) { return ::memfd_create(name, MFD_CLOEXEC); }

std::string read_back(int fd) {
    std::string s;
    char buf[4096];
    ssize_t n;
    ::lseek(fd, 0, SEEK_SET);
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        s.append(buf, static_cast<size_t>(n));
    return s;
}

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

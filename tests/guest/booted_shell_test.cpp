// Booted shells (ShellOptions::boot_kernel, docs/design.md "Booted
// shells"): the guest kernel boots before its workload is known and parks;
// what the workload then sees must be exactly what a fresh shell gives it.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "guest_test_util.hpp"
#include "lightvm/vm.hpp"
#include "snapshot/format.hpp"

namespace lightvm::test {
namespace {

constexpr uint64_t kMem = 64ull << 20;

struct Output {
    std::string out, err;
    RunReport report;
};

class BootedShell : public ::testing::Test {
protected:
    void SetUp() override {
        REQUIRE_KVM();
        char tmpl[] = "/tmp/lightvm-booted-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        ::chmod(tmpl, 0777);  // --user 1000 works in it
        std::ofstream(dir + "/note.txt") << "from the host\n";
    }
    void TearDown() override {
        if (!dir.empty())
            (void)std::system(("rm -rf " + dir).c_str());
    }

    // A config that touches every part of the workload the kernel learns
    // after it parked: argv/env, ids, CPUs, a share, the working directory,
    // the hostname, memory totals, stdio.
    VmConfig config(const std::string& script) {
        VmConfig c;
        c.app_path = "/bin/busybox";
        c.argv = {"busybox", "sh", "-c", script};
        c.env = {"GREETING=hello", "PATH=/bin"};
        c.mem_size = kMem;
        c.cpus = 2;
        c.user.uid = 1000;
        c.user.gid = 100;
        c.shares.push_back(ShareSpec{dir, "/data", false});
        c.cwd = "/data";
        c.hostname = "booted";
        return c;
    }

    Result<Output> run(VmConfig c, const ShellOptions& options) {
        UniqueFd in(::memfd_create("in", MFD_CLOEXEC)), out(::memfd_create("out", MFD_CLOEXEC)),
            err(::memfd_create("err", MFD_CLOEXEC));
        c.stdin_fd = in.get();
        c.stdout_fd = out.get();
        c.stderr_fd = c.diag_fd = err.get();
        auto vm = TRY(Vm::create(VmShape{kMem, 1}, options));
        if (vm.booted() != options.boot_kernel)
            return make_error(ErrorKind::System, "test", "booted() does not say how the shell was made");
        auto work = TRY(Workload::prepare(std::move(c)));
        TRY(vm.load(std::move(work)));
        auto report = TRY(vm.run());
        return Output{read_back(out.get()), read_back(err.get()), std::move(report)};
    }

    std::string dir;
};

TEST_F(BootedShell, WorkloadSeesWhatAFreshShellGives) {
    if (::access("/bin/busybox", X_OK) != 0)
        GTEST_SKIP() << "SKIPPED: /bin/busybox (busybox-static) is not installed";
    const std::string script =
        "echo pid=$$ args=$# $GREETING; id; nproc; pwd; hostname; cat note.txt; echo written > out.txt;"
        "grep MemTotal /proc/meminfo; ls /; exit 7";
    auto fresh = run(config(script), {});
    ASSERT_TRUE(fresh) << fresh.error().to_string();
    std::remove((dir + "/out.txt").c_str());
    auto booted = run(config(script), ShellOptions{true, 256 << 10});
    ASSERT_TRUE(booted) << booted.error().to_string();
    EXPECT_EQ(fresh->report.outcome.status, 7) << fresh->err;
    EXPECT_EQ(booted->report.outcome.status, 7) << booted->err;
    EXPECT_EQ(booted->out, fresh->out);
    EXPECT_EQ(booted->err, fresh->err);
    EXPECT_NE(fresh->out.find("uid=1000 gid=100"), std::string::npos) << fresh->out;
    EXPECT_NE(fresh->out.find("\n2\n/data\nbooted\nfrom the host\n"), std::string::npos) << fresh->out;
    std::ifstream written(dir + "/out.txt");
    std::string line;
    EXPECT_TRUE(std::getline(written, line) && line == "written");
    EXPECT_EQ(booted->report.stats.exits.hypercalls[abi::kHcPark], 0u);
}

// The park is the shell's exit, not the workload's: a no-op program makes
// its one exit either way, and reaches its entry point.
TEST_F(BootedShell, StartCostsTheWorkloadsExitsOnly) {
    for (const char* prog : {"noop.musl", "noop.glibc"}) {
        VmConfig c;
        c.app_path = guest_path(prog);
        c.argv = {c.app_path};
        c.mem_size = kMem;
        auto booted = run(c, ShellOptions{true, 256 << 10});
        ASSERT_TRUE(booted) << booted.error().to_string();
        EXPECT_EQ(booted->report.outcome.status, 0) << booted->err;
        EXPECT_EQ(booted->report.stats.exits.total, 1u) << prog;
        EXPECT_GT(booted->report.stats.app_entry_ns, booted->report.stats.kernel_entry_ns);
    }
}

// The program's file sits at the top of RAM and its frames below: a file
// that leaves just the minimum of frames still runs, in either kind of shell.
TEST_F(BootedShell, LargeProgramInASmallGuest) {
    for (bool boot : {false, true}) {
        VmConfig c;
        c.app_path = guest_path("hello.glibc");
        c.argv = {c.app_path};
        c.mem_size = 16ull << 20;
        UniqueFd out(::memfd_create("out", MFD_CLOEXEC)), err(::memfd_create("err", MFD_CLOEXEC));
        c.stdin_fd = -1;
        c.stdout_fd = out.get();
        c.stderr_fd = c.diag_fd = err.get();
        auto vm = Vm::create(VmShape{16ull << 20, 1}, ShellOptions{boot, 0});
        ASSERT_TRUE(vm) << vm.error().to_string();
        auto work = Workload::prepare(std::move(c));
        ASSERT_TRUE(work) << work.error().to_string();
        ASSERT_TRUE(vm->load(std::move(*work)));
        auto r = vm->run();
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_EQ(r->outcome.status, 0) << read_back(err.get());
        EXPECT_EQ(read_back(out.get()).substr(0, 27), "Hello from a lightvm guest!");
    }
}

// A snapshot brings a kernel of its own: a shell whose kernel already runs
// cannot take it (lightvmd's monitor makes a fresh shell for a restore).
TEST_F(BootedShell, RefusesASnapshotRestore) {
    VmConfig c;
    c.app_path = guest_path("noop.musl");
    c.argv = {c.app_path};
    c.mem_size = kMem;
    UniqueFd state(::open((dir + "/snap").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    UniqueFd mem(::open((dir + "/snap.mem").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    {
        RunOptions o;
        o.mem_size = kMem;
        o.save = SaveSpec{state.get(), mem.get(), 0.05, true, snapshot::host_boot_id()};
        GuestRun saved = run_guest("counter.musl", {"5", "50"}, "", o);
        ASSERT_TRUE(saved.ok && saved.saved) << saved.error << saved.report;
    }
    VmConfig r = c;
    r.restore_path = dir + "/snap";
    auto work = Workload::prepare(std::move(r));
    ASSERT_TRUE(work) << work.error().to_string();
    auto vm = Vm::create(VmShape{kMem, 1}, ShellOptions{true, 0});
    ASSERT_TRUE(vm) << vm.error().to_string();
    auto loaded = vm->load(std::move(*work));
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().to_string(),
              "load: a snapshot cannot be restored into a shell whose kernel already booted");
}

}  // namespace
}  // namespace lightvm::test

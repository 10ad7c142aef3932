// Helpers for guest tests: boot a real VM through lightvm::run_vm with the
// guest's stdin/stdout/stderr and the monitor's diagnostics captured in
// memory, and run host programs natively for comparison.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kvm/kvm.hpp"
#include "monitor/vm.hpp"

namespace lightvm::test {

// Empty when KVM can run guests here, else why not (checked once).
const std::string& kvm_unusable_reason();

// Skips the current test loudly when /dev/kvm cannot be used.
#define REQUIRE_KVM()                                                                            \
    do {                                                                                         \
        if (!::lightvm::test::kvm_unusable_reason().empty())                                     \
            GTEST_SKIP() << "SKIPPED: /dev/kvm not available (guest tests need KVM): "           \
                         << ::lightvm::test::kvm_unusable_reason();                              \
    } while (0)

struct RunOptions {
    std::vector<std::string> env;     // "K=V"
    uint64_t mem_size = 256ull << 20;
    double timeout_seconds = 0;
    bool trace = false;
    bool stats = false;
    bool test_hooks = false;          // enable the guest kernel's test-hook syscall
    bool no_aslr = false;             // --no-aslr
    uint32_t max_procs = 1024;        // --pids
    uint32_t cpus = 1;                // --cpus
    std::string argv0;                // default: the app path
    // Instead of capturing: wire the guest's stdout to this host fd (e.g. a
    // /dev/null or pty fd the caller owns). out is then empty.
    int stdout_fd = -1;
    int stdin_fd = -1;                // likewise for stdin (stdin_data is then unused)
    bool merge_stderr = false;        // guest stderr into the same capture as stdout (like 2>&1)
    std::vector<ShareSpec> shares;    // host directories (--fs, --rootfs is guest_path "/")
    std::vector<DiskSpec> disks;      // block devices (--disk): /dev/vda, /dev/vdb, ...
    std::vector<TmpfsSpec> tmpfs;     // --tmpfs (besides the default /tmp and /dev/shm)
    std::string cwd;                  // guest working directory; empty: VmConfig's default ("/")
    IrqTestConfig irq_test;           // interrupt test knobs (doorbells, guest timer, masked boot)
    NetMode net = NetMode::None;      // --net
    std::vector<PublishSpec> publish; // -p
    SaveSpec save;                    // --save (fds owned by the caller)
    std::string restore_path;         // --restore: prog_file and args are then ignored
};

struct GuestRun {
    bool ok = false;           // run_vm returned a RunReport
    std::string error;         // Error::to_string() when !ok
    ErrorKind error_kind = ErrorKind::System;
    int status = -1;
    int signal = 0;
    bool timed_out = false;
    std::string report;        // Outcome::report: one line for faults and stops
    std::string out;           // guest stdout
    std::string err;           // guest stderr
    std::string diag;          // --trace lines and monitor diagnostics
    RunStats stats;
    bool saved = false;        // --save happened
    double wall_ms = 0;        // run_vm wall time
};

// Absolute path of a test guest program ("hello.glibc" -> <build>/guests/hello.glibc);
// absolute paths are returned unchanged.
std::string guest_path(const std::string& prog_file);

// Boot prog_file in a fresh VM with argv = {path, args...}.
GuestRun run_guest(const std::string& prog_file, std::vector<std::string> args, std::string stdin_data = "",
                   RunOptions opts = {});

struct HostRun {
    int status = -1;  // exit status, or 128+N when killed by signal N
    std::string out;
    std::string err;
};

// Run argv natively on the host (argv[0] is the program path), stdin from
// stdin_data; stdout/stderr captured.
HostRun run_host(const std::vector<std::string>& argv, const std::string& stdin_data = "");

// Deterministic pseudo-random bytes for input data.
std::string random_bytes(size_t n, uint64_t seed);

// Everything in the file behind fd, from its start (a memfd the guest's
// stdout or stderr went to).
std::string read_back(int fd);

// Short human summary of a run, for assertion messages.
std::string describe(const GuestRun& r);

// Debian's busybox-static: real, unmodified binaries for guest tests.
inline constexpr const char* kBusybox = "/usr/bin/busybox";
// Empty if busybox can be used here, else a loud SKIPPED reason.
std::string busybox_missing();

}  // namespace lightvm::test

#define REQUIRE_BUSYBOX()                                   \
    do {                                                    \
        REQUIRE_KVM();                                      \
        std::string why_ = ::lightvm::test::busybox_missing(); \
        if (!why_.empty())                                  \
            GTEST_SKIP() << why_;                           \
    } while (0)

#include <sys/stat.h>
#include "guest_test_util.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "common/unique_fd.hpp"

extern char** environ;

namespace lightvm::test {

namespace {

UniqueFd make_memfd(const char* name, const std::string& contents = "") {
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
    if (!fd.valid())
        throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
    size_t done = 0;
    while (done < contents.size()) {
        ssize_t w = ::write(fd.get(), contents.data() + done, contents.size() - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            throw std::runtime_error(std::string("write memfd: ") + std::strerror(errno));
        }
        done += static_cast<size_t>(w);
    }
    ::lseek(fd.get(), 0, SEEK_SET);
    return fd;
}

std::string read_all(int fd) {
    std::string s;
    ::lseek(fd, 0, SEEK_SET);
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        s.append(buf, static_cast<size_t>(n));
    }
    return s;
}

}  // namespace

const std::string& kvm_unusable_reason() {
    static const std::string reason = [] {
        if (!kvm::available())
            return std::string("cannot open /dev/kvm read-write");
        auto sys = kvm::System::open();
        if (!sys)
            return sys.error().to_string();
        return std::string();
    }();
    return reason;
}

std::string guest_path(const std::string& prog_file) {
    if (!prog_file.empty() && prog_file[0] == '/')
        return prog_file;
    return std::string(LIGHTVM_GUEST_DIR) + "/" + prog_file;
}

GuestRun run_guest(const std::string& prog_file, std::vector<std::string> args, std::string stdin_data,
                   RunOptions opts) {
    UniqueFd in = make_memfd("guest-stdin", stdin_data);
    UniqueFd out = make_memfd("guest-stdout");
    UniqueFd err = make_memfd("guest-stderr");
    UniqueFd diag = make_memfd("guest-diag");

    VmConfig cfg;
    cfg.app_path = guest_path(prog_file);
    cfg.argv.push_back(opts.argv0.empty() ? cfg.app_path : opts.argv0);
    for (auto& a : args)
        cfg.argv.push_back(std::move(a));
    cfg.env = opts.env;
    cfg.mem_size = opts.mem_size;
    cfg.timeout_seconds = opts.timeout_seconds;
    cfg.trace = opts.trace;
    cfg.stats = opts.stats;
    cfg.test_hooks = opts.test_hooks;
    cfg.no_aslr = opts.no_aslr;
    cfg.max_procs = opts.max_procs;
    cfg.cpus = opts.cpus;
    // LIGHTVM_TEST_CPUS=N runs every guest test that does not choose its
    // own vCPU count with N (the suite on several vCPUs, by hand).
    if (const char* n = std::getenv("LIGHTVM_TEST_CPUS"); n && opts.cpus == 1)
        cfg.cpus = static_cast<uint32_t>(std::atoi(n));
    cfg.stdin_fd = opts.stdin_fd >= 0 ? opts.stdin_fd : in.get();
    cfg.stdout_fd = opts.stdout_fd >= 0 ? opts.stdout_fd : out.get();
    cfg.stderr_fd = opts.merge_stderr ? cfg.stdout_fd : err.get();
    cfg.diag_fd = diag.get();
    cfg.shares = opts.shares;
    cfg.disks = opts.disks;
    cfg.tmpfs = opts.tmpfs;
    cfg.irq_test = opts.irq_test;
    cfg.net = opts.net;
    cfg.publish = opts.publish;
    if (!opts.cwd.empty())
        cfg.cwd = opts.cwd;
    cfg.save = opts.save;
    if (!opts.restore_path.empty()) {
        cfg.restore_path = opts.restore_path;
        cfg.app_path = opts.restore_path;
        cfg.argv = {opts.restore_path};
    }

    GuestRun r;
    auto t0 = std::chrono::steady_clock::now();
    auto validated = validate(std::move(cfg));
    if (!validated) {
        r.error = validated.error().to_string();
        r.error_kind = validated.error().kind;
        return r;
    }
    auto report = run_vm(*validated);
    r.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!report) {
        r.error = report.error().to_string();
        r.error_kind = report.error().kind;
    } else {
        r.ok = true;
        r.status = report->outcome.status;
        r.signal = report->outcome.signal;
        r.report = report->outcome.report;
        r.timed_out = report->timed_out;
        r.stats = report->stats;
        r.saved = report->saved;
    }
    r.out = read_all(out.get());
    r.err = read_all(err.get());
    r.diag = read_all(diag.get());
    return r;
}

HostRun run_host(const std::vector<std::string>& argv, const std::string& stdin_data) {
    HostRun h;
    UniqueFd in = make_memfd("host-stdin", stdin_data);
    UniqueFd out = make_memfd("host-stdout");
    UniqueFd err = make_memfd("host-stderr");

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, out.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err.get(), 2);
    std::vector<char*> cargv;
    for (const auto& a : argv)
        cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv.at(0).c_str(), &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        h.status = 127;
        h.err = std::string("posix_spawn: ") + std::strerror(rc);
        return h;
    }
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    h.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
    h.out = read_all(out.get());
    h.err = read_all(err.get());
    return h;
}

std::string random_bytes(size_t n, uint64_t seed) {
    std::string s(n, '\0');
    uint64_t x = seed ? seed : 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[i] = static_cast<char>(x >> 56);
    }
    return s;
}

std::string describe(const GuestRun& r) {
    std::string s;
    if (!r.ok)
        return "run_vm failed: " + r.error;
    s = "status " + std::to_string(r.status) + ", signal " + std::to_string(r.signal);
    if (!r.report.empty())
        s += ", report '" + r.report + "'";
    auto clip = [](const std::string& t) { return t.size() > 400 ? t.substr(0, 400) + "..." : t; };
    if (!r.err.empty())
        s += ", stderr '" + clip(r.err) + "'";
    if (!r.diag.empty())
        s += ", diag '" + clip(r.diag) + "'";
    return s;
}

std::string busybox_missing() {
    struct stat st;
    if (::stat(kBusybox, &st) != 0)
        return std::string("SKIPPED: ") + kBusybox + " not installed (apt-get install busybox-static)";
    if (run_host({kBusybox, "true"}).status != 0)
        return std::string("SKIPPED: ") + kBusybox + " does not run natively here";
    return "";
}

std::string read_back(int fd) {
    std::string s;
    char buf[4096];
    ssize_t n;
    ::lseek(fd, 0, SEEK_SET);
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        s.append(buf, static_cast<size_t>(n));
    return s;
}

}  // namespace lightvm::test

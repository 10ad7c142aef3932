#include "cli/run_command.hpp"

#include <sys/resource.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>

#include "cli/fast_exit.hpp"
#include "devices/host_tty.hpp"
#include "devices/system.hpp"
#include "monitor/profiler.hpp"
#include "kernel/syscalls/table.hpp"  // guest/: the syscall names, shared with the guest's tracer
#include "monitor/process_setup.hpp"
#include "monitor/vm.hpp"
#include "sandbox/sandbox.hpp"
#include "snapshot/format.hpp"

namespace lightvm::cli {

namespace {

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

// The system calls the guest kernel answered ENOSYS, by name and count:
// what a bug report should say is missing.
void print_unimplemented(const RunStats& s) {
    if (s.unimplemented.empty())
        return;
    uint64_t total = s.unimplemented_dropped;
    for (const auto& u : s.unimplemented)
        total += u.count;
    std::fprintf(stderr, "  unimplemented      %8llu (ENOSYS: ", static_cast<unsigned long long>(total));
    const char* sep = "";
    for (const auto& u : s.unimplemented) {
        const guest::SyscallDesc* d = guest::syscall_desc(u.nr);
        if (d)
            std::fprintf(stderr, "%s%s %llu", sep, d->name, static_cast<unsigned long long>(u.count));
        else
            std::fprintf(stderr, "%ssyscall_%u %llu", sep, u.nr, static_cast<unsigned long long>(u.count));
        sep = ", ";
    }
    if (s.unimplemented_dropped)
        std::fprintf(stderr, "%sothers %llu", sep, static_cast<unsigned long long>(s.unimplemented_dropped));
    std::fprintf(stderr, ")\n");
}

// Share requests by kind: which file-system calls cost exits.
void print_fs_requests(const RunStats& s) {
    static const char* const names[] = {"?",        "open",    "close",  "read",     "write",    "stat",  "fstat",
                                        "getdents", "mkdir",   "unlink", "rename",   "readlink", "symlink", "link",
                                        "truncate", "fsync",   "utimens", "chmod",   "access",   "seek",  "statfs",
                                        "sendfile", "readdirplus", "close_many", "batch", "realpath", "chown",
                                        "fallocate", "mknod",  "reopen", "xattr",    "listtree", "lock"};
    static_assert(sizeof names / sizeof *names == 33);
    uint64_t total = 0;
    for (uint64_t n : s.fs_requests)
        total += n;
    if (!total)
        return;
    std::fprintf(stderr, "  share requests     %8llu (", static_cast<unsigned long long>(total));
    bool first = true;
    for (size_t i = 0; i < s.fs_requests.size(); ++i) {
        if (!s.fs_requests[i])
            continue;
        std::fprintf(stderr, "%s%s %llu", first ? "" : ", ", names[i], static_cast<unsigned long long>(s.fs_requests[i]));
        first = false;
    }
    std::fprintf(stderr, ")\n");
}

void print_stats(const RunReport& r, uint64_t process_start_ns, uint64_t run_start_ns) {
    const RunStats& s = r.stats;
    // Offsets from process start, so the numbers include exec and setup.
    uint64_t off = run_start_ns > process_start_ns ? run_start_ns - process_start_ns : 0;
    std::fprintf(stderr, "lightvm stats:\n");
    std::fprintf(stderr, "  run started        %8.3f ms\n", ms(off));
    std::fprintf(stderr, "  app checked        %8.3f ms\n", ms(off + s.app_checked_ns));
    std::fprintf(stderr, "  KVM_CREATE_VM      %8.3f ms\n", ms(off + s.kvm_vm_ns));
    std::fprintf(stderr, "  vm created         %8.3f ms\n", ms(off + s.vm_created_ns));
    std::fprintf(stderr, "  image ready        %8.3f ms\n", ms(off + s.image_ready_ns));
    std::fprintf(stderr, "  first instruction  %8.3f ms\n", s.kernel_entry_ns ? ms(off + s.kernel_entry_ns) : 0.0);
    std::fprintf(stderr, "  app entry          %8.3f ms\n", s.app_entry_ns ? ms(off + s.app_entry_ns) : 0.0);
    std::fprintf(stderr, "  guest finished     %8.3f ms\n", ms(off + s.finished_ns));
    std::fprintf(stderr, "  exits              %8llu (", static_cast<unsigned long long>(s.exits.total));
    bool first = true;
    for (unsigned i = 0; i < s.exits.hypercalls.size(); ++i) {
        if (!s.exits.hypercalls[i])
            continue;
        std::fprintf(stderr, "%s%s %llu", first ? "" : ", ", hypercall_name(i),
                     static_cast<unsigned long long>(s.exits.hypercalls[i]));
        first = false;
    }
    if (s.exits.faults)
        std::fprintf(stderr, "%sfault %llu", first ? "" : ", ", static_cast<unsigned long long>(s.exits.faults)), first = false;
    if (s.exits.interrupted)
        std::fprintf(stderr, "%sinterrupted %llu", first ? "" : ", ", static_cast<unsigned long long>(s.exits.interrupted)), first = false;
    if (s.exits.irq_window)
        std::fprintf(stderr, "%sirq window %llu", first ? "" : ", ", static_cast<unsigned long long>(s.exits.irq_window)), first = false;
    if (s.exits.other)
        std::fprintf(stderr, "%sother %llu", first ? "" : ", ", static_cast<unsigned long long>(s.exits.other));
    std::fprintf(stderr, ")\n");
    std::fprintf(stderr, "  vcpus started      %8u (--cpus: the guest starts them when it has work)\n", s.vcpus_started);
    std::fprintf(stderr, "  guest syscalls     %8llu (no exit)\n", static_cast<unsigned long long>(s.guest_syscalls));
    if (s.irq.raised || s.irq.guest.entries)
        std::fprintf(stderr, "  interrupts         %8llu (injected %llu, handler entries %llu, in the kernel %llu)\n",
                     static_cast<unsigned long long>(s.irq.raised), static_cast<unsigned long long>(s.irq.injected),
                     static_cast<unsigned long long>(s.irq.guest.entries),
                     static_cast<unsigned long long>(s.irq.guest.from_kernel));
    print_unimplemented(s);
    print_fs_requests(s);
    std::fprintf(stderr, "  memory touched     %8.1f KiB of %llu MiB\n", static_cast<double>(s.memory_touched) / 1024.0,
                 static_cast<unsigned long long>(s.memory_size >> 20));
}

uint64_t mono_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// --save PATH: both files are created before the VM starts (the sandboxed
// monitor may open nothing new).
Result<void> open_save_files(const std::string& path, SaveSpec& spec) {
    const std::string mem_path = path + ".mem";
    spec.state_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (spec.state_fd < 0)
        return sys_error("--save " + path);
    spec.mem_fd = ::open(mem_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (spec.mem_fd < 0)
        return sys_error("--save " + mem_path);
    spec.boot_id = snapshot::host_boot_id();
    return {};
}

}  // namespace

int run_command(const RunCommand& cmd, uint64_t process_start_ns) {
    prepare_monitor_process();
    Profiler::open_output();  // before the sandbox (docs/profiling.md)

    uint64_t run_start = mono_ns();
    VmConfig config = cmd.config;
    config.defer_teardown = true;
    if (!cmd.save_path.empty())
        if (auto opened = open_save_files(cmd.save_path, config.save); !opened) {
            std::fprintf(stderr, "lightvm: %s\n", opened.error().to_string().c_str());
            return exit_code_for(opened.error());
        }
    UniqueFd ws_file;
    if (cmd.record_working_set) {  // truncated only when the run writes it
        const std::string ws_path = config.restore_path + ".ws";
        ws_file = UniqueFd(::open(ws_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        if (!ws_file.valid()) {
            std::fprintf(stderr, "lightvm: --record-working-set %s: %s\n", ws_path.c_str(), std::strerror(errno));
            return 125;
        }
        config.record_ws_fd = ws_file.get();
    }
    RunHooks hooks;
    uint64_t sandbox_ns = 0;
    if (cmd.sandbox)
        hooks.before_run = [&cmd, &sandbox_ns](Vm& vm) -> Result<void> {
            uint64_t t0 = mono_ns();
            // Everything is open now: confine the monitor before the guest's
            // first instruction (docs/security.md).
            sandbox::Policy policy;
            bool passthrough = false;
            for (const auto& root : vm.share_roots()) {
                policy.dirs.push_back({root.fd, root.read_only});
                passthrough = passthrough || !root.mapped;
            }
            policy.uid = cmd.uid;
            policy.gid = cmd.gid;
            policy.host_network = vm.host_network();  // a restore's comes from its snapshot
            policy.keep_file_caps = sandbox::wants_file_caps(cmd.config.user.uid, cmd.config.user.gid, passthrough);
            policy.last_words = HostTty::restore_changed;  // a raw terminal never outlives us
            TRY(sandbox::enter(policy));
            sandbox_ns = mono_ns() - t0;
            return {};
        };
    auto report = run_vm(config, hooks);
    if (!cmd.save_path.empty() && (!report || !report->saved)) {
        // No half-written snapshot is left behind. The sandboxed monitor may
        // not unlink outside its shares: the files are emptied instead (a
        // restore refuses an empty file with "bad magic").
        (void)::ftruncate(config.save.state_fd, 0);
        (void)::ftruncate(config.save.mem_fd, 0);
        if (report)
            std::fprintf(stderr, "lightvm: --save: the guest ended before the save was due; no snapshot written (%s left empty)\n",
                         cmd.save_path.c_str());
    }
    if (!report) {
        std::fprintf(stderr, "lightvm: %s\n", report.error().to_string().c_str());
        return exit_code_for(report.error());
    }
    const Outcome& o = report->outcome;
    if (!o.report.empty())
        std::fprintf(stderr, "lightvm: %s\n", o.report.c_str());
    else if (o.signal && o.signal != SIGPIPE && !report->stopped_by)
        std::fprintf(stderr, "lightvm: guest killed by %s\n", signal_name(o.signal));
    if (cmd.config.stats) {
        print_stats(*report, process_start_ns, run_start);
        if (cmd.sandbox)
            std::fprintf(stderr, "  sandbox entry      %8.3f ms (docs/security.md)\n", ms(sandbox_ns));
        if (report->saved)
            std::fprintf(stderr, "  saved              %8.3f ms (%.1f KiB of guest memory written)\n", ms(report->save_ns),
                         static_cast<double>(report->saved_bytes) / 1024.0);
    }
    std::fflush(stdout);
    std::fflush(stderr);
    fast_exit(o.status);
}

}  // namespace lightvm::cli

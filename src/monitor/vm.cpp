#include "monitor/vm.hpp"

#include <cpuid.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <atomic>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <optional>

#include "devices/block.hpp"
#include "devices/console.hpp"
#include "devices/fs.hpp"
#include "devices/ram.hpp"
#include "devices/system.hpp"
#include "kvm/kvm.hpp"
#include "monitor/layout.hpp"
#include "x86/cpuid.hpp"
#include "x86/descriptors.hpp"

namespace lightvm {

namespace {

// The vCPU currently running in this process, for signal handlers.
std::atomic<kvm::Vcpu*> g_active{nullptr};
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_timed_out{false};
constexpr int kKickSignal = SIGUSR2;

void kick_handler(int) {
    // Only interrupts KVM_RUN / blocking host calls (no SA_RESTART).
    if (auto* v = g_active.load())
        v->set_immediate_exit(true);
}

void timeout_handler(int sig, siginfo_t*, void*) {
    g_timed_out = true;
    kick_handler(sig);
}

uint64_t now_ns(clockid_t clk) {
    timespec ts;
    ::clock_gettime(clk, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

HostInfo probe_host(const VmConfig& cfg) {
    HostInfo h;
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
        h.fsgsbase = b & 1;
    if (__get_cpuid(1, &a, &b, &c, &d))
        h.hwcap = d;
    int fds[3] = {cfg.stdin_fd, cfg.stdout_fd, cfg.stderr_fd};
    for (int i = 0; i < 3; ++i) {
        struct stat st;
        h.stdio_mode[i] = ::fstat(fds[i], &st) == 0 ? st.st_mode : 0;
    }
    h.pid = 1;
    char real[PATH_MAX];
    if (::realpath(cfg.app_path.c_str(), real))
        h.exe_path = real;
    return h;
}

// A one-shot timer that signals this thread when --timeout expires.
class Watchdog {
public:
    Result<void> arm(double seconds) {
        struct sigaction sa{};
        sa.sa_sigaction = timeout_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        ::sigaction(kKickSignal + 0, &sa, nullptr);
        sigevent ev{};
        ev.sigev_notify = SIGEV_THREAD_ID;
        ev.sigev_signo = kKickSignal;
        ev._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
        if (::timer_create(CLOCK_MONOTONIC, &ev, &m_timer) < 0)
            return sys_error("timer_create");
        m_armed = true;
        itimerspec its{};
        its.it_value.tv_sec = static_cast<time_t>(seconds);
        its.it_value.tv_nsec = static_cast<long>((seconds - static_cast<double>(its.it_value.tv_sec)) * 1e9);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
        if (::timer_settime(m_timer, 0, &its, nullptr) < 0)
            return sys_error("timer_settime");
        return {};
    }
    ~Watchdog() {
        if (m_armed)
            ::timer_delete(m_timer);
    }

private:
    timer_t m_timer{};
    bool m_armed = false;
};

void install_kick_handler() {
    struct sigaction sa{};
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    ::sigaction(kKickSignal, &sa, nullptr);
}

// The KVM objects of one VM, owned together so teardown can be deferred.
struct Machine {
    kvm::System sys;
    kvm::Vm vm;
    GuestMemory mem;
    kvm::Vcpu vcpu;
};

// Sets g_active for the lifetime of a run.
struct ActiveGuard {
    explicit ActiveGuard(kvm::Vcpu* v) { g_active = v; }
    ~ActiveGuard() { g_active = nullptr; }
};

}  // namespace

void request_stop(int signal) {
    g_stop_signal = signal;
    if (auto* v = g_active.load())
        v->set_immediate_exit(true);
}

Result<RunReport> run_vm(const VmConfig& config) {
    const uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    RunReport report;
    g_timed_out = false;
    g_stop_signal = 0;

    // Everything that can be checked without KVM first: a bad executable
    // fails fast and the same way on machines without /dev/kvm.
    auto file = TRY(MappedFile::open(config.app_path));
    auto app = TRY(check_app(file.bytes(), config.mem_size, config.app_path));
    HostInfo host = probe_host(config);
    // Devices that name host resources are opened before any VM exists:
    // a missing directory or a busy disk fails fast with one line.
    std::optional<FsDevice> fs;
    if (!config.shares.empty()) {
        std::vector<FsShare> shares;
        for (const auto& s : config.shares)
            shares.push_back(FsShare{s.host_path, s.guest_path, s.read_only});
        fs = TRY(FsDevice::create(std::move(shares)));
        fs->set_streams(config.stdout_fd, config.stderr_fd);
    }
    std::vector<BlockDevice> disks;
    for (const auto& d : config.disks) {
        disks.push_back(TRY(BlockDevice::open(d.path, d.read_only)));
        host.disk_capacity.push_back(disks.back().capacity());
    }

    report.stats.app_checked_ns = now_ns(CLOCK_MONOTONIC) - t0;
    auto machine = std::make_unique<Machine>();
    machine->sys = TRY(kvm::System::open());
    machine->vm = TRY(machine->sys.create_vm());
    report.stats.kvm_vm_ns = now_ns(CLOCK_MONOTONIC) - t0;
    machine->mem = TRY(GuestMemory::create(config.mem_size));
    GuestMemory& mem = machine->mem;
    kvm::Vcpu& vcpu = machine->vcpu;
    // RAM is registered lazily (devices/ram.hpp): the boot regions now, the
    // rest when the guest kernel asks for it.
    RamDevice ram(mem, [&m = *machine](uint32_t slot, uint64_t gpa, uint64_t size) {
        return m.vm.set_memory(slot, gpa, size, m.mem.host_base() + gpa);
    });
    const uint64_t headroom = 8ull << 20;
    TRY(ram.boot(app.image_end + headroom, mem.size() - abi::kStackSize - headroom));
    vcpu = TRY(machine->vm.create_vcpu(0));
    if (!kvm::is_pvm())
        TRY(vcpu.set_cpuid(std::span<const kvm::CpuidEntry>(x86::guest_cpuid())));
    report.stats.vm_created_ns = now_ns(CLOCK_MONOTONIC) - t0;
    // Teardown (close VM: ~0.3-3 ms) can be left to the caller's process exit.
    struct Release {
        std::unique_ptr<Machine>& m;
        bool defer;
        ~Release() {
            if (defer)
                (void)m.release();  // intentionally leaked: the process exit or a reaper frees it
        }
    } release{machine, config.defer_teardown};

    ClockReference clock;
    clock.tsc_khz = TRY(vcpu.tsc_khz());
    clock.monotonic_ns = now_ns(CLOCK_MONOTONIC);
    clock.realtime_ns = now_ns(CLOCK_REALTIME);
    clock.tsc = __rdtsc();
    host.ram_low_end = ram.low_end();
    host.ram_high_start = ram.high_start();
    auto image = TRY(build_guest_image(mem, config, file.bytes(), file.fd(), app, clock, host));

    // Guest TSC = host TSC (true under PVM; set explicitly for hardware KVM).
    const kvm::Msr msrs[] = {
        {kvm::kMsrStar, (uint64_t(abi::kUser32Cs & ~3) << 48) | (uint64_t(abi::kKernelCs) << 32)},
        {kvm::kMsrLstar, image.syscall_entry},
        {kvm::kMsrCstar, 0},
        {kvm::kMsrSfmask, 0x47700},  // TF DF IF IOPL NT AC cleared on syscall entry
        {kvm::kMsrFsBase, 0},
        {kvm::kMsrGsBase, 0},
        {kvm::kMsrKernelGsBase, 0},
        {kvm::kMsrTsc, __rdtsc()},
    };
    TRY(vcpu.set_msrs(msrs));
    TRY(vcpu.set_sregs(x86::user_mode_sregs(image.cr3, host.fsgsbase)));
    kvm::Regs regs{};
    regs.rip = image.kernel_entry;
    regs.rdi = abi::kBootInfoGpa;
    regs.rflags = 0x2;
    TRY(vcpu.set_regs(regs));
    report.stats.image_ready_ns = now_ns(CLOCK_MONOTONIC) - t0;

    Console console(mem, config.stdin_fd, config.stdout_fd, config.stderr_fd, config.diag_fd);
    SystemDevice system(mem);
    VcpuAccess cpu(vcpu);
    Devices devices{mem, console, system, cpu, fs ? &*fs : nullptr, &disks, &ram};

    install_kick_handler();
    ActiveGuard active(&vcpu);
    Watchdog watchdog;
    if (config.timeout_seconds > 0)
        TRY(watchdog.arm(config.timeout_seconds));

    Outcome& outcome = report.outcome;
    while (!outcome.finished) {
        if (g_stop_signal || g_timed_out)
            break;
        auto exit = TRY(vcpu.run());
        auto handled = handle_exit(devices, exit, outcome, report.stats.exits);
        if (!handled) {
            // Hostile or broken guest: stop it with the report, keep the host sane.
            if (handled.error().kind != ErrorKind::GuestFault)
                return tl::unexpected(handled.error());
            outcome.finished = true;
            outcome.signal = SIGKILL;
            outcome.status = 128 + SIGKILL;
            outcome.report = "guest stopped: " + handled.error().to_string();
        }
        if (exit.kind == kvm::ExitKind::Interrupted)
            vcpu.set_immediate_exit(false);
    }
    if (!outcome.finished) {
        (void)console.drain(outcome);
        if (g_timed_out) {
            report.timed_out = true;
            outcome.status = 124;  // as timeout(1) reports it
            outcome.report = "guest timed out after " + std::to_string(config.timeout_seconds) + " s";
        } else {
            report.stopped_by = g_stop_signal;
            outcome.signal = g_stop_signal;
            outcome.status = 128 + g_stop_signal;
        }
        outcome.finished = true;
    }
    // The boot page's guest-written fields are guest data: bounded below.
    auto boot = mem.read<abi::BootInfo>(abi::kBootInfoGpa);
    // Stdin read ahead but not consumed goes back to a regular-file stdin,
    // so `lightvm run head -c 10 < f; cat` style sharing of one fd works.
    if (boot && boot->stdin_buffered && boot->stdin_buffered <= abi::kStdinReadAhead) {
        struct stat st;
        if (::fstat(config.stdin_fd, &st) == 0 && S_ISREG(st.st_mode))
            (void)::lseek(config.stdin_fd, -static_cast<off_t>(boot->stdin_buffered), SEEK_CUR);
    }
    // A guest that did not exit cleanly may hold accepted-but-unsent file
    // writes: perform them, as the page cache would have on Linux.
    if (fs && boot && boot->pending_count && (outcome.signal != 0 || report.timed_out))
        (void)fs->apply_pending(mem, boot->pending_writes, boot->pending_count);
    report.stats.finished_ns = now_ns(CLOCK_MONOTONIC) - t0;

    if (boot) {
        auto tsc_to_rel_ns = [&](uint64_t tsc) -> uint64_t {
            if (tsc < clock.tsc || clock.tsc_khz == 0)
                return 0;
            uint64_t abs = clock.monotonic_ns +
                           static_cast<uint64_t>((static_cast<unsigned __int128>(tsc - clock.tsc) * 1000000) / clock.tsc_khz);
            return abs > t0 ? abs - t0 : 0;
        };
        report.stats.kernel_entry_ns = tsc_to_rel_ns(boot->kernel_entry_tsc);
        report.stats.app_entry_ns = tsc_to_rel_ns(boot->app_entry_tsc);
        report.stats.guest_syscalls = boot->syscall_count;
    }
    if (config.stats)
        report.stats.memory_touched = mem.resident_bytes();
    report.stats.memory_size = mem.size();
    return report;
}

}  // namespace lightvm

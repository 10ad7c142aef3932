// Phase 3 of a VM (include/lightvm/vm.hpp): the vCPU exit loop, with the
// process-wide stop and timeout machinery that can interrupt it.
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <utility>

#include "common/stop.hpp"
#include "monitor/profiler.hpp"
#include "monitor/smp.hpp"
#include "monitor/vm.hpp"
#include "monitor/vm_migrate.hpp"
#include "monitor/vm_snapshot.hpp"

namespace lightvm {

namespace {

// The vCPU currently running in this process, for signal handlers.
std::atomic<kvm::Vcpu*> g_active{nullptr};
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_timed_out{false};
std::atomic<bool> g_save_due{false};  // --save: the save timer fired
std::atomic<bool> g_save_demanded{false};  // request_save(): lightvmd's snapshot API
std::atomic<uint64_t> g_forward{0};  // host signals for the guest, bit sig - 1
std::atomic<bool> g_ignore_unhandled{false};  // VmConfig::ignore_unhandled_signals of the running VM
// The running guest's BootInfo.host_signals_handled, in our mapping of its
// memory: the signal handler reads it (a plain load) to decide at once
// whether a signal is the guest's or a stop.
std::atomic<const volatile uint64_t*> g_guest_handled{nullptr};

constexpr uint64_t bit(int sig) { return 1ull << (sig - 1); }
// Without a guest handler these keep their old meaning: stop the VM.
constexpr uint64_t kStopSignals = bit(SIGINT) | bit(SIGTERM) | bit(SIGHUP) | bit(SIGQUIT) | bit(SIGUSR1);
constexpr int kKickSignal = SIGUSR2;
constexpr int kWatchdogCookie = 0x6c766d;  // sigev_value of the --timeout timer
constexpr int kSaveCookie = 0x6c7673;      // sigev_value of the --save timer
constexpr int kProfileCookie = 0x6c7670;   // sigev_value of the LIGHTVM_PROFILE timer
std::atomic<bool> g_profile_due{false};

void kick_handler(int) {
    // Only interrupts KVM_RUN / blocking host calls (no SA_RESTART).
    if (auto* v = g_active.load())
        v->set_immediate_exit(true);
}

void timeout_handler(int sig, siginfo_t* info, void*) {
    // The stop ticker (common/stop.hpp) uses the same signal: only the
    // watchdog's own timer means "timed out".
    if (info && info->si_code == SI_TIMER && info->si_value.sival_int == kWatchdogCookie) {
        g_timed_out = true;
        request_stop_and_tick();
    }
    if (info && info->si_code == SI_TIMER && info->si_value.sival_int == kSaveCookie) {
        g_save_due = true;
        if (!g_forward.load())
            set_pause_requested(true);
    }
    if (info && info->si_code == SI_TIMER && info->si_value.sival_int == kProfileCookie)
        g_profile_due = true;
    kick_handler(sig);
}

// A one-shot timer that signals this thread when --timeout expires (or,
// with kSaveCookie, when --save is due).
class Watchdog {
public:
    // Fires once after `seconds`, then every `period` seconds if non-zero.
    Result<void> arm(double seconds, int cookie = kWatchdogCookie, double period = 0) {
        struct sigaction sa{};
        sa.sa_sigaction = timeout_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        ::sigaction(kKickSignal + 0, &sa, nullptr);
        sigevent ev{};
        ev.sigev_notify = SIGEV_THREAD_ID;
        ev.sigev_signo = kKickSignal;
        ev.sigev_value.sival_int = cookie;
        ev._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
        if (::timer_create(CLOCK_MONOTONIC, &ev, &m_timer) < 0)
            return sys_error("timer_create");
        m_armed = true;
        itimerspec its{};
        its.it_value.tv_sec = static_cast<time_t>(seconds);
        its.it_value.tv_nsec = static_cast<long>((seconds - static_cast<double>(its.it_value.tv_sec)) * 1e9);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
        its.it_interval.tv_nsec = static_cast<long>(period * 1e9);
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

// Sets g_active for the lifetime of a run; a stop request is consumed by
// the run it stopped.
struct ActiveGuard {
    explicit ActiveGuard(kvm::Vcpu* v) {
        g_active = v;
        // A host call blocked when a stop comes (a write to a full pipe) is
        // interrupted again every few ms until it sees the stop.
        (void)stop_ticker_arm(kKickSignal);
        if (g_stop_signal || g_timed_out)
            request_stop_and_tick();
        if (g_save_demanded)
            request_save();
    }
    ~ActiveGuard() {
        stop_ticker_disarm();
        g_active = nullptr;
        g_guest_handled = nullptr;
        g_forward = 0;
        g_stop_signal = 0;
        g_timed_out = false;
        g_save_due = false;
        g_save_demanded = false;
        set_pause_requested(false);
        set_stop_requested(false);
    }
};

// A live migration lightvmd asked for (docs/migration.md): the sender
// starts now; the guest goes on meanwhile.
void start_migration(VmState& s, int sock, Smp* smp, std::unique_ptr<Migration>& migration) {
    SaveSpec& spec = s.work->config.save;
    // The first pass's ranges are read with the other vCPUs' exits held:
    // the same rule as every later collection.
    std::unique_lock<std::mutex> exits;
    if (smp)
        exits = std::unique_lock(smp->exits());
    auto started = Migration::start(s, sock, [tid = pthread_self()] {
        // The sender asks for vCPU 0's thread: out of KVM_RUN or a blocking
        // host call (which retries: only a pause is pending).
        set_pause_requested(true);
        ::pthread_kill(tid, kKickSignal);
    });
    if (started) {
        migration = std::move(*started);
    } else if (spec.migrated) {
        MigrationReport failed;
        failed.error = started.error().to_string();
        spec.migrated(failed);
    }
}

// A save lightvmd asked for: the files come from config.save.fetch. Its
// failure is the caller's to report; the guest goes on (or ends, with stop).
// Every save takes all started vCPUs (`smp`: the others, Smp::quiesce).
void save_on_demand(VmState& s, Interrupts& irq, RunReport& report, Smp* smp, std::unique_ptr<Migration>& migration) {
    SaveSpec& spec = s.work->config.save;
    auto demand = spec.fetch();
    if (demand && demand->migrate_fd >= 0) {
        if (!migration)
            start_migration(s, demand->migrate_fd, smp, migration);
        return;
    }
    Result<void> saved;
    uint64_t before = report.saved_bytes;
    if (!demand) {
        saved = tl::unexpected(demand.error());
    } else {
        const SaveSpec timed = spec;  // a pending --save keeps its own files
        spec.state_fd = demand->state_fd;
        spec.mem_fd = demand->mem_fd;
        spec.stop = demand->stop;
        saved = save_vm(s, irq, report, smp);
        spec.state_fd = timed.state_fd;
        spec.mem_fd = timed.mem_fd;
        spec.stop = timed.stop;
        if (saved && demand->stop) {
            report.outcome.finished = true;
            report.outcome.status = 0;
        }
    }
    if (spec.done)
        spec.done(saved, report.saved_bytes - before, saved ? report.save_ns : 0);
}

// What the migration's sender asked of the vCPU thread. Its end is told
// to lightvmd; moved: this VM ends (status 0); unknown (Go sent, never
// confirmed): frozen until lightvmd resumes or kills it.
void serve_migration(VmState& s, Interrupts& irq, Outcome& outcome, Smp* smp, std::unique_ptr<Migration>& migration) {
    set_pause_requested(false);
    const Migration::Step step = migration->service(s, irq, outcome, smp);
    if (step == Migration::Step::Continue)
        return;
    if (s.work->config.save.migrated)
        s.work->config.save.migrated(migration->report());
    migration.reset();
    if (step == Migration::Step::Migrated) {
        outcome.finished = true;
        outcome.status = 0;
    } else if (step == Migration::Step::Unknown) {
        ::raise(SIGSTOP);
    }
}

// A save into config.save's files (--save-after, --save-at-ready), and the
// VM's end with --save-stop. A guest that ends while the other vCPUs are
// being stopped is not saved, as one that ends before --save-after: its own
// end and status stand. Its caller hears of it (lightvmd renames the files).
Result<void> save_configured(VmState& s, Interrupts& irq, RunReport& report, Smp* smp, Outcome& outcome) {
    auto saved = save_vm(s, irq, report, smp);
    if (!saved && smp && smp->finished())
        return {};
    if (const SaveSpec& spec = s.work->config.save; spec.self_done)
        spec.self_done(saved, report.saved_bytes, saved ? report.save_ns : 0);
    if (!saved)
        return saved;
    if (s.work->config.save.stop) {
        outcome.finished = true;
        outcome.status = 0;
    }
    return {};
}

// --save-at-ready: the program wrote its ready mark. Saved inside that
// exit, the `out` not completed: a restored VM executes it again, and its
// own monitor answers (abi.h HcReady). Only the first mark saves.
Result<void> save_at_ready(VmState& s, Interrupts& irq, RunReport& report, Smp* smp, Outcome& outcome) {
    if (s.work->config.save.state_fd < 0 || report.saved)
        return {};
    return save_configured(s, irq, report, smp, outcome);
}

// Stopped from outside (timeout or signal): say so in the outcome.
void finish_stopped(VmState& s, RunReport& report) {
    Outcome& outcome = report.outcome;
    (void)s.console->drain(outcome);
    if (g_timed_out) {
        report.timed_out = true;
        outcome.status = 124;  // as timeout(1) reports it
        outcome.report = "guest timed out after " + std::to_string(s.work->config.timeout_seconds) + " s";
    } else {
        report.stopped_by = g_stop_signal;
        outcome.signal = g_stop_signal;
        outcome.status = 128 + g_stop_signal;
    }
    outcome.finished = true;
}

// After the guest is done: hand back unconsumed stdin, flush file writes a
// killed guest had accepted, and read the guest's milestones.
void finish(VmState& s, RunReport& report) {
    const VmConfig& config = s.work->config;
    Outcome& outcome = report.outcome;
    // The boot page's guest-written fields are guest data: bounded below.
    auto boot = s.mem.read<abi::BootInfo>(abi::kBootInfoGpa);
    // Stdin read ahead but not consumed goes back to a regular-file stdin,
    // so `lightvm run head -c 10 < f; cat` style sharing of one fd works.
    // After a restore the read-ahead may hold bytes of the stdin the VM was
    // saved with (consumed first): only the part read from ours goes back.
    const uint64_t give_back = boot ? std::min<uint64_t>(boot->stdin_buffered, s.console->bytes_in()) : 0;
    if (give_back && boot->stdin_buffered <= abi::kStdinReadAhead) {
        struct stat st;
        if (::fstat(config.stdin_fd, &st) == 0 && S_ISREG(st.st_mode))
            (void)::lseek(config.stdin_fd, -static_cast<off_t>(give_back), SEEK_CUR);
    }
    // A guest that did not exit cleanly may hold accepted-but-unsent file
    // writes: perform them, as the page cache would have on Linux.
    auto& fs = s.work->fs;
    if (fs && boot && boot->pending_count && (outcome.signal != 0 || report.timed_out))
        (void)fs->apply_pending(s.mem, boot->pending_writes, boot->pending_count);
    const uint64_t t0 = s.time_base;
    auto rel = [t0](uint64_t abs) -> uint64_t { return abs > t0 ? abs - t0 : 0; };
    RunStats& st = report.stats;
    st.finished_ns = rel(monotonic_ns());
    st.prepare_ns = rel(s.work->started_ns);
    st.app_checked_ns = rel(s.work->checked_ns);
    st.kvm_vm_ns = rel(s.kvm_vm_ns);
    st.vm_created_ns = rel(s.vm_created_ns);
    st.image_ready_ns = rel(s.image_ready_ns);
    if (boot) {
        const ClockReference& clock = s.clock;
        auto tsc_to_rel_ns = [&](uint64_t tsc) -> uint64_t {
            if (tsc < clock.tsc || clock.tsc_khz == 0)
                return 0;
            return rel(clock.monotonic_ns +
                       static_cast<uint64_t>((static_cast<unsigned __int128>(tsc - clock.tsc) * 1000000) / clock.tsc_khz));
        };
        st.kernel_entry_ns = tsc_to_rel_ns(boot->kernel_entry_tsc);
        st.app_entry_ns = tsc_to_rel_ns(boot->app_entry_tsc);
        st.guest_syscalls = boot->syscall_count;
        const uint32_t hits = boot->enosys_count < abi::kMaxSyscallHits ? boot->enosys_count : abi::kMaxSyscallHits;
        for (uint32_t i = 0; i < hits; ++i)
            st.unimplemented.push_back({boot->enosys[i].nr, boot->enosys[i].count});
        st.unimplemented_dropped = boot->enosys_dropped;
    }
    if (config.stats)
        st.memory_touched = s.mem.resident_bytes();
    if (s.work->fs)
        st.fs_requests = s.work->fs->requests();
    st.memory_size = s.mem.size();
}

// Host signals to the guest's first process (between exits, the vCPU
// stopped): those it handles become pending bits and a doorbell; the rest
// act as before (a stop, or nothing for SIGWINCH/SIGCONT).
Result<void> forward_signals(VmState& s, Interrupts& irq, uint64_t signals) {
    constexpr uint64_t handled_at = abi::kBootInfoGpa + offsetof(abi::BootInfo, host_signals_handled);
    constexpr uint64_t pending_at = abi::kBootInfoGpa + offsetof(abi::BootInfo, host_signals_pending);
    const uint64_t handled = TRY(s.mem.read<uint64_t>(handled_at));
    // Exec news (abi.h kHostExecNews) always goes: the guest takes it once
    // its first process exists, and the exec channel rings until it does.
    uint64_t to_guest = signals & (handled | abi::kHostExecNews);
    // A new window size reaches the guest's copy before the signal does;
    // the guest takes SIGWINCH then whoever handles it (its foreground job).
    if ((signals & bit(SIGWINCH)) && TRY(s.console->refresh_window_size()))
        to_guest |= bit(SIGWINCH);
    if (to_guest) {
        const uint64_t pending = TRY(s.mem.read<uint64_t>(pending_at));
        TRY(s.mem.write<uint64_t>(pending_at, pending | to_guest));
        irq.raise(abi::kIrqDoorbell);
    }
    const uint64_t stop = signals & ~handled & kStopSignals;
    if (stop && !g_ignore_unhandled)
        request_stop(__builtin_ctzll(stop) + 1);
    return {};
}

}  // namespace

void request_signal(int signal) {
    if (signal < 1 || signal > 64)
        return;
    const volatile uint64_t* handled = g_guest_handled.load();
    auto* v = g_active.load();
    // SIGWINCH always goes to a running VM: its terminal's size is news
    // even when the first process does not handle it (forward_signals).
    if (v && handled && ((*handled & bit(signal)) || signal == SIGWINCH)) {
        g_forward.fetch_or(bit(signal));
        set_pause_requested(false);  // the guest's blocked call should see this one
        v->set_immediate_exit(true);  // forwarded between two exits
        request_tick();  // also when the vCPU thread was about to block (the idle sleep)
        return;
    }
    // Not the guest's (or no VM running yet: it stops as soon as it starts):
    // a stop at once, even while the monitor is blocked on a host write;
    // dropped for a container's init.
    if ((bit(signal) & kStopSignals) && !g_ignore_unhandled)
        request_stop(signal);
}

void request_exec_news() {
    if (auto* v = g_active.load()) {
        g_forward.fetch_or(abi::kHostExecNews);
        set_pause_requested(false);
        v->set_immediate_exit(true);
        request_tick(true);
    }
}

void request_save() {
    g_save_demanded = true;
    if (auto* v = g_active.load()) {
        if (!g_forward.load())
            set_pause_requested(true);
        v->set_immediate_exit(true);
    }
}

void request_stop(int signal) {
    g_stop_signal = signal;
    if (auto* v = g_active.load()) {
        v->set_immediate_exit(true);
        request_stop_and_tick();
    }
}

Result<RunReport> Vm::run() {
    VmState& s = *m;
    if (s.phase != VmState::Phase::Loaded)
        return make_error(ErrorKind::BadInput, "run",
                          s.phase == VmState::Phase::Shell ? "no workload loaded" : "this VM has already run");
    s.phase = VmState::Phase::Ran;
    const VmConfig& config = s.work->config;
    VcpuIrq irq_cpu(s.vcpu);
    Interrupts irq(s.mem, irq_cpu, s.image.irq, config.irq_test);
    Devices devices{s.mem, *s.console, *s.system, *s.cpu, s.work->fs ? &*s.work->fs : nullptr, &s.work->disks,
                    &*s.ram, &irq};
    devices.net = s.work->net ? &*s.work->net : nullptr;
    devices.exec = s.exec;
    RunReport report;

    // Whatever the way out (the guest's end, a fault, a stop, a monitor
    // error), the host terminal gets its settings back.
    struct TtyRestore {
        Console& console;
        ~TtyRestore() { console.restore_tty(); }
    } tty_restore{*s.console};
    install_kick_handler();
    g_ignore_unhandled = config.ignore_unhandled_signals;
    auto boot_page = TRY(s.mem.span(abi::kBootInfoGpa, sizeof(abi::BootInfo)));
    g_guest_handled = reinterpret_cast<const volatile uint64_t*>(boot_page.data() +
                                                                 offsetof(abi::BootInfo, host_signals_handled));
    ActiveGuard active(&s.vcpu);
    Watchdog watchdog, save_timer, profile_timer;
    Profiler profiler = Profiler::from_env();
    if (profiler.active()) {
        double period = static_cast<double>(profiler.interval_us()) * 1e-6;
        TRY(profile_timer.arm(period, kProfileCookie, period));
    }
    if (config.timeout_seconds > 0)
        TRY(watchdog.arm(config.timeout_seconds));
    if (config.save.state_fd >= 0 && !config.save.at_ready)
        TRY(save_timer.arm(config.save.after_seconds, kSaveCookie));
    irq.set_clock_offset(s.clock_offset_ns);
    TRY(irq.start());
    if (s.work->restore)
        TRY(irq.restore(s.work->restore->irq_pending, s.work->restore->timer_deadline_ns));

    Outcome& outcome = report.outcome;
    // --cpus > 1: the guest may start more vCPUs, each on a thread of its
    // own; every exit is then handled under one lock (monitor/smp.hpp).
    std::optional<Smp> smp;
    if (config.cpus > 1) {
        smp.emplace(s.vm, s.mem, s.image, s.fsgsbase, config.cpus, devices, irq, s.vcpu, outcome, kKickSignal);
        devices.smp = &*smp;
        if (s.work->restore)
            TRY(restore_other_vcpus(s, *smp));
        if (config.save.at_ready)
            smp->hold_ready_marks();
    }
    Smp* const others = smp ? &*smp : nullptr;
    std::unique_ptr<Migration> migration;  // lightvmd's migrate request, while it runs
    bool finished = false;
    while (!finished) {
        if (g_stop_signal || g_timed_out || (smp && smp->finished()))
            break;
        auto exit = TRY(s.vcpu.run());
        // At once: a kick after this (another vCPU's kCpuTlb or kCpuKick)
        // makes the next KVM_RUN return again, so none is lost.
        if (exit.kind == kvm::ExitKind::Interrupted) {
            s.vcpu.set_immediate_exit(false);
            if (g_profile_due.exchange(false) && profiler.active())
                if (auto regs = s.vcpu.get_regs())
                    profiler.record(regs->rip);
        }
        std::unique_lock<std::mutex> lock;
        if (smp)
            lock = std::unique_lock(smp->exits());
        auto handled = handle_exit(devices, exit, outcome, report.stats.exits);
        if (!handled) {
            // Hostile or broken guest: stop it with the report, keep the host sane.
            if (handled.error().kind != ErrorKind::GuestFault)
                return tl::unexpected(handled.error());
            outcome.killed(SIGKILL, "guest stopped: " + handled.error().to_string());
        }
        finished = outcome.finished;
        const bool ready = std::exchange(devices.ready_marked, false) && !finished && config.save.at_ready;
        if (smp && !finished)
            TRY(smp->serve_tlb(0));
        if (lock)
            lock.unlock();
        // Saves run without exits(): they stop the other vCPUs first.
        if (ready)
            TRY(save_at_ready(s, irq, report, others, outcome));
        finished = outcome.finished;
        if (exit.kind == kvm::ExitKind::Interrupted) {
            // Only here is the vCPU between instructions with no I/O half
            // done (KVM completes a pending OUT at the start of KVM_RUN).
            if (smp && smp->ready_pending()) {  // another vCPU's ready mark, held in its exit
                if (!finished)
                    TRY(save_at_ready(s, irq, report, others, outcome));
                finished = outcome.finished;
                if (!finished)
                    smp->ready_done();
            }
            if (!finished && g_save_demanded.exchange(false) && config.save.fetch) {
                set_pause_requested(false);
                save_on_demand(s, irq, report, others, migration);
                finished = outcome.finished;
            }
            if (!finished && migration && migration->due()) {
                serve_migration(s, irq, outcome, others, migration);
                finished = outcome.finished;
            }
            if (!finished && g_save_due.exchange(false)) {
                set_pause_requested(false);
                TRY(save_configured(s, irq, report, others, outcome));
                finished = outcome.finished;
            }
        }
        // Host signals for the guest: right before interrupts are
        // delivered, so the doorbell reaches the guest before it can block
        // in another exit (a signal that comes later ticks that exit out).
        if (!finished && g_forward.load()) {
            tick_quiet();  // before the exchange: a signal after it ticks again
            if (uint64_t fw = g_forward.exchange(0))
                TRY(forward_signals(s, irq, fw));
        }
        if (!finished)
            TRY(irq.before_run(exit));
    }
    if (migration && config.save.migrated) {
        migration.reset();  // its sender stops; the guest ended first
        MigrationReport ended;
        ended.error = "the VM ended during the migration";
        config.save.migrated(ended);
    }
    if (smp) {
        smp->join();  // the other vCPUs stop; their exits count too
        report.stats.exits += smp->started_exits();
        report.stats.vcpus_started = 1 + smp->started();
        if (auto err = smp->error())
            return tl::unexpected(*err);
    }
    profiler.write();
    if (!outcome.finished)
        finish_stopped(s, report);
    finish(s, report);
    report.stats.irq = irq.finish();
    TRY(record_working_set(s));
    return report;
}

namespace detail {
void clear_stop_requests() {
    g_forward = 0;
    g_save_due = false;
    g_save_demanded = false;
    g_stop_signal = 0;
    g_timed_out = false;
    set_stop_requested(false);
}
}  // namespace detail

}  // namespace lightvm

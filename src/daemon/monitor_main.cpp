// lightvm-monitor: one VM in its own process, driven by lightvmd over fd 3
// (daemon/link.hpp). Started ahead of time by the warm pool, it builds the
// shell at once and waits; when a VM is started it receives the config and
// the guest's stdin/stdout/stderr, loads, runs, reports and exits. A crash
// here or a hostile guest ends only this process.
//
//   monitor -> daemon  {"ready":true,"pid":N}           shell built
//                      {"error":"...","exit_code":125}  shell failed
//   daemon -> monitor  [{"fresh":true}]                 a restore comes: unbooted shell now
//                      {"config":{...},"t0":NS[,"stdio_closed":[..]]}
//                      + stdin, stdout, stderr [+ cwd]   the workload
//                      or {...,"detached":true,"log_max":N} + stdin,
//                      the log file twice (stdout, stderr), the VM's
//                      directory, report file            a background VM
//   monitor -> daemon  {"loaded":true} | {"error":...,"exit_code":N}
//   daemon -> monitor  {"save":{"stop":B}} + state file, memory file,
//                      then save_signal() (link.hpp)   snapshot now
//   monitor -> daemon  {"saved":true,"bytes":N,"save_ns":N}
//                      | {"saved":false,"error":"..."}  after each save
//                      (with "self":true: a save the VM made itself, into
//                      the two extra files of its workload message)
//   daemon -> monitor  {"migrate":{}} + the connection to the target,
//                      then save_signal()              live migration
//   monitor -> daemon  {"migrated":B,"outcome":"moved|failed|unknown",...}
//   daemon -> monitor  {"go":true}      a held restore ("hold":true in
//                                       the workload message) may run
//                      {"status":N,"signal":N,...}      the guest's end
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/exit_codes.hpp"
#include "daemon/link.hpp"
#include "daemon/monitor_image.hpp"
#include "daemon/protocol.hpp"
#include "devices/host_tty.hpp"
#include "lightvm/vm.hpp"
#include "monitor/process_setup.hpp"
#include "monitor/vm.hpp"
#include "sandbox/sandbox.hpp"
#include "snapshot/format.hpp"

using namespace lightvm;
using namespace lightvm::daemon;

namespace {

constexpr int kLinkFd = 3;

[[noreturn]] void fail(const Error& e) {
    std::string text = json{{"error", e.to_string()}, {"exit_code", exit_code_for(e)}}.dump();
    (void)!::write(kLinkFd, text.data(), text.size());  // also allowed inside the sandbox
    ::_exit(exit_code_for(e));
}

void on_save_signal(int) {
    request_save();
}

// A background VM listens for a restarted lightvmd (daemon/link.hpp): its
// newest connection becomes the link, replacing the one that ended with
// the old daemon. Only accept4 and dup3: calls the sandbox allows.
UniqueFd g_relink;
void take_relink() {
    if (!g_relink.valid())
        return;
    for (int c; (c = ::accept4(g_relink.get(), nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
        ::dup3(c, kLinkFd, 0);
        ::close(c);
    }
}

// The files of an on-demand save: the daemon sent them just before its
// signal. Never blocks (a stray signal finds no message).
std::vector<UniqueFd> g_save_files;
Result<SaveSpec::Demand> fetch_save() {
    take_relink();
    pollfd p{kLinkFd, POLLIN, 0};
    if (::poll(&p, 1, 0) != 1)
        return make_error(ErrorKind::BadInput, "snapshot", "no save request from lightvmd");
    auto msg = TRY(recv_message(kLinkFd));
    json j = json::parse(msg.text, nullptr, false);
    if (!msg.eof && msg.fds.size() == 1 && j.is_object() && j.contains("migrate") && j["migrate"].is_object()) {
        g_save_files = std::move(msg.fds);
        return SaveSpec::Demand{-1, -1, false, g_save_files[0].get()};
    }
    if (msg.eof || msg.fds.size() != 2 || !j.is_object() || !j.contains("save") || !j["save"].is_object())
        return make_error(ErrorKind::BadInput, "snapshot", "malformed save request");
    g_save_files = std::move(msg.fds);
    return SaveSpec::Demand{g_save_files[0].get(), g_save_files[1].get(), j["save"].value("stop", false)};
}

// A save the VM made itself (its create request's "save"): lightvmd
// renames the files into place.
void self_save_done(const Result<void>& saved, uint64_t bytes, uint64_t save_ns) {
    json j = saved ? json{{"saved", true}, {"self", true}, {"bytes", bytes}, {"save_ns", save_ns}}
                   : json{{"saved", false}, {"self", true}, {"error", saved.error().to_string()}};
    std::string text = j.dump();
    (void)!::write(kLinkFd, text.data(), text.size());  // one message; allowed inside the sandbox
}

// A live migration's end (docs/migration.md): lightvmd answers the
// migrate request with it. The connection stays open until we exit (moved)
// or until the next request replaces it.
void migration_done(const MigrationReport& r) {
    static const char* const kOutcome[] = {"moved", "failed", "unknown"};
    json j = {{"migrated", r.outcome == MigrationReport::Outcome::Migrated},
              {"outcome", kOutcome[static_cast<int>(r.outcome)]},
              {"rounds", r.rounds},
              {"bytes", r.bytes},
              {"final_bytes", r.final_bytes},
              {"precopy_ns", r.precopy_ns},
              {"downtime_ns", r.downtime_ns}};
    if (!r.error.empty())
        j["error"] = r.error;
    json target = json::parse(r.target_reply, nullptr, false);
    if (target.is_object())
        j["target"] = std::move(target);
    if (r.outcome != MigrationReport::Outcome::Migrated)
        g_save_files.clear();
    std::string text = j.dump();
    (void)!::write(kLinkFd, text.data(), text.size());  // one message; allowed inside the sandbox
}

// A migration's target holds its restored VM before the first instruction
// until the source commits (lightvmd sends "go"), or drops it.
void wait_for_go() {
    auto msg = recv_message(kLinkFd);
    json j = msg && !msg->eof ? json::parse(msg->text, nullptr, false) : json();
    if (!j.is_object() || !j.value("go", false))
        ::_exit(0);
}

void save_done(const Result<void>& saved, uint64_t bytes, uint64_t save_ns) {
    g_save_files.clear();
    json j = saved ? json{{"saved", true}, {"bytes", bytes}, {"save_ns", save_ns}}
                   : json{{"saved", false}, {"error", saved.error().to_string()}};
    std::string text = j.dump();
    (void)!::write(kLinkFd, text.data(), text.size());  // one message; allowed inside the sandbox
}

// Host pages backed in a booted shell where its guest's frames go next:
// exec of the first program takes ~224 KiB there (page tables, the stack's
// populated top), and first touches of fresh host pages cost ~7 us each on
// this host's PVM (docs/design.md "Booted shells": exec 0.8 -> 0.57 ms for
// busybox). More buys little and costs every VM's density.
constexpr uint64_t kShellPrefault = 256 << 10;

void setup_process() {
    // lightvmd blocks SIGTERM/SIGINT in its threads; we inherit that mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    prepare_monitor_process();
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t mem = 256ull << 20;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!std::strcmp(argv[i], "--mem"))
            mem = std::strtoull(argv[i + 1], nullptr, 10);
    // An idle shell dies with the daemon; a running VM outlives it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() == 1)
        return 125;
    setup_process();

    // The guest kernel boots now, while the shell waits in the pool: a
    // start pays only for its workload (docs/design.md "Booted shells").
    auto vm = Vm::create(VmShape{mem, 1}, ShellOptions{true, kShellPrefault});
    if (!vm)
        fail(vm.error());
    // A shell has time before its request: it leaves the host's network,
    // IPC and UTS namespaces now, off the start path. It keeps a way back
    // into the host's network for a VM that asks for one (-p, --net
    // user|host: NetDevice::create), closed before the sandbox.
    UniqueFd host_netns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!host_netns.valid())
        fail(Error{ErrorKind::System, errno, "monitor", "/proc/thread-self/ns/net"});
    auto left = sandbox::leave_host_namespaces();
    if (!left)
        fail(left.error());
    if (!*left)
        host_netns = UniqueFd();  // without privilege we stayed: no way back needed (nor allowed: setns is EPERM)
    if (!send_message(kLinkFd, json{{"ready", true}, {"pid", ::getpid()}}.dump()))
        return 125;

    auto msg = recv_message(kLinkFd);
    // A restore brings its own kernel, booted: it needs a shell that never
    // ran. The booted one is torn down on a thread meanwhile (0.3-3.5 ms,
    // docs/platform.md), joined before the sandbox so that no thread
    // outlives it unconfined. {"fresh":true} asks for that now, ahead of
    // the workload: a migration's target, while the pages still come.
    std::thread teardown;
    auto make_fresh = [&] {
        if (!vm->booted())
            return;
        teardown = std::thread([old = std::move(*vm)]() mutable { (void)old; });
        vm = Vm::create(VmShape{mem, 1});
        if (!vm)
            fail(vm.error());
    };
    if (msg && !msg->eof && json::parse(msg->text, nullptr, false).value("fresh", false)) {
        make_fresh();
        msg = recv_message(kLinkFd);
    }
    if (!msg || msg->eof)
        return 0;  // pool drained or daemon gone: nothing to run
    ::prctl(PR_SET_PDEATHSIG, 0);
    json j = json::parse(msg->text, nullptr, false);
    const bool detached = j.is_object() && j.value("detached", false);
    // A background VM that saves itself ("save" in its create request)
    // also gets the two files: fds 5 and 6.
    if (j.is_discarded() || !j.is_object() ||
        (detached ? msg->fds.size() != 5 && msg->fds.size() != 7 : msg->fds.size() != 3 && msg->fds.size() != 4))
        fail(Error{ErrorKind::BadInput, 0, "monitor", "malformed workload message"});
    // A background VM outlives a lightvmd restart (daemon/recovery.cpp): we
    // write its log ourselves (stdout and stderr are output.log, rotated
    // here: lightvmd holds no descriptor for it, and output flows while no
    // daemon runs), and our report into a file as well as onto the link,
    // which ends with the daemon that made it.
    UniqueFd report_file = detached ? std::move(msg->fds[4]) : UniqueFd();
    const int report_fd = report_file.get();
    // `lightvm run` through the daemon sends the caller's working directory
    // too: its relative paths (APP, --fs, --disk) mean what they mean there.
    if (!detached && msg->fds.size() == 4 && ::fchdir(msg->fds[3].get()) != 0)
        fail(Error{ErrorKind::System, errno, "monitor", "cannot enter the caller's working directory"});
    auto config = config_from_json(j["config"]);
    if (!config)
        fail(config.error());
    // An image's VM: its writable layer is mounted now, before the sandbox
    // (a mount namespace of its own: allowed with threads, unlike a user
    // namespace; daemon/monitor_image.hpp).
    ImageRootFds image_fds;
    if (auto image = j.find("image"); image != j.end()) {
        auto prepared = prepare_image_root(*config, *image, msg->fds[2].get());
        if (!prepared)
            fail(prepared.error());
        image_fds = std::move(*prepared);
    }
    if (!config->restore_path.empty())
        make_fresh();
    config->host_netns_fd = host_netns.get();
    config->stdin_fd = msg->fds[0].get();
    config->stdout_fd = msg->fds[1].get();
    config->stderr_fd = msg->fds[2].get();
    config->diag_fd = msg->fds[2].get();
    if (detached) {
        config->log_dir_fd = msg->fds[3].get();
        config->log_max = j.value("log_max", uint64_t{8} << 20);
    }
    if (auto closed = j.find("stdio_closed"); closed != j.end() && closed->is_array() && closed->size() == 3)
        for (int i = 0; i < 3; ++i)
            config->stdio_closed[i] = (*closed)[i].is_boolean() && (*closed)[i].get<bool>();
    // lightvmd's snapshot API (POST /v1/vms/ID/snapshot).
    config->save.boot_id =
        j.contains("boot_id") && j["boot_id"].is_string() ? j["boot_id"].get<std::string>() : snapshot::host_boot_id();
    config->save.fetch = fetch_save;
    config->save.done = save_done;
    config->save.migrated = migration_done;
    if (detached && msg->fds.size() == 7 && (config->save.at_ready || config->save.after_seconds > 0)) {
        config->save.state_fd = msg->fds[5].get();
        config->save.mem_fd = msg->fds[6].get();
        config->save.self_done = self_save_done;
    }
    struct sigaction sa {};
    sa.sa_handler = on_save_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(save_signal(), &sa, nullptr);
    if (j.contains("t0") && j["t0"].is_number_unsigned())
        vm->set_time_base(j["t0"].get<uint64_t>());

    const VmConfig::User guest_user = config->user;
    auto work = Workload::prepare(std::move(*config));
    if (!work)
        fail(work.error());
    if (auto loaded = vm->load(std::move(*work)); !loaded)
        fail(loaded.error());
    host_netns = UniqueFd();  // every host socket is open: no way back into the host's network
    if (detached)
        if (auto relink = relink_listen(msg->fds[3].get()))
            g_relink = std::move(*relink);  // else: saveable only by this daemon (docs/api.md "Restart")
    (void)send_message(kLinkFd, json{{"loaded", true}}.dump());
    if (j.value("hold", false))
        wait_for_go();
    // Every host resource this VM needs is open: confine the process before
    // the guest's first instruction, as `lightvm run` does (docs/security.md).
    sandbox::Policy policy;
    bool passthrough = false;
    for (const auto& root : vm->share_roots()) {
        policy.dirs.push_back({root.fd, root.read_only});
        passthrough = passthrough || !root.mapped;
    }
    if (detached)  // its log rotates there
        policy.dirs.push_back({msg->fds[3].get(), false});
    policy.host_network = vm->host_network();  // --net user|host|ns, or a restore saved with --net user
    policy.keep_file_caps = sandbox::wants_file_caps(guest_user.uid, guest_user.gid, passthrough);
    policy.last_words = HostTty::restore_changed;  // a raw terminal never outlives us
    if (teardown.joinable())
        teardown.join();
    if (auto entered = sandbox::enter(policy); !entered)
        fail(entered.error());

    vm->leave_teardown_to_exit();
    auto report = vm->run();
    if (!report)
        fail(report.error());
    // The guest's output is complete: close our copies of its stdio now, so
    // the reader (the daemon's log pump, or the caller's pipe) sees EOF
    // before this process tears the VM down on exit.
    msg->fds.clear();
    // Plain write(): one SOCK_SEQPACKET message, and a call the sandbox allows.
    std::string text = report_to_json(*report).dump();
    if (report_fd >= 0)
        (void)!::pwrite(report_fd, text.data(), text.size(), 0);
    (void)!::write(kLinkFd, text.data(), text.size());
    ::_exit(0);
}

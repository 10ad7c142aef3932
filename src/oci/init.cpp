#include "common/fd_passing.hpp"
#include "oci/init.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "devices/system.hpp"
#include "lightvm/vm.hpp"
#include "monitor/exec_channel.hpp"
#include "monitor/process_setup.hpp"
#include "monitor/vm.hpp"
#include "oci/netns.hpp"
#include "sandbox/sandbox.hpp"

namespace lightvm::oci {

namespace {

}  // namespace

// process.terminal: a new pseudo-terminal; its master goes to whoever
// listens on the console socket (the shim), the guest gets the slave as
// stdin/stdout/stderr and controlling terminal.
Result<void> attach_console(const std::string& socket_path) {
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
        return sys_error("posix_openpt");
    const char* name = ::ptsname(master);
    int slave = name ? ::open(name, O_RDWR | O_NOCTTY) : -1;
    if (slave < 0)
        return sys_error("open pty slave");
    int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path)
        return make_error(ErrorKind::BadInput, "--console-socket", "path too long");
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
    if (sock < 0 || ::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return sys_error("connect --console-socket " + socket_path);
    // runc sends a name too; the shim ignores it.
    const std::string what = "send console to " + socket_path;
    TRY(send_with_fds(sock, "/dev/ptmx", std::span(&master, 1), what.c_str()));
    ::close(sock);
    ::close(master);
    for (int fd = 0; fd < 3; ++fd)
        ::dup2(slave, fd);
    if (slave > 2)
        ::close(slave);
    ::ioctl(0, TIOCSCTTY, 0);
    return {};
}

namespace {

// process.oomScoreAdj, on the VM's one host process (lowering it needs
// CAP_SYS_RESOURCE, as for runc).
Result<void> set_oom_score_adj(int score) {
    const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    const std::string text = std::to_string(score);
    const bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int err = errno;
    if (fd >= 0)
        ::close(fd);
    if (!ok)
        return sys_error("process.oomScoreAdj " + text, err);
    return {};
}

Result<Vm> build_vm(const InitArgs& a) {
    // First: guest RAM and the monitor's own memory are charged to the
    // container's cgroup from their first page, and admission (Workload)
    // measures that cgroup's headroom. The sandbox never touches cgroupfs.
    TRY(a.cgroup.join(static_cast<int>(::getpid())));
    if (a.spec.terminal)
        TRY(attach_console(a.console_socket));
    if (!a.spec.netns_path.empty())
        TRY(join_network_namespace(a.spec.netns_path));
    else if (a.spec.new_netns)
        TRY(new_network_namespace());
    if (a.spec.has_oom_score_adj)
        TRY(set_oom_score_adj(a.spec.oom_score_adj));
    ResolvedApp app = TRY(resolve_app(a.spec));
    VmConfig cfg = a.spec.vm;
    // The fd stays open for the process's life: the workload maps the file
    // through it, and the name cannot be swapped under us.
    cfg.app_path = "/proc/self/fd/" + std::to_string(app.fd);
    cfg.exe_path = app.guest_path;
    cfg.argv = a.spec.args;
    Workload work = TRY(Workload::prepare(std::move(cfg)));
    Vm vm = TRY(Vm::create(work.shape()));
    TRY(vm.load(std::move(work)));
    return vm;
}

void report(int fd, const std::string& text) {
    ssize_t n = ::write(fd, text.data(), text.size());
    (void)n;  // create sees EOF and reports the container as failed
    ::close(fd);
}

// Blocks until `start` opens the fifo for reading, then tells it we are going.
bool wait_for_start(const std::string& fifo) {
    int fd;
    while ((fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (fd < 0)
        return false;
    char go = '0';
    bool ok = ::write(fd, &go, 1) == 1;
    ::close(fd);
    return ok;
}

}  // namespace

void container_init(InitArgs a) {
    ::setsid();  // signals to the caller's process group (Ctrl-C in ctr) are not ours
    auto vm = build_vm(a);
    if (!vm) {
        report(a.ready_fd, vm.error().to_string());
        ::_exit(1);
    }
    // The exec channel is bound now, before the sandbox would forbid it;
    // requests wait in it until the guest runs.
    auto channel = ExecChannel::listen(a.exec_socket);
    if (!channel) {
        report(a.ready_fd, channel.error().to_string());
        ::_exit(1);
    }
    report(a.ready_fd, "ok");
    if (!wait_for_start(a.fifo))
        ::_exit(1);
    prepare_monitor_process();
    (*channel)->start(request_exec_news);
    vm->set_exec_channel(channel->get());
    sandbox::Policy policy;
    bool passthrough = false;
    for (const auto& root : vm->share_roots()) {
        policy.dirs.push_back({root.fd, root.read_only});
        passthrough = passthrough || !root.mapped;
    }
    policy.host_network = uses_host_sockets(a.spec.vm.net);
    policy.keep_file_caps = sandbox::wants_file_caps(a.spec.vm.user.uid, a.spec.vm.user.gid, passthrough);
    if (auto entered = sandbox::enter(policy); !entered) {
        std::fprintf(stderr, "lightvm-oci: %s\n", entered.error().to_string().c_str());
        ::_exit(125);
    }
    vm->leave_teardown_to_exit();
    auto result = vm->run();
    if (!result) {
        std::fprintf(stderr, "lightvm-oci: %s\n", result.error().to_string().c_str());
        ::_exit(125);
    }
    const Outcome& o = result->outcome;
    // A guest fault is reported as lightvm run does; a signal from outside
    // (docker stop) is not news to whoever sent it.
    if (!o.report.empty())
        std::fprintf(stderr, "lightvm-oci: %s\n", o.report.c_str());
    std::fflush(stderr);
    ::_exit(o.status);
}

}  // namespace lightvm::oci

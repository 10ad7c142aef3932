// `lightvm run` through lightvmd. The CLI connects to the run socket
// (SOCK_SEQPACKET) and sends one message: the VM's config as JSON and, with
// SCM_RIGHTS, its own stdin, stdout, stderr and working directory. The
// daemon takes a warm shell and hands those fds straight on to the monitor,
// so the guest's console is the caller's terminal or pipes with no copy in
// between. Then:
//
//   client -> daemon  {"config":{...},"stdio_closed":[b,b,b]} + 4 fds
//   client -> daemon  {"signal":N}     a signal the caller got (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT,
//                                      SIGUSR1, SIGWINCH, SIGCONT): sent to the monitor
//   daemon -> client  {"status":N,"signal":N,"report":"...","stopped_by":N,...}  the end
//                  or {"error":"one line","exit_code":N}                          no VM ran
//
// A client that goes away (its socket closes) takes its VM with it, as a
// killed `lightvm run` would. The VM is in the registry meanwhile (`ps`
// shows it, `stop`/`kill` work), marked attached, and removed when it ends.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "common/exit_codes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/link.hpp"
#include "lightvm/vm.hpp"

namespace lightvm::daemon {

namespace {

void reply_error(int client, const std::string& why, int exit_code) {
    (void)send_message(client, json{{"error", why}, {"exit_code", exit_code}}.dump());
}

}  // namespace

void Daemon::serve_attached(UniqueFd client) {
    auto msg = recv_message(client.get());
    const uint64_t t0 = monotonic_ns();
    if (!msg || msg->eof)
        return;
    json j = json::parse(msg->text, nullptr, false);
    if (!j.is_object() || !j.contains("config") || msg->fds.size() != 4)
        return reply_error(client.get(), "lightvmd: malformed run request", 125);
    auto config = config_from_json(j["config"]);
    if (!config)
        return reply_error(client.get(), config.error().to_string(), exit_code_for(config.error()));
    CreateRequest request;
    request.config = std::move(*config);
    request.auto_remove = true;
    auto admitted = admit(std::move(request), true);
    if (!admitted)
        return reply_error(client.get(), "lightvmd: " + admitted.error().message, 125);
    std::shared_ptr<VmRecord> vm = *admitted;
    {
        std::lock_guard lock(m_mu);
        vm->state = VmState::Running;
        vm->started_at = realtime_ns();
    }
    json extra = json::object();
    if (j.contains("stdio_closed"))
        extra["stdio_closed"] = j["stdio_closed"];
    std::vector<int> fds;
    for (const auto& fd : msg->fds)
        fds.push_back(fd.get());
    auto shell = launch(vm, t0, fds, extra);
    msg->fds.clear();  // the monitor has its own copies now
    if (!shell) {
        std::lock_guard lock(m_mu);
        reply_error(client.get(), vm->error, vm->exit_status);
        erase(vm->id);
        return;
    }

    json report;
    bool client_open = true;
    for (;;) {
        pollfd p[2] = {{shell->link.get(), POLLIN, 0}, {client_open ? client.get() : -1, POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents) {
            auto in = recv_message(client.get());
            json sig = in && !in->eof ? json::parse(in->text, nullptr, false) : json();
            if (sig.is_object() && sig.contains("signal") && sig["signal"].is_number_integer()) {
                int s = sig["signal"].get<int>();
                // What `lightvm run` forwards (monitor/vm.hpp request_signal).
                if (s == SIGINT || s == SIGTERM || s == SIGHUP || s == SIGQUIT || s == SIGUSR1 || s == SIGWINCH ||
                    s == SIGCONT)
                    ::kill(shell->pid, s);
            } else if (!in || in->eof) {
                // The caller is gone: its VM goes too.
                client_open = false;
                std::lock_guard lock(m_mu);
                vm->killed_by_request = true;
                ::kill(shell->pid, SIGKILL);
            }
        }
        if (p[0].revents) {
            auto in = recv_message(shell->link.get());
            if (!in || in->eof)
                break;
            json r = json::parse(in->text, nullptr, false);
            if (r.is_object())
                report = std::move(r);
            if (report.is_object() && report.contains("status"))
                break;  // the guest is done: answer before the monitor's teardown
        }
    }
    if (report.is_object() && report.contains("status") && client_open) {
        (void)send_message(client.get(), report.dump());
        client_open = false;
    }
    int ws = 0;
    while (::waitpid(shell->pid, &ws, 0) < 0 && errno == EINTR) {
    }
    std::lock_guard lock(m_mu);
    collect(*vm, report, ws);
    if (client_open) {
        json end = report.is_object() && report.contains("status")
                       ? report
                       : json{{"error", vm->error.empty() ? "monitor ended without a report" : vm->error},
                              {"exit_code", vm->exit_status}};
        (void)send_message(client.get(), end.dump());
    }
    if (!vm->removed)
        erase(vm->id);
}

}  // namespace lightvm::daemon

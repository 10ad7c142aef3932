// lightvmd as a live migration's source (docs/migration.md): POST
// /v1/vms/REF/migrate {"to": "HOST:PORT"}. The daemon connects and says
// hello; the VM's monitor does the rest on that connection (its pages are
// in the monitor's memory) and answers on its link when the VM moved, or
// did not.
#include <signal.h>

#include "lightvm/abi.h"
#include "daemon/daemon.hpp"
#include "daemon/link.hpp"
#include "daemon/migrate_net.hpp"
#include "lightvm/vm.hpp"
#include "migration/wire.hpp"
#include "snapshot/format.hpp"

namespace lightvm::daemon {

namespace {

json hello_for(const VmRecord& vm, const std::string& boot_id, const std::string& secret) {
    json j = {{"magic", migration::kMagic},
              {"version", migration::kProtocolVersion},
              {"abi", abi::kAbiVersion},
              {"boot_id", boot_id},
              {"mem_size", vm.request.config.mem_size},
              {"name", vm.name},
              {"rm", vm.request.auto_remove},
              {"source_id", vm.id}};
    if (!secret.empty())
        j["secret"] = secret;
    return j;
}

// The refusals that need no connection, under m_mu.
ApiResult<void> check_migratable(const VmRecord& vm) {
    const std::string id = vm.id.substr(0, 12);
    if (vm.attached)
        return api_error(409, "VM " + id + " belongs to a `lightvm run` in the foreground; only background VMs migrate");
    if (vm.state == VmState::Paused)
        return api_error(409, "VM " + id + " is paused; resume it first (a migration needs it running)");
    if (vm.state != VmState::Running)
        return api_error(409, "VM " + id + " is " + state_name(vm.state) + "; only a running VM can be migrated");
    if (vm.adopted && vm.link_fd < 0)
        return api_error(409, "VM " + id + " was found again after a lightvmd restart and its monitor offers no link (link.sock): it cannot migrate");
    if (vm.saving || vm.migrating)
        return api_error(409, "VM " + id + " is being saved or migrated already");
    if (vm.link_fd < 0)
        return api_error(409, "VM " + id + " is exiting");
    return {};
}

}  // namespace

ApiResult<json> Daemon::migrate(const std::string& ref, std::string_view body) {
    const uint64_t t0 = monotonic_ns();
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return api_error(400, "request: body must be a JSON object");
    if (auto ok = reject_unknown_fields(j, {"to"}, "request"); !ok)
        return api_error(400, ok.error().to_string());
    if (!j.contains("to") || !j["to"].is_string())
        return api_error(400, "to: missing (HOST:PORT of a lightvmd started with --migrate-listen)");
    const std::string to_text = j["to"].get<std::string>();
    auto to = parse_endpoint(to_text);
    if (!to)
        return api_error(400, "to: " + to.error().message);

    std::shared_ptr<VmRecord> vm;
    {
        std::unique_lock lock(m_mu);
        vm = TRY(find(ref));
        m_changed.wait(lock, [&] { return vm->pid > 0 || vm->state != VmState::Running; });
        TRY(check_migratable(*vm));
        vm->migrating = true;
        vm->migrating_to = to_text;
    }
    auto result = migrate_to(vm, *to, to_text, t0);
    std::lock_guard lock(m_mu);
    vm->migrating = false;
    return result;
}

ApiResult<json> Daemon::migrate_to(const std::shared_ptr<VmRecord>& vm, const Endpoint& to, const std::string& to_text,
                                   uint64_t t0) {
    const std::string short_id = vm->id.substr(0, 12);
    auto sock = connect_endpoint(to);
    if (!sock)
        return api_error(502, sock.error().message);
    json hello;
    {
        std::lock_guard lock(m_mu);
        hello = hello_for(*vm, m_boot_id, m_opt.migrate_secret);
    }
    auto accepted = migration::send_frame(sock->get(), migration::Frame::Hello, hello.dump())
                        .and_then([&] { return migration::expect_text(sock->get(), migration::Frame::Accept, 0); });
    if (!accepted)
        return api_error(502, to_text + ": " + accepted.error().message);

    std::unique_lock lock(m_mu);
    if (vm->state != VmState::Running || vm->link_fd < 0)
        return api_error(409, "VM " + short_id + " exited before it could migrate");
    vm->migrate_reply = json();
    if (!send_message(vm->link_fd, json{{"migrate", json::object()}}.dump(), {sock->get()}))
        return api_error(409, "VM " + short_id + " is exiting");
    ::kill(vm->pid, save_signal());
    m_changed.wait(lock, [&] { return !vm->migrate_reply.is_null() || vm->state == VmState::Exited || m_stopping; });
    json reply = std::move(vm->migrate_reply);
    vm->migrate_reply = json();
    if (!reply.is_object())
        return api_error(409, "VM " + short_id + (m_stopping ? ": lightvmd is shutting down" : " exited during the migration"));
    const std::string outcome = reply.value("outcome", "failed");
    const std::string error = reply.value("error", "");
    if (outcome == "failed")
        return api_error(502, "migration to " + to_text + " failed (the VM runs here): " + error);
    if (outcome == "unknown") {
        vm->state = VmState::Paused;
        vm->error = "migration to " + to_text + ": " + error;
        emit("paused", *vm);
        return api_error(502, "migration to " + to_text + ": " + error +
                                  "; the VM is paused here and may be running there: resume it here only if it is not");
    }
    json target = reply.value("target", json::object());
    return json{{"id", vm->id},
                {"to", to_text},
                {"target_id", target.value("id", "")},
                {"total_ns", monotonic_ns() - t0},
                {"precopy_ns", reply.value("precopy_ns", uint64_t{0})},
                {"downtime_ns", reply.value("downtime_ns", uint64_t{0})},
                {"bytes", reply.value("bytes", uint64_t{0})},
                {"final_bytes", reply.value("final_bytes", uint64_t{0})},
                {"rounds", reply.value("rounds", uint64_t{0})}};
}

}  // namespace lightvm::daemon

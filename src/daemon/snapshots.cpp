// lightvmd's side of snapshots (docs/api.md, "Snapshots"): reading a
// snapshot's memory size for admission and the pool, and saving a running
// VM through its monitor (Daemon::snapshot).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "daemon/daemon.hpp"
#include "daemon/link.hpp"
#include "snapshot/format.hpp"
#include "snapshot/state_file.hpp"

namespace lightvm::daemon {

namespace {

// A file the save writes into: PATH.part, renamed over PATH once complete,
// so a failed or interrupted save never leaves a half-written snapshot
// under the name (or truncates the file a restored VM still maps).
struct PartFile {
    std::string final_path, part_path;
    UniqueFd fd;
};

Result<PartFile> open_part(const std::string& path) {
    PartFile f{path, path + ".part", {}};
    f.fd = UniqueFd(::open(f.part_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!f.fd.valid())
        return make_error(ErrorKind::BadInput, "path", f.part_path + ": " + std::strerror(errno));
    return f;
}

}  // namespace

Result<uint64_t> snapshot_mem_size(const std::string& path) {
    auto bytes = TRY(snapshot::read_state_file(path));
    auto snap = snapshot::decode(bytes);
    if (!snap)
        return make_error(ErrorKind::BadInput, "snapshot", path + ": " + snap.error().message);
    VmConfig probe;
    probe.app_path = "snapshot";
    probe.mem_size = snap->mem_size;
    auto valid = validate(std::move(probe));
    if (!valid)
        return make_error(ErrorKind::BadInput, "snapshot", path + ": " + valid.error().message);
    return valid->mem_size;
}

ApiResult<json> Daemon::snapshot(const std::string& ref, std::string_view body) {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return api_error(400, "request: body must be a JSON object");
    if (auto ok = reject_unknown_fields(j, {"path", "stop"}, "request"); !ok)
        return api_error(400, ok.error().to_string());
    if (!j.contains("path") || !j["path"].is_string())
        return api_error(400, "path: missing (an absolute path for the state file; memory goes to PATH.mem)");
    if (j.contains("stop") && !j["stop"].is_boolean())
        return api_error(400, "stop: must be true or false");
    const std::string path = j["path"].get<std::string>();
    const bool stop_after = j.value("stop", false);
    if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos || path.back() == '/')
        return api_error(400, "path: '" + path + "' must be an absolute file path");

    std::unique_lock lock(m_mu);
    auto vm = TRY(find(ref));
    m_changed.wait(lock, [&] { return vm->pid > 0 || vm->state != VmState::Running; });
    const std::string short_id = vm->id.substr(0, 12);
    if (vm->attached)
        return api_error(
            409, "VM " + short_id + " belongs to a `lightvm run` in the foreground; only background VMs can be saved");
    if (vm->state != VmState::Running && vm->state != VmState::Paused)
        return api_error(
            409, "VM " + short_id + " is " + state_name(vm->state) + "; only a running or paused VM can be saved");
    if (vm->adopted && vm->link_fd < 0)
        return api_error(409,
                         "VM " + short_id +
                             " was found again after a lightvmd restart and its monitor offers no link (link.sock): it cannot be saved");
    if (vm->saving || vm->migrating)
        return api_error(409, "VM " + short_id + " is being saved or migrated already");
    if (vm->link_fd < 0)
        return api_error(409, "VM " + short_id + " is exiting");
    auto state_file = open_part(path);
    if (!state_file)
        return api_error(400, state_file.error().to_string());
    auto mem_file = open_part(path + ".mem");
    if (!mem_file) {
        ::unlink(state_file->part_path.c_str());
        return api_error(400, mem_file.error().to_string());
    }
    auto discard = [&] {
        ::unlink(state_file->part_path.c_str());
        ::unlink(mem_file->part_path.c_str());
    };
    json request = {{"save", {{"stop", stop_after}}}};
    if (auto sent = send_message(vm->link_fd, request.dump(), {state_file->fd.get(), mem_file->fd.get()}); !sent) {
        discard();
        return api_error(409, "VM " + short_id + " is exiting");
    }
    const bool paused = vm->state == VmState::Paused;
    vm->saving = true;
    vm->save_reply = json();
    ::kill(vm->pid, save_signal());
    if (paused)
        ::kill(vm->pid, SIGCONT);  // the save needs the vCPU thread; paused again after
    m_changed.wait(lock, [&] { return !vm->save_reply.is_null() || vm->state == VmState::Exited || m_stopping; });
    vm->saving = false;
    json reply = std::move(vm->save_reply);
    vm->save_reply = json();
    if (paused && vm->state == VmState::Paused && !stop_after)
        ::kill(vm->pid, SIGSTOP);
    if (!reply.is_object() || !reply.value("saved", false)) {
        discard();
        if (reply.is_object() && reply.contains("error") && reply["error"].is_string())
            return api_error(500, reply["error"].get<std::string>());
        return api_error(
            409, "VM " + short_id + (m_stopping ? ": lightvmd is shutting down" : " exited before it was saved"));
    }
    // Memory first, the state file last: a state file names a complete memory file.
    if (::rename(mem_file->part_path.c_str(), mem_file->final_path.c_str()) < 0 ||
        ::rename(state_file->part_path.c_str(), state_file->final_path.c_str()) < 0) {
        std::string why = std::strerror(errno);
        discard();
        return api_error(500, path + ": " + why);
    }
    vm->snapshots++;
    emit("saved", *vm);
    return json{{"id", vm->id},
                {"path", path},
                {"memory_path", path + ".mem"},
                {"bytes", reply.value("bytes", uint64_t{0})},
                {"save_ns", reply.value("save_ns", uint64_t{0})},
                {"stopped", stop_after}};
}

// m_mu held. Memory first, the state file last, as for a requested save.
void Daemon::self_saved(VmRecord& vm, const json& reply) {
    if (!vm.self_save_pending)
        return;
    vm.self_save_pending = false;
    const std::string& path = vm.request.save_path;
    const bool ok = reply.value("saved", false) &&
                    ::rename((path + ".mem.part").c_str(), (path + ".mem").c_str()) == 0 &&
                    ::rename((path + ".part").c_str(), path.c_str()) == 0;
    if (!ok) {
        ::unlink((path + ".part").c_str());
        ::unlink((path + ".mem.part").c_str());
        return;
    }
    vm.snapshots++;
    emit("saved", vm);
}

}  // namespace lightvm::daemon

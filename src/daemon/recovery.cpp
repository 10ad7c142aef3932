// lightvmd's restart recovery (issue 12): the daemon keeps no state that a
// restart cannot rebuild. Every VM is written to STATE_DIR/vms/ID/vm.json at
// each state change; a new daemon reads them back and supervises again each
// VM whose monitor still runs: same pid and start time (no reused pid), its
// end seen through a pidfd and its report read from report.json (the
// monitor link ended with the old daemon). Its log needs nothing: the
// monitor writes output.log itself, also while no daemon runs. Not recovered: the link itself (an adopted VM
// cannot be saved), metrics and events of the old daemon.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "daemon/daemon.hpp"
#include "daemon/images.hpp"
#include "daemon/link.hpp"

namespace lightvm::daemon {

namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// /proc/PID/stat field 3 (state): 'T' for a stopped (paused) monitor.
char process_state(pid_t pid) {
    std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : '?';
}

VmState state_from(const std::string& name) {
    for (auto s : {VmState::Created, VmState::Running, VmState::Paused, VmState::Exited})
        if (name == state_name(s))
            return s;
    return VmState::Exited;
}

}  // namespace

uint64_t process_start_time(pid_t pid) {
    std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos)
        return 0;
    std::istringstream fields(stat.substr(paren + 2));
    std::string f;
    // After the command name: state is field 3, starttime field 22.
    for (int i = 3; i <= 22 && fields >> f; ++i)
        if (i == 22)
            return std::strtoull(f.c_str(), nullptr, 10);
    return 0;
}

// m_mu held.
void Daemon::persist(const VmRecord& vm) {
    if (vm.attached || vm.dir.empty() || vm.persist_deferred)
        return;
    json j = to_json(vm);
    j["config"] = config_to_json(vm.request.config);
    j["monitor_start"] = vm.monitor_start;
    j["killed_by_request"] = vm.killed_by_request;
    const std::string path = vm.dir + "/vm.json", tmp = path + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "we")) {
        const std::string text = j.dump();
        const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
        if (std::fclose(f) == 0 && ok)
            ::rename(tmp.c_str(), path.c_str());
    }
}

void Daemon::recover() {
    std::error_code ec;
    struct Adopted {
        std::shared_ptr<VmRecord> vm;
        UniqueFd pidfd, link;
    };
    std::vector<Adopted> adopted;
    std::lock_guard lock(m_mu);
    for (const auto& entry : fs::directory_iterator(m_opt.state_dir + "/vms", ec)) {
        const std::string dir = entry.path().string();
        json j = json::parse(read_text(dir + "/vm.json"), nullptr, false);
        auto config = j.is_object() ? config_from_json(j.value("config", json())) : Result<VmConfig>();
        if (!j.is_object() || !config || j.value("id", "") != entry.path().filename().string()) {
            std::fprintf(stderr, "lightvmd: %s: no readable vm.json; left alone\n", dir.c_str());
            continue;
        }
        auto vm = std::make_shared<VmRecord>();
        vm->id = j.value("id", "");
        vm->name = j.value("name", "");
        vm->request.config = std::move(*config);
        vm->request.name = vm->name;
        vm->request.auto_remove = j.value("rm", false);
        vm->state = state_from(j.value("state", ""));
        vm->exit_status = j.value("exit_status", -1);
        vm->signal = j.value("signal", 0);
        vm->timed_out = j.value("timed_out", false);
        vm->report = j.value("report", "");
        vm->error = j.value("error", "");
        vm->created_at = j.value("created_at", uint64_t{0});
        vm->started_at = j.value("started_at", uint64_t{0});
        vm->finished_at = j.value("finished_at", uint64_t{0});
        vm->start_to_loaded_ns = j.value("start_to_loaded_ns", uint64_t{0});
        vm->stats = j.value("stats", json());
        vm->pid = j.value("pid", -1);
        vm->pooled = j.value("pooled", false);
        vm->snapshots = j.value("snapshots", 0u);
        vm->monitor_start = j.value("monitor_start", uint64_t{0});
        vm->killed_by_request = j.value("killed_by_request", false);
        vm->dir = dir;
        vm->request.image = image_from_json(j.value("image", json()));
        if (vm->request.image)  // held again until the VM is removed
            if (auto held = m_image_holds->acquire(m_opt.image_dir, vm->request.image->id); !held)
                std::fprintf(stderr, "lightvmd: VM %s: image %s: %s\n", vm->id.c_str(), vm->request.image->id.c_str(),
                             held.error().to_string().c_str());
        m_vms[vm->id] = vm;
        if (vm->state != VmState::Running && vm->state != VmState::Paused)
            continue;
        // Still the same monitor process? Then watch it.
        const bool alive = vm->pid > 0 && vm->monitor_start && process_start_time(vm->pid) == vm->monitor_start;
        UniqueFd pidfd(alive ? static_cast<int>(::syscall(SYS_pidfd_open, vm->pid, 0)) : -1);
        if (!pidfd.valid()) {
            // It ended while no daemon watched: its report says how, if it wrote one.
            json report = json::parse(read_text(dir + "/report.json"), nullptr, false);
            if (report.is_object() && report.contains("status"))
                collect(*vm, report, 0);
            else
                finish(*vm, 125, 0, "the VM ended while lightvmd was not running, without a report");
            continue;
        }
        vm->adopted = true;
        vm->state = process_state(vm->pid) == 'T' ? VmState::Paused : VmState::Running;
        emit("adopted", *vm);
        // Its monitor listens for us (a monitor of an older lightvmd does not:
        // such a VM runs on, but cannot be saved or migrated).
        auto link = relink_connect(dir);
        if (link)
            vm->link_fd = link->get();  // saves may come before its supervisor runs
        adopted.push_back(Adopted{vm, std::move(pidfd), link ? std::move(*link) : UniqueFd()});
    }
    for (auto& a : adopted) {
        m_supervisors++;
        std::thread([this, vm = a.vm, p = std::move(a.pidfd), l = std::move(a.link)]() mutable {
            supervise_adopted(vm, std::move(p), std::move(l));
        }).detach();
    }
}

void Daemon::supervise_adopted(std::shared_ptr<VmRecord> vm, UniqueFd pidfd, UniqueFd link) {
    // The link ends when the monitor does (its listener closes with it).
    json report = link.valid() ? pump_link(*vm, link.get()) : json();
    for (pollfd p{pidfd.get(), POLLIN, 0}; ::poll(&p, 1, -1) < 0 && errno == EINTR;) {
    }
    if (!report.is_object() || !report.contains("status"))
        report = json::parse(read_text(vm->dir + "/report.json"), nullptr, false);
    std::lock_guard lock(m_mu);
    if (report.is_object() && report.contains("status")) {
        collect(*vm, report, 0);
    } else if (vm->killed_by_request) {
        finish(*vm, 128 + SIGKILL, SIGKILL, "monitor process killed by SIGKILL");
    } else {
        // Not our child: its wait status went to its new parent.
        m_monitor_crashes++;
        finish(*vm, 125, 0, "monitor process ended without a report (found again after a lightvmd restart)");
    }
    if (vm->request.auto_remove && !vm->removed)
        erase(vm->id);
    m_supervisors--;
}

}  // namespace lightvm::daemon

#include "oci/commands.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "oci/cgroup_setup.hpp"
#include "oci/etc_binds.hpp"
#include "oci/hooks.hpp"
#include "oci/init.hpp"
#include "oci/log.hpp"
#include "oci/state.hpp"

namespace lightvm::oci {

namespace {

int fail(const std::string& message) {
    log_error(message);
    return 1;
}
int fail(const Error& e) { return fail(e.to_string()); }

Result<std::string> read_file(const std::string& path) {
    std::ifstream f(path);
    if (!f)
        return make_error(ErrorKind::NotFound, path, "cannot be read (" + std::string(std::strerror(errno)) + ")");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

Result<void> mkdir_p(const std::string& path) {
    for (size_t i = 1; i <= path.size(); ++i)
        if (i == path.size() || path[i] == '/') {
            std::string part = path.substr(0, i);
            if (::mkdir(part.c_str(), 0711) != 0 && errno != EEXIST)
                return sys_error("mkdir " + part);
        }
    return {};
}

// Waits until `pid` has exited (a zombie counts: it is someone else's
// child, the shim's, to reap). pidfd works for non-children.
bool wait_gone(int pid, int timeout_ms) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0)
        return errno == ESRCH;
    pollfd p{fd, POLLIN, 0};
    bool gone = ::poll(&p, 1, timeout_ms) == 1;
    ::close(fd);
    return gone;
}

}  // namespace

// The pid file is written whole under a temporary name, as runc does:
// the shim reads it as soon as create returns.
Result<void> write_pid_file(const std::string& path, int pid) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        if (!f || !(f << pid) || !f.flush())
            return sys_error("write --pid-file " + path);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return sys_error("rename --pid-file " + path);
    return {};
}

namespace {

// Forks the container's process and waits for its verdict on building the VM.
Result<int> spawn_init(InitArgs args) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0)
        return sys_error("pipe");
    pid_t pid = ::fork();
    if (pid < 0)
        return sys_error("fork");
    if (pid == 0) {
        ::close(ready[0]);
        args.ready_fd = ready[1];
        container_init(std::move(args));
    }
    ::close(ready[1]);
    std::string verdict;
    char buf[512];
    ssize_t n;
    while ((n = ::read(ready[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            verdict.append(buf, static_cast<size_t>(n));
    ::close(ready[0]);
    if (verdict == "ok")
        return pid;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    // The verdict is already one "where: message" line.
    return make_error(ErrorKind::BadInput, verdict.empty() ? "create" : "",
                      verdict.empty() ? "the container's process died while building the VM" : verdict);
}

void kill_and_reap(int pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

Result<int> create(const Global& g, const CreateOptions& o, const std::string& id) {
    TRY(check_container_id(id));
    char real[PATH_MAX];
    if (!::realpath(o.bundle.c_str(), real))
        return make_error(ErrorKind::NotFound, "bundle " + o.bundle, "does not exist");
    std::string bundle = real;
    auto text = read_file(bundle + "/config.json");
    if (!text)
        return make_error(ErrorKind::NotFound, "bundle " + bundle, "no readable config.json");
    ContainerSpec spec = TRY(parse_spec(*text, bundle));
    TRY(apply_etc_binds(spec));
    if (spec.terminal && o.console_socket.empty())
        return make_error(ErrorKind::BadInput, "config.json",
                          "process.terminal is true but no --console-socket was given");
    if (!spec.terminal && !o.console_socket.empty())
        return make_error(ErrorKind::BadInput, "--console-socket", "given but process.terminal is false");
    TRY(mkdir_p(g.root));
    std::string dir = container_dir(g.root, id);
    if (::mkdir(dir.c_str(), 0700) != 0)
        return errno == EEXIST ? make_error(ErrorKind::BadInput, "container " + id, "already exists")
                               : sys_error("mkdir " + dir);
    auto cgroup = make_container_cgroup(spec, id, g.systemd_cgroup, spec.warnings);
    if (!cgroup) {
        remove_container_dir(g.root, id);
        return tl::unexpected(cgroup.error());
    }
    for (const auto& w : spec.warnings)
        log_warning(w);
    if (::mkfifo(fifo_path(g.root, id).c_str(), 0600) != 0) {
        auto e = sys_error("mkfifo " + fifo_path(g.root, id));
        discard_cgroup(*cgroup);
        remove_container_dir(g.root, id);
        return e;
    }
    ContainerRecord r;
    r.id = id;
    r.bundle = bundle;
    r.oci_version = spec.oci_version;
    r.created = now_rfc3339();
    r.annotations = spec.annotations;
    r.hooks = spec.hooks;
    record_cgroup(r, *cgroup);
    r.guest_ram = spec.vm.mem_size;
    r.vcpus = spec.vm.cpus;
    auto pid = spawn_init(
        InitArgs{spec, fifo_path(g.root, id), o.console_socket, exec_socket_path(g.root, id), *cgroup, -1});
    if (!pid) {
        discard_cgroup(*cgroup);
        remove_container_dir(g.root, id);
        return tl::unexpected(pid.error());
    }
    r.pid = *pid;
    r.start_time = process_start_time(*pid);
    auto finish = [&]() -> Result<void> {
        TRY(write_record(g.root, r));
        std::string state = state_json(r, Status::Created);
        TRY(run_hooks(spec.hooks.prestart, "prestart", state));
        TRY(run_hooks(spec.hooks.create_runtime, "createRuntime", state));
        TRY(run_hooks(spec.hooks.create_container, "createContainer", state));
        if (!o.pid_file.empty())
            TRY(write_pid_file(o.pid_file, *pid));
        return {};
    };
    if (auto done = finish(); !done) {
        kill_and_reap(*pid);
        discard_cgroup(*cgroup);
        remove_container_dir(g.root, id);
        return tl::unexpected(done.error());
    }
    return 0;
}

Result<ContainerRecord> find(const Global& g, const std::string& id) {
    TRY(check_container_id(id));
    return read_record(g.root, id);
}

Result<int> start(const Global& g, const std::string& id) {
    ContainerRecord r = TRY(find(g, id));
    Status s = status_of(g.root, r);
    if (s != Status::Created)
        return make_error(ErrorKind::BadInput, "container " + id,
                          std::string("cannot start a container that is ") + status_name(s));
    TRY(run_hooks(r.hooks.start_container, "startContainer", state_json(r, s)));
    std::string fifo = fifo_path(g.root, id);
    int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return sys_error("open " + fifo);
    // The container's process is blocked opening the other end; it writes
    // one byte and goes. If it died meanwhile, say so rather than wait.
    char go = 0;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) == 1 && ::read(fd, &go, 1) == 1)
            break;
        if (status_of(g.root, r) == Status::Stopped) {
            ::close(fd);
            return make_error(ErrorKind::System, "container " + id, "its process exited before start");
        }
    }
    ::close(fd);
    ::unlink(fifo.c_str());
    if (auto hooks = run_hooks(r.hooks.poststart, "poststart", state_json(r, Status::Running)); !hooks)
        log_warning(hooks.error().to_string());  // the spec: a failed poststart hook is a warning
    return 0;
}

Result<int> remove(const Global& g, const std::string& id, bool force) {
    auto found = find(g, id);
    if (!found) {
        // runc: deleting what is not there with --force is not an error.
        if (force && found.error().kind == ErrorKind::NotFound)
            return 0;
        return tl::unexpected(found.error());
    }
    const ContainerRecord& r = *found;
    Status s = status_of(g.root, r);
    if ((s == Status::Running || s == Status::Paused) && !force)
        return make_error(ErrorKind::BadInput, "container " + id,
                          std::string("cannot delete a container that is ") + status_name(s) + " (use --force)");
    if (s != Status::Stopped) {
        ::kill(r.pid, SIGKILL);
        if (!wait_gone(r.pid, 10000))
            return make_error(ErrorKind::System, "container " + id, "its process did not die within 10 s of SIGKILL");
    }
    // The cgroup goes first: if it cannot, the record stays for a retry.
    if (auto cg = recorded_cgroup(r))
        TRY(cg->remove());
    remove_container_dir(g.root, id);
    if (auto hooks = run_hooks(r.hooks.poststop, "poststop", state_json(r, Status::Stopped)); !hooks)
        log_warning(hooks.error().to_string());  // the spec: a failed poststop hook is a warning
    return 0;
}

}  // namespace

int parse_signal(const std::string& text) {
    if (text.empty())
        return 0;
    if (std::isdigit(static_cast<unsigned char>(text[0]))) {
        char* end = nullptr;
        long v = std::strtol(text.c_str(), &end, 10);
        return *end == '\0' && v > 0 && v < 65 ? static_cast<int>(v) : 0;
    }
    std::string name = text.rfind("SIG", 0) == 0 ? text.substr(3) : text;
    for (int sig = 1; sig < 32; ++sig) {
        const char* abbrev = ::sigabbrev_np(sig);
        if (abbrev && name == abbrev)
            return sig;
    }
    return 0;
}

int cmd_create(const Global& g, const CreateOptions& o, const std::string& id) {
    auto r = create(g, o, id);
    return r ? *r : fail(r.error());
}

int cmd_start(const Global& g, const std::string& id) {
    auto r = start(g, id);
    return r ? *r : fail(r.error());
}

int cmd_state(const Global& g, const std::string& id) {
    auto r = find(g, id);
    if (!r)
        return fail(r.error());
    std::printf("%s\n", state_json(*r, status_of(g.root, *r)).c_str());
    return 0;
}

int cmd_kill(const Global& g, const std::string& id, const std::string& signal, bool /*all: one process*/) {
    int sig = parse_signal(signal.empty() ? "SIGTERM" : signal);
    if (!sig)
        return fail("kill: '" + signal + "' is not a signal");
    auto r = find(g, id);
    if (!r)
        return fail(r.error());
    Status s = status_of(g.root, *r);
    if (s == Status::Stopped)
        return fail("container " + id + ": not running");
    if (::kill(r->pid, sig) != 0)
        return fail(sys_error("kill").value());
    return 0;
}

int cmd_delete(const Global& g, const std::string& id, bool force) {
    auto r = remove(g, id, force);
    return r ? *r : fail(r.error());
}

int cmd_ps(const Global& g, const std::string& id, const std::string& format) {
    if (format != "table" && format != "json")
        return fail("ps: --format '" + format + "' (table or json)");
    auto r = find(g, id);
    if (!r)
        return fail(r.error());
    // The container is one host process: the VM's monitor. The guest's own
    // processes live inside the VM.
    bool alive = status_of(g.root, *r) != Status::Stopped;
    if (format == "json")
        std::printf("%s\n", alive ? ("[" + std::to_string(r->pid) + "]").c_str() : "[]");
    else {
        std::printf("PID\n");
        if (alive)
            std::printf("%d\n", r->pid);
    }
    return 0;
}

int cmd_pause(const Global& g, const std::string& id, bool pause) {
    auto r = find(g, id);
    if (!r)
        return fail(r.error());
    Status s = status_of(g.root, *r);
    if (pause ? s != Status::Running : s != Status::Paused)
        return fail("container " + id + ": cannot " + (pause ? "pause" : "resume") + " a container that is " +
                    status_name(s));
    // SIGSTOP freezes the monitor and with it the vCPU: the guest's time
    // stands still until SIGCONT (docs/oci.md).
    if (::kill(r->pid, pause ? SIGSTOP : SIGCONT) != 0)
        return fail(sys_error("kill").value());
    for (int i = 0; i < 200; ++i) {  // report done when it is: `state` right after says so
        Status now = status_of(g.root, *r);
        if (now == (pause ? Status::Paused : Status::Running) || now == Status::Stopped)
            break;
        ::usleep(5000);
    }
    return 0;
}

int cmd_list(const Global& g, const std::string& format) {
    nlohmann::json all = nlohmann::json::array();
    if (DIR* d = ::opendir(g.root.c_str())) {
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.')
                continue;
            if (auto r = read_record(g.root, e->d_name))
                all.push_back(nlohmann::json::parse(state_json(*r, status_of(g.root, *r))));
        }
        ::closedir(d);
    }
    if (format == "json") {
        std::printf("%s\n", all.dump().c_str());
        return 0;
    }
    std::printf("%-20s %-8s %-8s %s\n", "ID", "PID", "STATUS", "BUNDLE");
    for (const auto& c : all)
        std::printf("%-20s %-8d %-8s %s\n", c["id"].get<std::string>().c_str(), c["pid"].get<int>(),
                    c["status"].get<std::string>().c_str(), c["bundle"].get<std::string>().c_str());
    return 0;
}

int cmd_features() {
    nlohmann::json f = {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", "1.1.0"},
        {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
        {"mountOptions", {"bind", "rbind", "ro", "rw", "size"}},
        {"linux",
         {{"namespaces", {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"}},
          {"capabilities", nlohmann::json::array()},
          {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", false}}},
          {"seccomp", {{"enabled", false}}},
          {"apparmor", {{"enabled", false}}},
          {"selinux", {{"enabled", false}}}}},
        {"annotations",
         {{"io.lightvm.isolation", "vm"},
          {"io.lightvm.options", "io.lightvm.memory, io.lightvm.timeout, io.lightvm.overcommit"}}}};
    std::printf("%s\n", f.dump(2).c_str());
    return 0;
}

}  // namespace lightvm::oci

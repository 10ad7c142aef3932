// `lightvm-oci exec`: a new process in a running container's VM
// (docs/oci.md "exec"). The process is described as runc takes it
// (--process process.json, or the container's own process with the
// command-line changes), checked and its program found inside the
// container's root here, then sent to the VM's monitor on its exec channel
// with three sockets for its stdio; the relay (exec_relay.hpp) is what the
// caller watches.
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/fd_passing.hpp"
#include "monitor/exec_channel.hpp"
#include "oci/commands.hpp"
#include "oci/exec_relay.hpp"
#include "oci/init.hpp"
#include "oci/log.hpp"
#include "oci/spec.hpp"
#include "oci/state.hpp"

namespace lightvm::oci {

namespace {

using json = nlohmann::json;

Result<json> read_json(const std::string& path, const std::string& what) {
    std::ifstream f(path);
    if (!f)
        return make_error(ErrorKind::NotFound, what + " " + path, "cannot be read");
    std::stringstream s;
    s << f.rdbuf();
    json j = json::parse(s.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
        return make_error(ErrorKind::BadInput, what, "not a valid JSON object");
    return j;
}

// The process as runc's exec builds it: process.json whole, or the
// container's process with the command line's changes.
Result<json> exec_process(const ExecOptions& o, const json& config) {
    if (!o.process.empty())
        return read_json(o.process, "--process");
    json p = config.value("process", json::object());
    if (o.args.empty())
        return make_error(ErrorKind::BadInput, "exec", "no command given (ARGS or --process)");
    p["args"] = o.args;
    p["terminal"] = o.tty;
    if (!o.cwd.empty())
        p["cwd"] = o.cwd;
    for (const auto& e : o.env)
        p["env"].push_back(e);
    if (!o.user.empty()) {
        const auto colon = o.user.find(':');
        try {
            p["user"] = json::object();
            p["user"]["uid"] = std::stoul(o.user.substr(0, colon));
            p["user"]["gid"] = colon == std::string::npos ? 0ul : std::stoul(o.user.substr(colon + 1));
        } catch (const std::exception&) {
            return make_error(ErrorKind::BadInput, "--user", "'" + o.user + "' is not UID[:GID]");
        }
    }
    return p;
}

// process.consoleSize (what containerd passes for `docker exec -t`): the
// terminal's size before the process runs, as runc sets it; 0 x 0 if absent.
ExecResizeMsg console_size(const json& process) {
    ExecResizeMsg m;
    const json c = process.value("consoleSize", json::object());
    if (c.is_object()) {
        m.rows = static_cast<uint16_t>(c.value("height", 0u));
        m.cols = static_cast<uint16_t>(c.value("width", 0u));
    }
    return m;
}

// The container's config.json with this process in it goes through the
// same checks as create's; the program is found in the root as create
// finds it (PATH of the process's env, symlinks inside the root).
Result<ContainerSpec> exec_spec(const ContainerRecord& r, const ExecOptions& o, std::string* guest_path,
                                ExecResizeMsg* size) {
    json config = TRY(read_json(r.bundle + "/config.json", "config.json"));
    json process = TRY(exec_process(o, config));
    *size = console_size(process);
    if (!process.contains("cwd"))
        process["cwd"] = "/";
    config["process"] = process;
    ContainerSpec spec = TRY(parse_spec(config.dump(), r.bundle));
    if (spec.args.empty())
        return make_error(ErrorKind::BadInput, "process.args", "empty");
    ResolvedApp app = TRY(resolve_app(spec));
    ::close(app.fd);
    *guest_path = app.guest_path;
    return spec;
}

Result<std::vector<char>> encode(const ContainerSpec& spec, const std::string& path, const ExecResizeMsg& size) {
    abi::ExecRequest h{};
    h.kind = abi::kExecStart;
    h.flags = spec.terminal ? uint32_t{abi::kExecTty} : 0u;
    if (spec.terminal)  // the terminal's size before the program runs (abi.h kExecTty)
        h.signal = uint32_t{size.rows} << 16 | size.cols;
    h.argc = static_cast<uint32_t>(spec.args.size());
    h.envc = static_cast<uint32_t>(spec.vm.env.size());
    const auto& u = spec.vm.user;
    h.uid = u.uid;
    h.gid = u.gid;
    // As the first process's (guest creds_boot): root alone has no groups.
    if (u.uid || u.gid || !u.groups.empty()) {
        h.groups[h.ngroups++] = u.gid;
        for (uint32_t g : u.groups)
            if (h.ngroups < abi::kExecMaxGroups)
                h.groups[h.ngroups++] = g;
    }
    if (path.size() >= sizeof h.path || spec.vm.cwd.size() >= sizeof h.cwd)
        return make_error(ErrorKind::BadInput, "process", "program path or cwd too long");
    std::memcpy(h.path, path.c_str(), path.size());
    std::memcpy(h.cwd, spec.vm.cwd.c_str(), spec.vm.cwd.size());
    std::string strings;
    for (const auto* list : {&spec.args, &spec.vm.env})
        for (const auto& s : *list)
            strings.append(s).push_back('\0');
    if (sizeof h + strings.size() > abi::kExecRequestMax)
        return make_error(ErrorKind::BadInput, "process", "arguments and environment over 64 KiB");
    h.strings_len = static_cast<uint32_t>(strings.size());
    std::vector<char> msg(sizeof h + strings.size());
    std::memcpy(msg.data(), &h, sizeof h);
    std::memcpy(msg.data() + sizeof h, strings.data(), strings.size());
    return msg;
}

// Three socket pairs: ours (relay) and the guest's (sent to the monitor).
Result<void> send_request(int control, const std::vector<char>& msg, RelayFds* ours) {
    int theirs[3];
    int* mine[3] = {&ours->in, &ours->out, &ours->err};
    for (int i = 0; i < 3; ++i) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            return sys_error("socketpair");
        *mine[i] = sv[0];
        theirs[i] = sv[1];
    }
    auto sent = send_with_fds(control, std::string_view(msg.data(), msg.size()), theirs, "send to the VM's exec channel");
    for (int fd : theirs)
        ::close(fd);
    return sent;
}

Result<void> make_raw(int fd) {
    termios t{};
    if (::tcgetattr(fd, &t) != 0)
        return sys_error("tcgetattr of the console");
    ::cfmakeraw(&t);
    if (::tcsetattr(fd, TCSANOW, &t) != 0)
        return sys_error("tcsetattr of the console");
    return {};
}

Result<void> write_pid(const std::string& path, int pid) {
    return path.empty() ? Result<void>{} : write_pid_file(path, pid);
}

Result<int> exec(const Global& g, const ExecOptions& o, const std::string& id) {
    TRY(check_container_id(id));
    ContainerRecord r = TRY(read_record(g.root, id));
    Status s = status_of(g.root, r);
    if (s != Status::Running)
        return make_error(ErrorKind::BadInput, "container " + id,
                          std::string("cannot exec in a container that is ") + status_name(s));
    std::string path;
    ExecResizeMsg size;
    auto spec = exec_spec(r, o, &path, &size);
    if (!spec) {
        // runc's statuses for a program that is not there (or not runnable).
        const int status = spec.error().kind == ErrorKind::NotFound && spec.error().where == "process.args" ? 127
                           : spec.error().kind == ErrorKind::BadExecutable                                ? 126
                                                                                                           : 1;
        log_error(spec.error().to_string());
        return status;
    }
    if (spec->terminal && o.console_socket.empty())
        return make_error(ErrorKind::BadInput, "exec", "process.terminal is true but no --console-socket was given");
    std::vector<char> msg = TRY(encode(*spec, path, size));
    RelayFds fds{};
    fds.control = TRY(ExecChannel::connect(exec_socket_path(g.root, id)));
    TRY(send_request(fds.control, msg, &fds));
    // process.terminal: the guest process gets a terminal of the guest's
    // (kExecTty); the console socket's pty is the relay's stdio, raw, so
    // every key reaches the guest's line discipline (echo, ^C) and its
    // output comes back as it is (docs/oci.md "exec").
    if (spec->terminal) {
        TRY(attach_console(o.console_socket));
        TRY(make_raw(0));
        fds.tty = true;
    }
    if (!o.detach) {
        TRY(write_pid(o.pid_file, ::getpid()));
        relay_exec(fds);
    }
    pid_t pid = ::fork();
    if (pid < 0)
        return sys_error("fork");
    if (pid == 0) {
        ::setsid();  // the caller's Ctrl-C is not ours
        relay_exec(fds);
    }
    TRY(write_pid(o.pid_file, pid));
    return 0;
}

}  // namespace

int cmd_exec(const Global& g, const ExecOptions& o, const std::string& id) {
    auto r = exec(g, o, id);
    if (r)
        return *r;
    log_error(r.error().to_string());
    return 1;
}

}  // namespace lightvm::oci

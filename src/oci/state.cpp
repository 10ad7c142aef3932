#include "oci/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lightvm::oci {

namespace {

using json = nlohmann::json;

json hook_list_json(const std::vector<Hook>& hooks) {
    json out = json::array();
    for (const auto& h : hooks)
        out.push_back({{"path", h.path}, {"args", h.args}, {"env", h.env}, {"timeout", h.timeout_seconds}});
    return out;
}

std::vector<Hook> hook_list(const json& j) {
    std::vector<Hook> out;
    if (!j.is_array())
        return out;
    for (const auto& h : j)
        out.push_back(Hook{h.value("path", std::string()), h.value("args", std::vector<std::string>()),
                           h.value("env", std::vector<std::string>()), h.value("timeout", 0)});
    return out;
}

// 'S', 'R', 'T' (stopped), ... from /proc/PID/stat; 0 if gone.
char process_state(int pid, uint64_t* start_time) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    std::ifstream f(path);
    std::string line;
    if (!std::getline(f, line))
        return 0;
    // "pid (comm) S ppid ...": comm may hold spaces and ')', so parse from the last ')'.
    size_t close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size())
        return 0;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    char state = 0;
    for (int i = 3; rest >> field; ++i) {
        if (i == 3)
            state = field[0];
        if (i == 22) {
            if (start_time)
                *start_time = std::strtoull(field.c_str(), nullptr, 10);
            break;
        }
    }
    return state;
}

}  // namespace

const char* status_name(Status s) {
    switch (s) {
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Paused: return "paused";
    case Status::Stopped: return "stopped";
    }
    return "stopped";
}

std::string container_dir(const std::string& root, const std::string& id) { return root + "/" + id; }
std::string fifo_path(const std::string& root, const std::string& id) { return container_dir(root, id) + "/exec.fifo"; }
std::string exec_socket_path(const std::string& root, const std::string& id) {
    return container_dir(root, id) + "/exec.sock";
}

uint64_t process_start_time(int pid) {
    uint64_t t = 0;
    return process_state(pid, &t) ? t : 0;
}

std::string now_rfc3339() {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm utc;
    ::gmtime_r(&ts.tv_sec, &utc);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ts.tv_nsec);
    return buf;
}

Result<void> write_record(const std::string& root, const ContainerRecord& r) {
    json j = {{"id", r.id},
              {"bundle", r.bundle},
              {"ociVersion", r.oci_version},
              {"pid", r.pid},
              {"startTime", r.start_time},
              {"created", r.created},
              {"annotations", r.annotations},
              {"hooks",
               {{"startContainer", hook_list_json(r.hooks.start_container)},
                {"poststart", hook_list_json(r.hooks.poststart)},
                {"poststop", hook_list_json(r.hooks.poststop)}}},
              {"cgroup", {{"path", r.cgroup_path}, {"v2", r.cgroup_v2}, {"mount", r.cgroup_mount}}},
              {"guestRam", r.guest_ram},
              {"vcpus", r.vcpus}};
    // Written whole, then renamed: a concurrent `state` never sees half a file.
    std::string path = container_dir(root, r.id) + "/state.json";
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return sys_error("open " + tmp);
    std::string text = j.dump();
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
        return sys_error("write " + path);
    return {};
}

Result<ContainerRecord> read_record(const std::string& root, const std::string& id) {
    std::string path = container_dir(root, id) + "/state.json";
    std::ifstream f(path);
    if (!f)
        return make_error(ErrorKind::NotFound, "container " + id, "does not exist");
    std::stringstream text;
    text << f.rdbuf();
    json j = json::parse(text.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return make_error(ErrorKind::System, path, "corrupt state file");
    try {
        ContainerRecord r;
        r.id = j.value("id", id);
        r.bundle = j.value("bundle", std::string());
        r.oci_version = j.value("ociVersion", std::string("1.0.2"));
        r.pid = j.value("pid", 0);
        r.start_time = j.value("startTime", uint64_t(0));
        r.created = j.value("created", std::string());
        r.annotations = j.value("annotations", std::map<std::string, std::string>());
        const json hooks = j.value("hooks", json::object());
        r.hooks.start_container = hook_list(hooks.value("startContainer", json()));
        r.hooks.poststart = hook_list(hooks.value("poststart", json()));
        r.hooks.poststop = hook_list(hooks.value("poststop", json()));
        const json cg = j.value("cgroup", json::object());
        r.cgroup_path = cg.value("path", std::string());
        r.cgroup_v2 = cg.value("v2", false);
        r.cgroup_mount = cg.value("mount", std::string());
        r.guest_ram = j.value("guestRam", uint64_t(0));
        r.vcpus = j.value("vcpus", uint32_t(0));
        return r;
    } catch (const json::exception&) {
        return make_error(ErrorKind::System, path, "corrupt state file");
    }
}

Status status_of(const std::string& root, const ContainerRecord& r) {
    if (r.pid <= 0)
        return Status::Stopped;
    uint64_t start = 0;
    char state = process_state(r.pid, &start);
    // A zombie has exited: its parent (the shim) has not collected it yet.
    if (!state || state == 'Z' || state == 'X' || start != r.start_time)
        return Status::Stopped;
    if (state == 'T' || state == 't')
        return Status::Paused;
    struct stat st;
    if (::stat(fifo_path(root, r.id).c_str(), &st) == 0)
        return Status::Created;
    return Status::Running;
}

std::string state_json(const ContainerRecord& r, Status s) {
    json j = {{"ociVersion", r.oci_version},
              {"id", r.id},
              {"status", status_name(s)},
              {"pid", s == Status::Stopped ? 0 : r.pid},
              {"bundle", r.bundle},
              {"created", r.created}};
    j["annotations"] = r.annotations;
    return j.dump();
}

void remove_container_dir(const std::string& root, const std::string& id) {
    std::string dir = container_dir(root, id);
    for (const char* name : {"/exec.fifo", "/exec.sock", "/state.json", "/state.json.tmp"})
        ::unlink((dir + name).c_str());
    ::rmdir(dir.c_str());
}

}  // namespace lightvm::oci

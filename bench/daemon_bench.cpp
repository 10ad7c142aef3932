// Start latency through lightvmd's warm pool against a cold `lightvm run`
// and a native posix_spawn of the same static no-op binary, alternating in
// one run. Starts its own lightvmd on a private socket.
//   pooled: POST /v1/vms?start=1 (create + start) -> the guest's main
//           (guest TSC, relative to the request's arrival in the daemon),
//           and client request -> exited (POST .../wait returned)
//   run via daemon: posix_spawn(lightvm run --socket S APP) -> exit: the
//           CLI hands its stdio to the daemon, which runs APP in a warm shell
//   cold:   posix_spawn(lightvm run --no-daemon APP) -> exit
//   native: posix_spawn(APP) -> exit
// usage: daemon_bench LIGHTVM_DIR APP [--runs N]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/client.hpp"

extern char** environ;
using nlohmann::json;

namespace {

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

pid_t spawn(const std::vector<std::string>& args, bool quiet = true) {
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (quiet) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
        std::perror("posix_spawn");
        std::exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

uint64_t spawn_wait(const std::vector<std::string>& args) {
    uint64_t t0 = now_ns();
    pid_t pid = spawn(args);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        std::fprintf(stderr, "daemon_bench: %s failed\n", args[0].c_str());
        std::exit(1);
    }
    return now_ns() - t0;
}

double pct(std::vector<uint64_t> v, double p) {
    std::sort(v.begin(), v.end());
    return static_cast<double>(v[static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5)]) / 1000.0;
}

json call(const std::string& sock, const char* method, const std::string& target, const std::string& body = "") {
    auto r = lightvm::cli::http_request(sock, method, target, body);
    if (!r || r->status >= 300) {
        std::fprintf(stderr, "daemon_bench: %s %s failed: %s\n", method, target.c_str(),
                     r ? r->body.c_str() : r.error().to_string().c_str());
        std::exit(1);
    }
    return json::parse(r->body);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: daemon_bench LIGHTVM_DIR APP [--runs N]\n");
        return 2;
    }
    std::string dir = argv[1], app = argv[2];
    int runs = argc > 4 && !std::strcmp(argv[3], "--runs") ? std::atoi(argv[4]) : 200;
    char tmpl[] = "/tmp/lightvm-bench.XXXXXX";
    std::string tmp = mkdtemp(tmpl);
    std::string sock = tmp + "/sock";
    pid_t daemon = spawn({dir + "/lightvmd", "--socket", sock, "--state-dir", tmp + "/state", "--pool", "4",
                          "--pool-mem", "64M"});
    for (int i = 0; i < 200 && access(sock.c_str(), F_OK) != 0; ++i)
        usleep(20000);
    usleep(300000);  // let the pool fill
    std::string body = json{{"app", app}, {"memory", "64M"}}.dump();
    std::vector<uint64_t> to_main, to_loaded, to_exit, via_daemon, cold, native, exits, to_image, to_kernel, to_prepare,
        to_checked, to_sent;
    for (int i = 0; i < runs; ++i) {
        uint64_t t0 = now_ns();
        json created = call(sock, "POST", "/v1/vms?start=1", body);
        std::string id = created["id"];
        call(sock, "POST", "/v1/vms/" + id + "/wait");
        to_exit.push_back(now_ns() - t0);
        json info = call(sock, "GET", "/v1/vms/" + id);
        to_main.push_back(info["stats"].value("app_entry_ns", uint64_t{0}));
        to_loaded.push_back(info.value("start_to_loaded_ns", uint64_t{0}));
        to_sent.push_back(info.value("start_to_sent_ns", uint64_t{0}));
        to_prepare.push_back(info["stats"].value("prepare_ns", uint64_t{0}));
        to_checked.push_back(info["stats"].value("app_checked_ns", uint64_t{0}));
        to_image.push_back(info["stats"].value("image_ready_ns", uint64_t{0}));
        to_kernel.push_back(info["stats"].value("kernel_entry_ns", uint64_t{0}));
        exits.push_back(info["stats"].value("exits", uint64_t{0}) * 1000);  // pct() prints /1000
        call(sock, "DELETE", "/v1/vms/" + id);
        usleep(2000);  // the pool's refill is background work: do not measure its backlog
        via_daemon.push_back(spawn_wait({dir + "/lightvm", "run", "--socket", sock, "--mem", "64M", app}));
        usleep(2000);
        cold.push_back(spawn_wait({dir + "/lightvm", "run", "--no-daemon", "--mem", "64M", app}));
        native.push_back(spawn_wait({app}));
    }
    json pool = call(sock, "GET", "/v1/pool");
    kill(daemon, SIGTERM);
    waitpid(daemon, nullptr, 0);
    std::printf("daemon_bench: %d runs of %s, 64 MiB, alternating\n", runs, app.c_str());
    std::printf("%-44s %10s %10s\n", "", "median us", "p99 us");
    auto row = [](const char* n, const std::vector<uint64_t>& v) {
        std::printf("%-44s %10.1f %10.1f\n", n, pct(v, 0.5), pct(v, 0.99));
    };
    row("pooled: start request -> guest main", to_main);
    row("pooled: start request -> sent to the monitor", to_sent);
    row("pooled: start request -> monitor has it", to_prepare);
    row("pooled: start request -> app checked (prepare)", to_checked);
    row("pooled: start request -> image ready (load)", to_image);
    row("pooled: start request -> app loaded (ack)", to_loaded);
    row("pooled: start request -> guest kernel entry", to_kernel);
    row("pooled: client request -> exited (wait)", to_exit);
    row("lightvm run through the daemon (whole process)", via_daemon);
    row("cold: lightvm run --no-daemon (whole process)", cold);
    row("native: posix_spawn + wait", native);
    std::printf("VM exits per pooled run: median %.0f\n", pct(exits, 0.5));
    std::printf("ratio pooled->exited / native: %.2fx; run via daemon / native: %.2fx; cold / native: %.2fx; "
                "run via daemon / cold: %.2fx\n",
                pct(to_exit, 0.5) / pct(native, 0.5), pct(via_daemon, 0.5) / pct(native, 0.5),
                pct(cold, 0.5) / pct(native, 0.5), pct(via_daemon, 0.5) / pct(cold, 0.5));
    std::printf("pool: %s\n", pool.dump().c_str());
    return 0;
}

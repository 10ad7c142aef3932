// Whole-process start cost: `lightvm run APP` against a native
// posix_spawn of the same static APP, alternating in the same run so both
// see the same machine noise. Prints medians, p90, the ratio, exits per run
// and the guest's boot milestones (from `lightvm run --stats`). Each round
// also runs `lightvm run --no-sandbox`, so the sandbox's cost is measured in
// the same run.
//
// usage: spawn_bench LIGHTVM [--runs N] [--markdown] [APP [ARGS...]]
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

extern char** environ;

namespace {

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Spawn argv with stdout/stderr to /dev/null (or to err_fd), wait, return ns.
uint64_t spawn_wait(const std::vector<std::string>& args, int* status, int err_fd = -1) {
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (err_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    else
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    uint64_t t0 = now_ns();
    if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
        std::perror("posix_spawn");
        std::exit(1);
    }
    waitpid(pid, status, 0);
    uint64_t t1 = now_ns();
    posix_spawn_file_actions_destroy(&fa);
    return t1 - t0;
}

double pct(std::vector<uint64_t> v, double p) {
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return static_cast<double>(v[i]) / 1000.0;  // µs
}

// Runs `lightvm run --stats APP` and pulls numbers out of its stderr.
struct StatsSample {
    double exits = 0, first_instr_ms = 0, app_entry_ms = 0, finished_ms = 0;
};

StatsSample stats_once(const std::string& lightvm, const std::vector<std::string>& app) {
    char path[] = "/tmp/lightvm-bench-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    std::vector<std::string> args{lightvm, "run", "--stats"};
    args.insert(args.end(), app.begin(), app.end());
    int status;
    spawn_wait(args, &status, fd);
    std::string text;
    char buf[4096];
    lseek(fd, 0, SEEK_SET);
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        text.append(buf, static_cast<size_t>(n));
    close(fd);
    StatsSample s;
    auto field = [&](const char* key) -> double {
        auto pos = text.find(key);
        return pos == std::string::npos ? -1 : std::atof(text.c_str() + pos + std::strlen(key));
    };
    s.exits = field("exits");
    s.first_instr_ms = field("first instruction");
    s.app_entry_ms = field("app entry");
    s.finished_ms = field("guest finished");
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s LIGHTVM [--runs N] [APP [ARGS...]]\n", argv[0]);
        return 2;
    }
    std::string lightvm = argv[1];
    int runs = 200;
    int i = 2;
    if (i + 1 < argc && std::strcmp(argv[i], "--runs") == 0) {
        runs = std::atoi(argv[i + 1]);
        i += 2;
    }
    std::vector<std::string> app;
    for (; i < argc; ++i)
        app.push_back(argv[i]);
    if (app.empty())
        app.push_back(LIGHTVM_GUEST_DIR "/noop.musl");

    std::vector<std::string> native = app;
    std::vector<std::string> vm{lightvm, "run"};
    vm.insert(vm.end(), app.begin(), app.end());

    // The same run without the monitor's sandbox (docs/security.md), to
    // show what the sandbox costs.
    std::vector<std::string> vm_nosb{lightvm, "run", "--no-sandbox"};
    vm_nosb.insert(vm_nosb.end(), app.begin(), app.end());

    std::vector<uint64_t> t_native, t_vm, t_nosb;
    int status;
    for (int w = 0; w < 10; ++w) {  // warm the page cache and CPU frequency
        spawn_wait(native, &status);
        spawn_wait(vm, &status);
        spawn_wait(vm_nosb, &status);
    }
    for (int r = 0; r < runs; ++r) {
        t_native.push_back(spawn_wait(native, &status));
        if (!WIFEXITED(status)) {
            std::fprintf(stderr, "native run failed\n");
            return 1;
        }
        for (auto* which : {&vm, &vm_nosb}) {
            (which == &vm ? t_vm : t_nosb).push_back(spawn_wait(*which, &status));
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                std::fprintf(stderr, "lightvm run failed with status %d\n", status);
                return 1;
            }
        }
    }
    std::vector<double> exits, first, entry, fin;
    for (int r = 0; r < std::min(runs, 50); ++r) {
        auto s = stats_once(lightvm, app);
        exits.push_back(s.exits);
        first.push_back(s.first_instr_ms * 1000);
        entry.push_back(s.app_entry_ms * 1000);
        fin.push_back(s.finished_ms * 1000);
    }
    auto med = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };

    std::string name = app[0].substr(app[0].rfind('/') + 1);
    double n50 = pct(t_native, 0.5), n90 = pct(t_native, 0.9);
    double v50 = pct(t_vm, 0.5), v90 = pct(t_vm, 0.9);
    std::printf("benchmark: process start+exit, %d alternating runs each, app %s\n", runs, name.c_str());
    std::printf("| what | median µs | p90 µs |\n|---|---:|---:|\n");
    std::printf("| native posix_spawn + wait | %.0f | %.0f |\n", n50, n90);
    std::printf("| lightvm run (whole process) | %.0f | %.0f |\n", v50, v90);
    std::printf("| ratio lightvm / native | %.2fx | %.2fx |\n", v50 / n50, v90 / n90);
    double s50 = pct(t_nosb, 0.5), s90 = pct(t_nosb, 0.9);
    std::printf("| lightvm run --no-sandbox | %.0f | %.0f |\n", s50, s90);
    std::printf("| sandbox cost (sandboxed / --no-sandbox) | %.3fx | %.3fx |\n", v50 / s50, v90 / s90);
    std::printf("| VM exits per run (median) | %.0f | |\n", med(exits));
    std::printf("| guest first instruction, from lightvm's start | %.0f | |\n", med(first));
    std::printf("| app entry, from lightvm's start | %.0f | |\n", med(entry));
    std::printf("| guest finished, from lightvm's start | %.0f | |\n", med(fin));
    return 0;
}

// What entering the monitor's sandbox costs on the start-up path: the time
// of sandbox::enter() (capabilities, no_new_privs, Landlock with two share
// directories, the precompiled seccomp filter) in a fresh forked child, as
// `lightvm run` pays it once per VM. Forked children alternate with children
// that skip it, so both see the same machine noise; medians of N runs.
//
// usage: sandbox_bench [--runs N]
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sandbox/sandbox.hpp"

namespace {

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// ns spent in the child between fork and the point where it would run the guest.
uint64_t one(bool sandboxed) {
    int p[2];
    if (pipe(p) < 0)
        std::exit(1);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t t0 = now_ns();
        if (sandboxed) {
            lightvm::sandbox::Policy policy;
            policy.dirs.push_back({open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC), false});
            policy.dirs.push_back({open("/usr", O_PATH | O_DIRECTORY | O_CLOEXEC), true});
            if (!lightvm::sandbox::enter(policy))
                _exit(2);
        }
        uint64_t dt = now_ns() - t0;
        (void)!write(p[1], &dt, sizeof dt);
        _exit(0);
    }
    close(p[1]);
    uint64_t dt = 0;
    (void)!read(p[0], &dt, sizeof dt);
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        std::exit(1);
    return dt;
}

double median(std::vector<uint64_t> v) {
    std::sort(v.begin(), v.end());
    return static_cast<double>(v[v.size() / 2]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 500;
    if (argc == 3 && std::strcmp(argv[1], "--runs") == 0)
        runs = std::atoi(argv[2]);
    std::vector<uint64_t> with, without;
    for (int i = 0; i < runs; ++i) {
        with.push_back(one(true));
        without.push_back(one(false));
    }
    std::printf("benchmark: sandbox::enter() in a fresh process, %d alternating runs, medians\n", runs);
    std::printf("| what | median µs |\n|---|---:|\n");
    std::printf("| enter the sandbox (caps, no_new_privs, Landlock 2 dirs, seccomp) | %.1f |\n", median(with));
    std::printf("| nothing (timer overhead) | %.1f |\n", median(without));
    return 0;
}

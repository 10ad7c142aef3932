// The "reset or fresh shell?" measurement (docs/design.md, "Shells: always
// fresh"): in one process, alternating, for a no-op app:
//   shell    Vm::create (KVM VM, vCPU, RAM, x86 state, kernel image)
//   teardown ~Vm of a used VM
//   load+run Workload::prepare + load + run into a ready shell (what a
//            warm pool leaves on the request path)
//   cold     run_vm: all phases back to back
// Prints medians and p99 in microseconds.
//
// usage: shell_bench [--runs N] [--mem MIB]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "lightvm/vm.hpp"
#include "monitor/vm.hpp"

using namespace lightvm;

namespace {

double pct(std::vector<uint64_t> v, double p) {
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return static_cast<double>(v[i]) / 1000.0;
}

void row(const char* what, const std::vector<uint64_t>& v) {
    std::printf("%-34s median %8.1f us   p99 %8.1f us\n", what, pct(v, 0.5), pct(v, 0.99));
}

[[noreturn]] void die(const Error& e) {
    std::fprintf(stderr, "shell_bench: %s\n", e.to_string().c_str());
    std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 200;
    uint64_t mem = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--runs"))
            runs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--mem"))
            mem = std::strtoull(argv[i + 1], nullptr, 10);
    }
    int devnull = ::open("/dev/null", O_RDWR);
    VmConfig cfg;
    cfg.app_path = LIGHTVM_GUEST_DIR "/noop.glibc";
    cfg.argv = {cfg.app_path};
    cfg.mem_size = mem << 20;
    cfg.stdin_fd = cfg.stdout_fd = cfg.stderr_fd = cfg.diag_fd = devnull;
    std::vector<uint64_t> shell, teardown, loadrun, to_main, cold;
    for (int i = 0; i < runs; ++i) {
        uint64_t t0 = monotonic_ns();
        auto vm = Vm::create(VmShape{cfg.mem_size, 1});
        uint64_t t1 = monotonic_ns();
        if (!vm)
            die(vm.error());
        shell.push_back(t1 - t0);
        uint64_t t2 = monotonic_ns();
        auto work = Workload::prepare(cfg);
        if (!work)
            die(work.error());
        vm->set_time_base(t2);
        if (auto r = vm->load(std::move(*work)); !r)
            die(r.error());
        auto report = vm->run();
        uint64_t t3 = monotonic_ns();
        if (!report || report->outcome.status != 0)
            die(report ? Error{ErrorKind::System, 0, "noop", "bad status"} : report.error());
        loadrun.push_back(t3 - t2);
        to_main.push_back(report->stats.app_entry_ns);
        uint64_t t4 = monotonic_ns();
        { auto gone = std::move(*vm); }
        teardown.push_back(monotonic_ns() - t4);
        uint64_t t5 = monotonic_ns();
        auto c = run_vm(cfg);
        if (!c || c->outcome.status != 0)
            die(c ? Error{ErrorKind::System, 0, "noop", "bad status"} : c.error());
        cold.push_back(monotonic_ns() - t5);
    }
    std::printf("shell_bench: %d runs, noop.glibc, --mem %lluM, in one process\n", runs,
                static_cast<unsigned long long>(mem));
    row("shell (Vm::create)", shell);
    row("teardown of a used VM", teardown);
    row("prepare+load+run into a shell", loadrun);
    row("  of which request -> app main", to_main);
    row("cold run_vm (all phases)", cold);
    return 0;
}

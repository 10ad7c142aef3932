// Interrupt delivery under this host's KVM, every mechanism side by side in
// one run: the app (tests/guests/irqloop) spins on rdtsc and reports each
// stretch it was stopped; the monitor interrupts it by
//   doorbell   a host timer kicks the vCPU out of KVM_RUN, KVM_INTERRUPT
//   timer      the guest's one-shot timer (kHcTimer), re-armed in its handler
//   none       nothing: the host's own preemption, the baseline
// and a doorbell injected at an exit the guest makes anyway (fsync(1): one
// exit each) against the same exits without. Also what an in-kernel
// irqchip (KVM_CREATE_IRQCHIP) adds to VM creation, the alternative to
// KVM_INTERRUPT. Medians; exits per interrupt from the exit counters.
//
// usage: irq_bench [--runs N] [GUEST_DIR]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "kvm/kvm.hpp"
#include "monitor/vm.hpp"

using namespace lightvm;

namespace {

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

double median(std::vector<double> v) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct Run {
    std::string out;
    RunStats stats;
};

Run run(const std::string& app, std::vector<std::string> args, const IrqTestConfig& irq) {
    char path[] = "/tmp/irq_bench_XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    int null = open("/dev/null", O_RDWR);
    VmConfig cfg;
    cfg.app_path = app;
    cfg.argv = {app};
    for (auto& a : args)
        cfg.argv.push_back(a);
    cfg.stdin_fd = null;
    cfg.stdout_fd = fd;
    cfg.stderr_fd = 2;
    cfg.irq_test = irq;
    auto r = run_vm(cfg);
    if (!r || r->outcome.status != 0) {
        std::fprintf(stderr, "irq_bench: %s failed: %s\n", app.c_str(), r ? "non-zero status" : r.error().to_string().c_str());
        std::exit(1);
    }
    Run out{std::string(4096, '\0'), r->stats};
    ssize_t n = pread(fd, out.out.data(), out.out.size(), 0);
    out.out.resize(n > 0 ? size_t(n) : 0);
    close(fd);
    close(null);
    return out;
}

double field(const std::string& s, const char* key) {
    auto p = s.find(key);
    return p == std::string::npos ? -1 : std::atof(s.c_str() + p + std::strlen(key));
}

// One gaps run: (median stopped time per gap in µs, interrupts handled, exits).
struct Gaps {
    std::vector<double> gap_us, per_irq_exits, handled;
};

void gaps_run(Gaps& g, const std::string& app, const IrqTestConfig& irq) {
    auto r = run(app, {"gaps", "300"}, irq);
    g.gap_us.push_back(field(r.out, "median_gap_ns=") / 1000.0);
    uint64_t handled = r.stats.irq.guest.handled[0] + r.stats.irq.guest.handled[1];
    g.handled.push_back(double(handled));
    g.per_irq_exits.push_back(handled ? double(r.stats.exits.total) / double(handled) : 0);
}

double create_vm_us(bool irqchip) {
    auto sys = kvm::System::open();
    if (!sys)
        std::exit(1);
    uint64_t t0 = now_ns();
    auto vm = sys->create_vm();
    if (!vm || (irqchip && !vm->create_irqchip())) {
        std::fprintf(stderr, "irq_bench: KVM VM%s creation failed\n", irqchip ? " with irqchip" : "");
        std::exit(1);
    }
    auto vcpu = vm->create_vcpu(0);
    uint64_t t1 = now_ns();
    if (!vcpu)
        std::exit(1);
    return double(t1 - t0) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 5;
    std::string dir = LIGHTVM_GUEST_DIR;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = std::atoi(argv[++i]);
        else
            dir = argv[i];
    }
    if (!kvm::available()) {
        std::printf("SKIPPED: /dev/kvm not available\n");
        return 0;
    }
    const std::string app = dir + "/irqloop.glibc";
    IrqTestConfig none, doorbell, timer, on_exit;
    doorbell.doorbell_period_ns = 1'000'000;
    timer.guest_timer_ns = 1'000'000;
    on_exit.doorbell_on_exit = true;

    Gaps g_none, g_door, g_timer;
    std::vector<double> exit_plain, exit_door, create_plain, create_chip;
    for (int i = 0; i < runs; ++i) {
        gaps_run(g_none, app, none);
        gaps_run(g_door, app, doorbell);
        gaps_run(g_timer, app, timer);
        exit_plain.push_back(field(run(app, {"exits", "2000"}, none).out, "ns_per_exit=") / 1000.0);
        exit_door.push_back(field(run(app, {"exits", "2000"}, on_exit).out, "ns_per_exit=") / 1000.0);
        for (int k = 0; k < 20; ++k) {
            create_plain.push_back(create_vm_us(false));
            create_chip.push_back(create_vm_us(true));
        }
    }
    std::printf("interrupt delivery, %d runs of 300 ms each, 1 kHz (medians)\n", runs);
    std::printf("| mechanism | app stopped per interrupt (µs) | interrupts handled / run | VM exits per interrupt |\n");
    std::printf("|---|---|---|---|\n");
    std::printf("| none (host preemption only) | %.1f | %.0f | - |\n", median(g_none.gap_us), median(g_none.handled));
    std::printf("| doorbell: host timer, kick, KVM_INTERRUPT | %.1f | %.0f | %.2f |\n", median(g_door.gap_us),
                median(g_door.handled), median(g_door.per_irq_exits));
    std::printf("| guest timer: kHcTimer + kick + KVM_INTERRUPT | %.1f | %.0f | %.2f |\n", median(g_timer.gap_us),
                median(g_timer.handled), median(g_timer.per_irq_exits));
    double plain = median(exit_plain), door = median(exit_door);
    std::printf("\ndoorbell at an exit the guest makes anyway (fsync(1), 2000 per run)\n");
    std::printf("| | µs per exit |\n|---|---|\n| exit alone | %.1f |\n| exit + KVM_INTERRUPT + handler | %.1f |\n"
                "| added by the interrupt | %.1f (ratio %.2f) |\n", plain, door, door - plain, plain > 0 ? door / plain : 0);
    double c0 = median(create_plain), c1 = median(create_chip);
    std::printf("\nKVM VM + 1 vCPU creation (%zu each)\n", create_plain.size());
    std::printf("| | µs |\n|---|---|\n| KVM_CREATE_VM + vCPU | %.0f |\n| + KVM_CREATE_IRQCHIP | %.0f |\n"
                "| added by the irqchip | %.0f (ratio %.2f) |\n", c0, c1, c1 - c0, c0 > 0 ? c1 / c0 : 0);
    return 0;
}

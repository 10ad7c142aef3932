// Phases 1 and 2 of a VM (include/lightvm/vm.hpp): the shell (KVM VM, vCPU,
// guest RAM, the fixed x86 state and the guest kernel: nothing that depends
// on the app, so a pool can make it ahead of time) and loading a workload
// into it (app image, initial stack, boot page, devices).
#include <cpuid.h>
#include <time.h>
#include <x86intrin.h>

#include <algorithm>

#include "memory/admission.hpp"
#include "monitor/vm_snapshot.hpp"
#include "x86/cpuid.hpp"
#include "x86/descriptors.hpp"

namespace lightvm {

namespace {

// RAM registered above the first frame in the shell: the kernel, brk and
// the first mmaps need no kHcMemGrow exit.
constexpr uint64_t kHeadroom = 8ull << 20;

bool host_has_fsgsbase() {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & 1);
}

uint64_t now_ns(clockid_t clk) {
    timespec ts;
    ::clock_gettime(clk, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

Result<void> set_initial_cpu_state(VmState& s) {
    return init_vcpu_state(s.vcpu, s.image, s.fsgsbase, VcpuStart{0, s.image.syscall_entry, s.image.kernel_entry,
                                                                    abi::kBootInfoGpa, 0});
}

ClockReference clock_now(uint64_t tsc_khz) {
    ClockReference c;
    c.tsc_khz = tsc_khz;
    c.monotonic_ns = now_ns(CLOCK_MONOTONIC);
    c.realtime_ns = now_ns(CLOCK_REALTIME);
    c.tsc = __rdtsc();
    return c;
}

uint64_t host_hwcap() {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) ? d : 0;
}

bool is_hypercall(const kvm::Exit& e, unsigned nr) {
    return e.kind == kvm::ExitKind::Io && e.io_out && e.io_size == 4 && e.io_count == 1 &&
           e.port == abi::kHypercallPortBase + nr;
}

// ShellOptions::boot_kernel: the kernel boots with the app-independent
// boot page and parks in kHcPark (abi.h), where load() finds it. Only our
// own kernel has run when this returns, so the process needs no sandbox
// yet; the exit that parks it is KVM_RUN's to complete when run() resumes.
Result<void> boot_until_parked(VmState& s, uint64_t prefault) {
    ShellBoot shell{s.fsgsbase, host_hwcap(), s.ram->low_end(), s.ram->high_start()};
    abi::BootInfo boot = TRY(shell_boot_info(s.image, s.mem.size(), clock_now(s.tsc_khz), shell));
    boot.flags |= abi::kBootPark;
    TRY(s.mem.write(abi::kBootInfoGpa, boot));
    for (;;) {
        auto exit = TRY(s.vcpu.run());
        if (exit.kind == kvm::ExitKind::Interrupted) {
            s.vcpu.set_immediate_exit(false);
            continue;
        }
        if (is_hypercall(exit, abi::kHcMemGrow)) {
            TRY(s.ram->hypercall(exit.io_value));
            continue;
        }
        if (!is_hypercall(exit, abi::kHcPark))
            return make_error(ErrorKind::System, "shell",
                              "the guest kernel stopped booting before its workload (exit " +
                                  std::to_string(exit.raw_reason) + ", port " + std::to_string(exit.port) + ")");
        auto park = TRY(s.mem.read<abi::HcPark>(exit.io_value));
        // Where its frames go next, the guest says: pages it will touch
        // first, whatever the app (bounded: a quarter of RAM at most).
        // prefault() ignores a range outside RAM (a guest's bad next_frame).
        const uint64_t len = std::min(prefault & ~(abi::kPageSize - 1), s.mem.size() / 4);
        if (len)
            s.mem.prefault(park.next_frame & ~(abi::kPageSize - 1), len);
        s.booted = true;
        return {};
    }
}

}  // namespace

Result<void> init_vcpu_state(kvm::Vcpu& vcpu, const GuestImage& image, bool fsgsbase, const VcpuStart& at) {
    const kvm::Msr msrs[] = {
        {kvm::kMsrStar, (uint64_t(abi::kUser32Cs & ~3) << 48) | (uint64_t(abi::kKernelCs) << 32)},
        {kvm::kMsrLstar, at.lstar},  // each vCPU's own entry code (guest arch/x86_64/percpu.S)
        {kvm::kMsrCstar, 0},
        // TF DF IOPL NT AC cleared on syscall entry, and IF where `syscall`
        // enters CPL0 (hardware KVM). Under PVM the guest kernel stays at CPL3,
        // where iretq cannot set IF again: it masks interrupts by a flag instead.
        {kvm::kMsrSfmask, kvm::is_pvm() ? 0x47500u : 0x47700u},
        {kvm::kMsrFsBase, 0},
        {kvm::kMsrGsBase, 0},
        {kvm::kMsrKernelGsBase, 0},
        // Guest TSC = host TSC (true under PVM; set explicitly for hardware
        // KVM) on vCPU 0; later vCPUs are left to KVM, which starts them in
        // step with the first (a second write would skew them).
        {kvm::kMsrTsc, __rdtsc()},
    };
    TRY(vcpu.set_msrs(std::span<const kvm::Msr>(msrs, at.cpu == 0 ? std::size(msrs) : std::size(msrs) - 1)));
    TRY(vcpu.set_sregs(x86::user_mode_sregs(image.cr3, fsgsbase, at.cpu)));
    kvm::Regs regs{};
    regs.rip = at.rip;
    regs.rdi = at.rdi;
    regs.rsp = at.rsp;
    regs.rflags = 0x202;  // IF: interrupts reach the guest kernel's handler from the start
    return vcpu.set_regs(regs);
}

Vm::Vm() : m(std::make_unique<VmState>()) {}
Vm::Vm(Vm&&) noexcept = default;
Vm& Vm::operator=(Vm&&) noexcept = default;
Vm::~Vm() {
    if (m && m->leave_teardown) {
        // Host resources others may wait for (disk locks, share fds) are
        // released now; only the KVM objects and guest RAM, whose teardown
        // is the slow part, are left to the process exit (or a reaper).
        m->cpu.reset();
        m->console.reset();
        m->system.reset();
        m->work.reset();
        (void)m.release();  // intentionally leaked
    }
}
const VmShape& Vm::shape() const { return m->shape; }
bool Vm::loaded() const { return m->phase != VmState::Phase::Shell; }
bool Vm::booted() const { return m->booted; }
std::vector<Vm::ShareRoot> Vm::share_roots() const {
    std::vector<ShareRoot> roots;
    if (m->work && m->work->fs)
        for (size_t i = 0; i < m->work->fs->shares().size(); ++i)
            roots.push_back({m->work->fs->root_fd(i), m->work->fs->shares()[i].read_only,
                             m->work->fs->shares()[i].mapped});
    return roots;
}
bool Vm::host_network() const { return m->work && uses_host_sockets(m->work->config.net); }
void Vm::set_time_base(uint64_t ns) { m->time_base = ns; }
void Vm::leave_teardown_to_exit() { m->leave_teardown = true; }
void Vm::set_exec_channel(ExecChannel* channel) { m->exec = channel; }

Result<Vm> Vm::create(const VmShape& shape, const ShellOptions& options) {
    if (shape.vcpus != 1)
        return make_error(ErrorKind::BadInput, "shape", "only 1 vCPU per VM is supported");
    VmConfig probe;
    probe.mem_size = shape.mem_size;
    probe.argv = {"shape"};
    probe.app_path = "shape";
    auto checked = TRY(validate(std::move(probe)));  // the same memory limits as the CLI

    Vm vm;
    VmState& s = *vm.m;
    s.created_ns = monotonic_ns();
    s.shape = VmShape{checked.mem_size, 1};
    s.sys = TRY(kvm::System::open());
    s.vm = TRY(s.sys.create_vm());
    s.kvm_vm_ns = monotonic_ns();
    // The frame pool's first 2 MiB (or so) stay 4 KiB pages on the host: an
    // idle VM touches less than that. Beyond, huge pages (docs/design.md,
    // "2 MiB pages").
    s.mem = TRY(GuestMemory::create(s.shape.mem_size, frames_base_bound(s.shape.mem_size)));
    // RAM is registered lazily (devices/ram.hpp): the kernel's region and the
    // first frames now, the app's file at the top when it is loaded, the
    // rest on request.
    s.ram.emplace(s.mem, [&s](uint32_t slot, uint64_t gpa, uint64_t size) {
        return s.vm.set_memory(slot, gpa, size, s.mem.host_base() + gpa, s.log_dirty);
    });
    // Opened now: the sandboxed monitor may open nothing new.
    s.ram->set_host_limit([&watch = host_memory()] { return watch.available(); });
    // Frames are handed out from the bottom up (guest/kernel/mm/frames.hpp):
    // no high region.
    TRY(s.ram->boot(frames_base_bound(s.mem.size()) + kHeadroom, s.mem.size()));
    s.vcpu = TRY(s.vm.create_vcpu(0));
    // Also on PVM: without a table CPUID answers zeros there, and glibc's
    // ld.so then refuses every library ("CPU ISA level is lower than
    // required"); static programs silently took their slowest code paths.
    TRY(s.vcpu.set_cpuid(std::span<const kvm::CpuidEntry>(x86::guest_cpuid())));
    s.vm_created_ns = monotonic_ns();

    s.image = TRY(build_shell_image(s.mem));
    s.tsc_khz = TRY(s.vcpu.tsc_khz());
    s.fsgsbase = host_has_fsgsbase();
    TRY(set_initial_cpu_state(s));
    if (options.boot_kernel)
        TRY(boot_until_parked(s, options.prefault_bytes));
    return vm;
}

Result<void> Vm::load(Workload work) {
    VmState& s = *m;
    if (s.phase != VmState::Phase::Shell)
        return make_error(ErrorKind::BadInput, "load", "this VM shell was already used; shells are never reused");
    if (work.m->config.mem_size != s.shape.mem_size)
        return make_error(ErrorKind::BadInput, "load",
                          "workload needs " + std::to_string(work.m->config.mem_size >> 20) + " MiB, shell has " +
                              std::to_string(s.shape.mem_size >> 20) + " MiB");
    if (work.m->restore && s.booted)
        return make_error(ErrorKind::BadInput, "load",
                          "a snapshot cannot be restored into a shell whose kernel already booted");
    s.phase = VmState::Phase::Loaded;  // even if loading fails half-way: never load twice
    s.work = std::move(work.m);
    WorkloadState& w = *s.work;
    if (!s.time_base)
        s.time_base = std::min(s.created_ns, w.started_ns);

    s.clock = clock_now(s.tsc_khz);
    if (w.restore) {
        TRY(load_snapshot(s));
    } else {
        // The executable's file and its arguments at the top of RAM.
        TRY(s.ram->grow_high(app_image_gpa(s.mem.size(), w.file.bytes().size(), w.config)));
        w.host.ram_low_end = s.ram->low_end();
        w.host.ram_high_start = s.ram->high_start();
        TRY(build_app_image(s.image, s.mem, w.config, w.file.bytes(), w.file.fd(), w.app, s.clock, w.host));
        // The frame pool below the file: where the guest's 2 MiB entries go.
        s.mem.advise_huge(0, app_image_gpa(s.mem.size(), w.file.bytes().size(), w.config));
    }

    const VmConfig& cfg = w.config;
    // Without --trace the guest's trace records are dropped, never shown.
    s.console.emplace(s.mem, cfg.stdin_fd, cfg.stdout_fd, cfg.stderr_fd, cfg.trace ? cfg.diag_fd : -1);
    if (cfg.log_dir_fd >= 0)
        s.console->set_log(cfg.log_dir_fd, cfg.log_max);
    if (w.restore)
        TRY(s.console->resume_tty());
    s.system.emplace(s.mem);
    s.cpu.emplace(s.vcpu);
    s.image_ready_ns = monotonic_ns();
    return {};
}

}  // namespace lightvm

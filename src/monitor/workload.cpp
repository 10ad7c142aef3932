// Phase 0 of a VM (include/lightvm/vm.hpp): everything that can be checked
// or opened without KVM, so a bad executable or a missing share fails fast
// and the same way on hosts without /dev/kvm.
#include <cpuid.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "memory/admission.hpp"
#include "monitor/vm_snapshot.hpp"

namespace lightvm {

namespace {

HostInfo probe_host(const VmConfig& cfg) {
    HostInfo h;
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
        h.fsgsbase = b & 1;
    if (__get_cpuid(1, &a, &b, &c, &d))
        h.hwcap = d;
    int fds[3] = {cfg.stdin_fd, cfg.stdout_fd, cfg.stderr_fd};
    for (int i = 0; i < 3; ++i) {
        struct stat st;
        h.stdio_mode[i] = ::fstat(fds[i], &st) == 0 ? st.st_mode : 0;
    }
    h.pid = 1;
    char real[PATH_MAX];
    if (!cfg.exe_path.empty())
        h.exe_path = cfg.exe_path;
    else if (::realpath(cfg.app_path.c_str(), real))
        h.exe_path = real;
    return h;
}

}  // namespace

uint64_t monotonic_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

Workload::Workload() : m(std::make_unique<WorkloadState>()) {}
Workload::Workload(Workload&&) noexcept = default;
Workload& Workload::operator=(Workload&&) noexcept = default;
Workload::~Workload() = default;
const VmConfig& Workload::config() const { return m->config; }
VmShape Workload::shape() const { return VmShape{m->config.mem_size, 1}; }

Result<Workload> Workload::prepare(VmConfig config) {
    Workload w;
    WorkloadState& s = *w.m;
    s.started_ns = monotonic_ns();
    if (!config.restore_path.empty()) {
        s.config = std::move(config);
        TRY(prepare_restore(s));
        s.checked_ns = monotonic_ns();
        return w;
    }
    s.config = TRY(validate(std::move(config)));
    const VmConfig& cfg = s.config;
    if (!cfg.overcommit) {
        // Admission: refuse RAM the host cannot back now, with one line,
        // rather than being OOM-killed without a report later.
        auto available = host_memory_available();
        if (available && cfg.mem_size > *available)
            return make_error(ErrorKind::BadInput, "--mem",
                              std::to_string(cfg.mem_size >> 20) + " MiB is more than this host can back now (" +
                                  std::to_string(*available >> 20) +
                                  " MiB available to lightvm); use a smaller --mem, or --overcommit to run anyway");
    }
    s.file = TRY(MappedFile::open(cfg.app_path));
    s.app = TRY(check_app(s.file.bytes(), cfg.mem_size, cfg.app_path));
    s.host = probe_host(cfg);
    // Devices that name host resources are opened before any VM exists:
    // a missing directory or a busy disk fails fast with one line.
    if (!cfg.shares.empty()) {
        std::vector<FsShare> shares;
        for (const auto& sh : cfg.shares)
            shares.push_back(FsShare{sh.host_path, sh.guest_path, sh.read_only, sh.owner == ShareOwner::Mapped});
        s.fs = TRY(FsDevice::create(std::move(shares)));
        for (size_t i = 0; i < s.config.shares.size(); ++i)
            s.config.shares[i].file = s.fs->shares()[i].file;  // the guest's mount table says so
        s.fs->set_streams(cfg.stdout_fd, cfg.stderr_fd);
        // The app's pages are mapped from its file: as on Linux, the guest
        // may not rewrite or truncate its running executable (ETXTBSY).
        struct stat st{};
        if (::fstat(s.file.fd(), &st) == 0)
            s.fs->set_busy_file(st.st_dev, st.st_ino);
    }
    for (const auto& d : cfg.disks) {
        s.disks.push_back(TRY(BlockDevice::open(d.path, d.read_only)));
        s.host.disk_capacity.push_back(s.disks.back().capacity());
    }
    s.net = TRY(NetDevice::create(cfg.net, cfg.publish, cfg.netns_path, cfg.host_netns_fd));
    s.net->set_stdin(cfg.stdin_fd);
    s.checked_ns = monotonic_ns();
    return w;
}

}  // namespace lightvm

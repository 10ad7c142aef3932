// Snapshots of a running VM (docs/snapshot-format.md): saving from inside
// the exit loop, and the restore counterparts of phases 0 and 2
// (Workload::prepare and Vm::load for a config with restore_path).
#include "monitor/vm_snapshot.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstring>

#include "common/file_io.hpp"
#include "memory/admission.hpp"
#include "monitor/smp.hpp"
#include "monitor/vm_clock.hpp"
#include "snapshot/state_file.hpp"
#include "x86/cpuid.hpp"

namespace lightvm {

namespace {

// MSRs the guest kernel's syscall path depends on; FS/GS bases are in sregs.
constexpr uint32_t kSavedMsrs[] = {kvm::kMsrStar, kvm::kMsrLstar, kvm::kMsrCstar, kvm::kMsrSfmask,
                                   kvm::kMsrKernelGsBase};

tl::unexpected<Error> refuse(const std::string& msg) { return make_error(ErrorKind::BadInput, "snapshot", msg); }

snapshot::FileIdentity identity_of(int fd) {
    struct stat st{};
    if (::fstat(fd, &st) < 0)
        return {};
    return {uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size),
            int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}


// The memory file: guest RAM at its own offsets, only the pages that hold
// data (never-touched pages are holes; touched pages that are all zero are
// skipped too). Returns the extents written.
Result<std::vector<snapshot::MemExtent>> write_memory(const VmState& s, int fd, uint64_t& bytes) {
    const GuestMemory& mem = s.mem;
    std::vector<snapshot::MemExtent> extents;
    const uint8_t* base = mem.host_base();
    for (const auto& r : TRY(candidate_ranges(s))) {
        uint64_t run = 0, run_len = 0;
        auto flush = [&]() -> Result<void> {
            if (!run_len)
                return {};
            TRY(write_all_at(fd, base + run, run_len, run, "snapshot memory"));
            extents.push_back({run, run_len});
            bytes += run_len;
            run_len = 0;
            return {};
        };
        for (uint64_t gpa = r.gpa; gpa < r.gpa + r.len; gpa += 4096) {
            if (zero_page(base + gpa)) {
                TRY(flush());
                continue;
            }
            if (!run_len)
                run = gpa;
            run_len += 4096;
        }
        TRY(flush());
    }
    if (::ftruncate(fd, static_cast<off_t>(mem.size())) < 0)
        return sys_error("ftruncate snapshot memory");
    return extents;
}

Result<snapshot::VcpuState> save_vcpu(kvm::Vcpu& vcpu) {
    snapshot::VcpuState v;
    v.regs = TRY(vcpu.get_regs());
    v.sregs = TRY(vcpu.get_sregs());
    v.xsave = TRY(vcpu.get_xsave());
    v.events = TRY(vcpu.get_events());
    for (uint32_t index : kSavedMsrs)
        v.msrs.push_back({index, 0});
    TRY(vcpu.get_msrs(v.msrs));
    return v;
}

enum class SetTsc { Yes, No };

Result<void> restore_vcpu(kvm::Vcpu& vcpu, const snapshot::VcpuState& v, SetTsc tsc) {
    TRY(vcpu.set_sregs(v.sregs));
    TRY(vcpu.set_regs(v.regs));
    TRY(vcpu.set_xsave(v.xsave));
    TRY(vcpu.set_events(v.events));
    std::vector<kvm::Msr> msrs;
    for (const auto& m : v.msrs)
        if (std::find(std::begin(kSavedMsrs), std::end(kSavedMsrs), m.index) != std::end(kSavedMsrs))
            msrs.push_back(m);
    // Guest TSC = host TSC, as in a fresh shell: the guest's clocks are the
    // host's clocks read through the TSC (same boot: checked at prepare).
    // vCPU 0 only: KVM starts later vCPUs in step with it (a second write
    // would skew them), as Smp::start's.
    if (tsc == SetTsc::Yes)
        msrs.push_back({kvm::kMsrTsc, __rdtsc()});
    return vcpu.set_msrs(msrs);
}

snapshot::VcpuMonitor to_saved(const SmpCpuState& st) {
    const IrqLayout& l = st.layout;
    const uint32_t flags = (st.kicked ? snapshot::kVcpuKicked : 0) | (st.tlb ? snapshot::kVcpuTlb : 0) |
                           (st.idle ? snapshot::kVcpuIdle : 0);
    return {st.index, flags, l.entry, l.tail, l.tail_end, l.stack_top, l.state, st.irq_pending, st.timer_deadline_ns};
}

SmpCpuState from_saved(const snapshot::VcpuMonitor& m) {
    SmpCpuState st;
    st.index = m.id;
    st.layout = IrqLayout{m.irq_entry, m.irq_tail, m.irq_tail_end, m.irq_stack_top, m.irq_state};
    st.irq_pending = m.irq_pending;
    st.timer_deadline_ns = m.timer_deadline_ns;
    st.kicked = m.flags & snapshot::kVcpuKicked;
    st.tlb = m.flags & snapshot::kVcpuTlb;
    st.idle = m.flags & snapshot::kVcpuIdle;
    return st;
}

// vCPU 0 (its interrupts already in `snap`) and every other started one,
// in id order; with --cpus > 1 the guest kernel's layout a restore needs
// to start more.
Result<void> save_vcpus(VmState& s, Smp* smp, snapshot::Snapshot& snap) {
    snapshot::VcpuState v0 = TRY(save_vcpu(s.vcpu));
    SmpCpuState st0 = smp ? smp->cpu0_state() : SmpCpuState{};
    st0.layout = s.image.irq;
    st0.irq_pending = snap.irq_pending;
    st0.timer_deadline_ns = snap.timer_deadline_ns;
    v0.mon = to_saved(st0);
    snap.vcpus.push_back(std::move(v0));
    snap.cpus = s.work->config.cpus;
    snap.kernel_cr3 = s.image.cr3;
    snap.kernel_end = s.image.kernel_end;
    snap.cpu_table = s.image.cpu_table;
    snap.ap_entry = s.image.ap_entry;
    snap.trap_vectors = s.image.trap_vectors;
    snap.kernel_max_cpus = s.image.max_cpus;
    if (!smp)
        return {};
    for (const auto& [vcpu, st] : smp->quiesced_cpus()) {
        snapshot::VcpuState v = TRY(save_vcpu(*vcpu));
        v.mon = to_saved(st);
        snap.vcpus.push_back(std::move(v));
    }
    return {};
}

// Every restore is a clone: a fresh random seed and the next generation in
// the boot page (abi.h, BootInfo.clone_generation), so no two restores of
// one snapshot hand out the same random bytes. The page is a private copy
// by now; the snapshot's files never change.
Result<void> make_clone_unique(GuestMemory& mem) {
    constexpr uint64_t seed_at = abi::kBootInfoGpa + offsetof(abi::BootInfo, random_seed);
    constexpr uint64_t generation_at = abi::kBootInfoGpa + offsetof(abi::BootInfo, clone_generation);
    uint8_t seed[sizeof(abi::BootInfo::random_seed)];
    if (::getrandom(seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed))
        return sys_error("getrandom");
    auto page = TRY(mem.span(seed_at, sizeof seed));
    std::memcpy(page.data(), seed, sizeof seed);
    const uint32_t generation = TRY(mem.read<uint32_t>(generation_at));
    return mem.write<uint32_t>(generation_at, generation + 1);
}

}  // namespace

bool zero_page(const uint8_t* p) {
    const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
    uint64_t acc = 0;
    for (size_t i = 0; i < 4096 / 8; ++i)
        acc |= q[i];
    return acc == 0;
}

Result<std::vector<GuestMemory::Range>> candidate_ranges(const VmState& s) {
    if (!s.mem.from_snapshot() || !s.work->restore)
        return s.mem.data_ranges();
    std::vector<GuestMemory::Range> ranges = TRY(s.mem.resident_ranges());
    for (const auto& e : s.work->restore->extents)
        ranges.push_back({e.gpa, e.len});
    return GuestMemory::merge(std::move(ranges));
}

uint64_t boot_page_tag(const GuestMemory& mem) {
    auto page = mem.span(abi::kBootInfoGpa, sizeof(abi::BootInfo));
    return page ? snapshot::fnv1a(*page) : 0;
}

Quiesced::Quiesced(Smp* smp) : m_smp(smp) {
    if (smp)
        m_lock = std::unique_lock(smp->exits(), std::defer_lock);
}

Quiesced::~Quiesced() {
    if (m_held)
        m_smp->resume(m_lock);
}

Result<void> Quiesced::begin() {
    if (!m_smp)
        return {};
    TRY(m_smp->quiesce(m_lock));
    m_held = true;
    return {};
}

Result<snapshot::Snapshot> capture_state(VmState& s, Interrupts& irq, Outcome& outcome, Smp* smp) {
    const VmConfig& cfg = s.work->config;
    if (cfg.net == NetMode::Host || !cfg.publish.empty())
        return make_error(ErrorKind::Unsupported, "snapshot",
                          "a VM with --net host, --net ns:PATH or -p cannot be saved: host sockets cannot be reopened");
    // --net user: the namespace is pasta's and every restore gets its own;
    // what cannot move is an open host socket.
    if (const size_t open = s.work->net ? s.work->net->open_sockets() : 0; open > 0)
        return make_error(ErrorKind::Unsupported, "snapshot",
                          std::to_string(open) + " host socket(s) open: a --net user VM is saved only with none "
                          "(close them before the save point)");
    // Output the guest already wrote goes out before the VM is frozen.
    TRY(s.console->drain(outcome));

    snapshot::Snapshot snap;
    snap.abi_version = abi::kAbiVersion;
    snap.cpu = snapshot::host_cpu_features();
    snap.boot_id = cfg.save.boot_id;
    snap.saved_monotonic_ns = monotonic_ns();
    TRY(save_guest_clock(s.mem, snap));
    snap.mem_size = s.mem.size();
    snap.ram_low_end = s.ram->low_end();
    snap.ram_high_start = s.ram->high_start();
    snap.irq_entry = s.image.irq.entry;
    snap.irq_tail = s.image.irq.tail;
    snap.irq_tail_end = s.image.irq.tail_end;
    snap.irq_stack_top = s.image.irq.stack_top;
    snap.irq_state = s.image.irq.state;
    snap.irq_pending = irq.undelivered();
    snap.timer_deadline_ns = irq.timer_deadline();
    snap.max_procs = cfg.max_procs;
    TRY(save_vcpus(s, smp, snap));
    for (const auto& sh : cfg.shares)
        snap.shares.push_back({sh.host_path, sh.guest_path, sh.read_only, sh.owner == ShareOwner::Mapped});
    if (s.work->fs)
        snap.handles = TRY(s.work->fs->save_handles());
    for (const auto& d : s.work->disks)
        snap.disks.push_back({d.path(), false, identity_of(d.fd())});
    for (size_t i = 0; i < snap.disks.size() && i < cfg.disks.size(); ++i)
        snap.disks[i].read_only = cfg.disks[i].read_only;
    return snap;
}

Result<void> save_vm(VmState& s, Interrupts& irq, RunReport& report, Smp* smp) {
    const uint64_t t0 = monotonic_ns();
    const SaveSpec& spec = s.work->config.save;
    // The other vCPUs stay at their safe points until the files are written.
    Quiesced quiet(smp);
    TRY(quiet.begin());
    snapshot::Snapshot snap = TRY(capture_state(s, irq, report.outcome, smp));
    // Memory first, the state file last: a state file that decodes names a
    // complete memory file.
    snap.extents = TRY(write_memory(s, spec.mem_fd, report.saved_bytes));
    snap.mem_tag = boot_page_tag(s.mem);
    const auto bytes = snapshot::encode(snap);
    if (::ftruncate(spec.state_fd, 0) < 0)
        return sys_error("ftruncate snapshot");
    TRY(write_all_at(spec.state_fd, bytes.data(), bytes.size(), 0, "snapshot"));
    report.saved = true;
    report.save_ns = monotonic_ns() - t0;
    // The VM ends here: the other vCPUs leave their loops without running
    // again (output after the save point would show twice with a restore's).
    if (spec.stop && smp)
        smp->finish();
    return {};
}

namespace {

// PATH.ws for --prefault (absent or empty: every saved page is backed, as
// before it existed); /proc/self/pagemap for --record-working-set.
Result<void> prepare_working_set(WorkloadState& w, const snapshot::Snapshot& snap) {
    const std::string ws_path = w.config.restore_path + ".ws";
    if (w.config.restore_prefault) {
        UniqueFd fd(::open(ws_path.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat st;
        if (fd.valid() && ::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
            if (st.st_size > (64 << 20))
                return refuse(ws_path + ": " + std::to_string(st.st_size) + " bytes, not a working-set file");
            std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
            TRY(read_all_at(fd.get(), bytes.data(), bytes.size(), 0, ws_path));
            auto ranges = snapshot::ws_decode(bytes, snap.mem_tag, snap.mem_size);
            if (!ranges)
                return refuse(ws_path + ": " + ranges.error().message + " (delete it to prefault every saved page)");
            w.working_set = std::move(*ranges);
        }
    }
    if (w.config.record_ws_fd >= 0) {
        w.pagemap = UniqueFd(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
        if (!w.pagemap.valid())
            return sys_error("--record-working-set: /proc/self/pagemap");
    }
    return {};
}

}  // namespace

Result<void> record_working_set(VmState& s) {
    WorkloadState& w = *s.work;
    if (w.config.record_ws_fd < 0 || !w.restore || !w.pagemap.valid())
        return {};
    const uint64_t pages = s.mem.size() / abi::kPageSize;
    std::vector<uint64_t> entries(pages);
    const off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(s.mem.host_base()) / abi::kPageSize * 8);
    TRY(read_all_at(w.pagemap.get(), entries.data(), entries.size() * 8, at, "/proc/self/pagemap"));
    const auto bytes = snapshot::ws_encode(snapshot::ws_from_pagemap(entries), w.restore->mem_tag);
    if (::ftruncate(w.config.record_ws_fd, 0) < 0)
        return sys_error("--record-working-set");
    return write_all_at(w.config.record_ws_fd, bytes.data(), bytes.size(), 0, "--record-working-set");
}

Result<void> prepare_restore(WorkloadState& w) {
    VmConfig& cfg = w.config;
    const std::string& path = cfg.restore_path;
    auto bytes = TRY(snapshot::read_state_file(path));
    auto decoded = snapshot::decode(bytes);
    if (!decoded)
        return refuse(path + ": " + decoded.error().message);
    snapshot::Snapshot& snap = *decoded;
    // decode() bounds the vCPUs by the limit and the limit by abi::kMaxCpus;
    // a host that cannot create one fails at the start of the run (one line).
    if (std::string missing = snapshot::missing_features(snap.cpu, snapshot::host_cpu_features()); !missing.empty())
        return refuse(path + ": the guest may use CPU features this host lacks (" + missing + ")");
    // Another boot or host: the clock section lets the guest's clocks
    // continue (vm_clock.hpp); a file without one can only come back here.
    const bool same_boot = snap.boot_id == snapshot::host_boot_id();
    if (!same_boot && !snap.has_clock)
        return refuse(path + ": taken in another boot of this host or on another host, without the clock section "
                             "a restore there needs");
    if (same_boot && snap.saved_monotonic_ns > monotonic_ns())
        return refuse(path + ": taken in the future of this host's clock");

    const std::string mem_path = path + ".mem";
    w.restore_mem = UniqueFd(::open(mem_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!w.restore_mem.valid())
        return refuse(mem_path + ": " + std::strerror(errno) + " (the snapshot's memory file)");
    struct stat st;
    if (::fstat(w.restore_mem.get(), &st) < 0 || !S_ISREG(st.st_mode) || uint64_t(st.st_size) != snap.mem_size)
        return refuse(mem_path + ": not the snapshot's memory file (size " + std::to_string(st.st_size) + ", expected " +
                      std::to_string(snap.mem_size) + ")");

    cfg.mem_size = snap.mem_size;
    cfg.cpus = snap.cpus;  // the VM continues with the vCPUs it was allowed
    cfg.max_procs = snap.max_procs ? snap.max_procs : cfg.max_procs;
    // Saved with --net user (no socket open: capture_state's rule): each
    // restore gets a pasta namespace of its own, so clones never share a
    // network identity. The saved boot page says which mode the guest runs.
    if (TRY(snapshot::saved_with_network(w.restore_mem.get(), mem_path)))
        cfg.net = NetMode::User;
    cfg.shares.clear();
    for (const auto& sh : snap.shares)
        cfg.shares.push_back(
            {sh.host_path, sh.guest_path, sh.read_only, sh.mapped ? ShareOwner::Mapped : ShareOwner::Passthrough});
    cfg.disks.clear();
    for (const auto& d : snap.disks)
        cfg.disks.push_back({d.path, d.read_only});
    cfg = TRY(validate(std::move(cfg)));
    if (!cfg.overcommit) {
        auto available = host_memory_available();
        if (available && cfg.mem_size > *available)
            return make_error(ErrorKind::BadInput, "--restore",
                              std::to_string(cfg.mem_size >> 20) + " MiB is more than this host can back now; use --overcommit to restore anyway");
    }
    if (!cfg.shares.empty()) {
        std::vector<FsShare> shares;
        for (const auto& sh : cfg.shares)
            shares.push_back(FsShare{sh.host_path, sh.guest_path, sh.read_only, sh.owner == ShareOwner::Mapped});
        w.fs = TRY(FsDevice::create(std::move(shares)));
        w.fs->set_streams(cfg.stdout_fd, cfg.stderr_fd);
        TRY(w.fs->restore_handles(snap.handles));
    }
    for (const auto& d : snap.disks) {
        w.disks.push_back(TRY(BlockDevice::open(d.path, d.read_only)));
        if (!(identity_of(w.disks.back().fd()) == d.id))
            return refuse("disk " + d.path + " changed since the snapshot was taken");
    }
    TRY(prepare_working_set(w, snap));
    // A saved VM had no host sockets (save_vm refuses them); its stdin
    // readiness still goes through the network device (kNetPollStdin).
    w.net = TRY(NetDevice::create(cfg.net, cfg.publish, cfg.netns_path, cfg.host_netns_fd));
    w.net->set_stdin(cfg.stdin_fd);
    w.restore = std::move(snap);
    return {};
}

Result<void> load_snapshot(VmState& s) {
    WorkloadState& w = *s.work;
    const snapshot::Snapshot& snap = *w.restore;
    TRY(s.mem.map_snapshot(w.restore_mem.get()));
    s.restored = true;
    if (boot_page_tag(s.mem) != snap.mem_tag)
        return refuse(w.config.restore_path + ".mem: belongs to another snapshot");
    TRY(s.ram->restore(snap.ram_low_end, snap.ram_high_start));
    if (w.config.restore_prefault) {
        // The pages that held data at save, copied in now (one pass, before
        // the first instruction) instead of one copy-on-write fault each
        // when the guest first writes them. Costs time per saved page and
        // makes every one of them private (no sharing between restores).
        // Read-populating did not help: the guest writes most of what it
        // touches (docs/benchmarks.md). Kernels before 5.14 lack the advice:
        // then pages fault in lazily as without --prefault.
        // With a recorded working set (PATH.ws), only what one restored VM
        // touched: written pages copied, read ones mapped from the file.
        if (w.working_set) {
            for (const auto& r : *w.working_set)
                s.mem.prefault(r.gpa, uint64_t{r.pages} * abi::kPageSize, r.flags & snapshot::kWritten);
        } else {
            for (const auto& e : snap.extents)
                s.mem.prefault(e.gpa, e.len);
        }
    }
    if (!w.config.restore_migrated)
        TRY(make_clone_unique(s.mem));
    s.clock_offset_ns = TRY(restore_guest_clock(s.mem, snap, snap.boot_id == snapshot::host_boot_id(), s.tsc_khz));
    s.image.irq = IrqLayout{snap.irq_entry, snap.irq_tail, snap.irq_tail_end, snap.irq_stack_top, snap.irq_state};
    if (snap.cpus > 1) {
        // vCPUs started after the restore use the snapshot's kernel tables.
        s.image.cr3 = snap.kernel_cr3;
        s.image.kernel_end = snap.kernel_end;
        s.image.cpu_table = snap.cpu_table;
        s.image.ap_entry = snap.ap_entry;
        s.image.trap_vectors = snap.trap_vectors;
        s.image.max_cpus = snap.kernel_max_cpus;
    }
    TRY(restore_vcpu(s.vcpu, snap.vcpus[0], SetTsc::Yes));
    for (size_t i = 1; i < snap.vcpus.size(); ++i) {
        const uint32_t k = snap.vcpus[i].mon.id;
        auto made = s.vm.create_vcpu(k);
        if (!made)
            return refuse(w.config.restore_path + ": has " + std::to_string(snap.vcpus.size()) + " vCPUs; vCPU " +
                          std::to_string(k) + " cannot be made on this host (" + made.error().to_string() + ")");
        TRY(made->set_cpuid(std::span<const kvm::CpuidEntry>(x86::guest_cpuid())));
        TRY(restore_vcpu(*made, snap.vcpus[i], SetTsc::No));
        s.restored_vcpus.push_back(std::move(*made));
    }
    return {};
}

Result<void> restore_other_vcpus(VmState& s, Smp& smp) {
    const auto& vcpus = s.work->restore->vcpus;
    if (s.restored_vcpus.size() + 1 != vcpus.size())
        return make_error(ErrorKind::BadInput, "snapshot", "the restored vCPUs were not made");
    TRY(smp.restore_cpu(from_saved(vcpus[0].mon), kvm::Vcpu{}));
    for (size_t i = 1; i < vcpus.size(); ++i)
        TRY(smp.restore_cpu(from_saved(vcpus[i].mon), std::move(s.restored_vcpus[i - 1])));
    s.restored_vcpus.clear();
    return {};
}

}  // namespace lightvm

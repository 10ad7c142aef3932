#include "monitor/layout.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

#include "lightvm/abi.h"
#include "monitor/etc_files.hpp"
#include "monitor/kernel_file.hpp"
#include "snapshot/guest_clock.hpp"
#include "x86/descriptors.hpp"
#include "x86/page_tables.hpp"

extern "C" const uint8_t lightvm_kernel_start[];
extern "C" const uint8_t lightvm_kernel_end[];

namespace lightvm {

namespace {

// Frames the guest kernel needs beyond the executable's file to start a
// program: page tables, the top of its stack, heap, its own buffers.
constexpr uint64_t kMinFrames = 8ull << 20;

uint64_t page_up(uint64_t v) { return (v + abi::kPageSize - 1) & ~(abi::kPageSize - 1); }

// argv, envp and AT_EXECFN, NUL-terminated, back to back.
std::string pack_args(const VmConfig& cfg) {
    std::string args;
    for (const auto& a : cfg.argv)
        args.append(a).push_back('\0');
    for (const auto& e : cfg.env)
        args.append(e).push_back('\0');
    args.append(cfg.argv.empty() ? cfg.app_path : cfg.argv[0]).push_back('\0');
    return args;
}

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

struct LoadedKernel {
    uint64_t entry, syscall_entry, image_end;
    uint64_t kstack_area, kstack_slot_size, kstack_slots;
    IrqLayout irq;
    uint64_t svc_entry, svc_stack_top;
    uint64_t pf_entry, fault_frame_top;
    uint64_t trap_entry, trap_vectors;
    uint64_t cpu_table, ap_entry;
    uint32_t max_cpus;
};

// The kernel is ours, but a broken build must not make the IDT point
// outside it.
Result<IrqLayout> irq_layout(const abi::KernelHeader& h) {
    auto in_kernel = [&](uint64_t a, uint64_t len) { return a >= abi::kKernelBase && a <= h.image_end && len <= h.image_end - a; };
    if (!in_kernel(h.irq_entry, 1) || !in_kernel(h.irq_tail, 1) || h.irq_tail_end <= h.irq_tail ||
        !in_kernel(h.irq_tail_end, 0) || !in_kernel(h.irq_state, sizeof(abi::IrqState)) ||
        !in_kernel(h.irq_stack_top, 0) || h.irq_stack_top % 16)
        return make_error(ErrorKind::System, "guest kernel", "interrupt entry or state outside the image");
    return IrqLayout{h.irq_entry, h.irq_tail, h.irq_tail_end, h.irq_stack_top, h.irq_state};
}

// Places a read-only segment of the kernel ELF `blob` at its address in
// guest memory: whole pages mapped copy-on-write from `file`, the partial
// first and last pages copied (so nothing of the file beyond the segment
// shows). False (nothing changed) when it cannot be mapped: it is copied.
bool map_kernel_segment(GuestMemory& mem, const elf::Segment& s, std::span<const uint8_t> blob, const KernelFile& file) {
    constexpr uint64_t kPage = abi::kPageSize;
    const uint64_t start = s.vaddr, end = s.vaddr + s.filesz;
    const uint64_t first = (start + kPage - 1) & ~(kPage - 1), last = end & ~(kPage - 1);
    const uint64_t at = file.offset + s.file_offset + (first - start);
    if ((s.flags & PF_W) || last <= first || at % kPage || s.file_offset + s.filesz > blob.size())
        return false;
    auto dest = mem.span(start, s.filesz);
    if (!dest || !mem.map_file(first, last - first, file.fd, at))
        return false;
    const uint8_t* from = blob.data() + s.file_offset;
    std::memcpy(dest->data(), from, first - start);
    std::memcpy(dest->data() + (last - start), from + (last - start), end - last);
    return true;
}

Result<LoadedKernel> load_kernel(GuestMemory& mem) {
    auto blob = embedded_kernel();
    auto image = TRY(loader::parse_elf(blob, abi::kKernelBase));
    if (image.image_start < abi::kKernelBase || image.image_end > abi::kKernelLimit)
        return make_error(ErrorKind::System, "guest kernel", "image outside its reserved range");
    auto dest = TRY(mem.span(abi::kKernelBase, abi::kKernelLimit - abi::kKernelBase));
    // Read-only segments from one page-cache copy shared by every VM.
    const auto file = kernel_file(blob);
    auto share = [&](const elf::Segment& s) { return file && map_kernel_segment(mem, s, blob, *file); };
    TRY(loader::load_segments(image, blob, dest, abi::kKernelBase, loader::BssFill::AlreadyZero, share));
    auto header = TRY(mem.read<abi::KernelHeader>(abi::kKernelBase));
    if (header.magic != abi::kKernelMagic || header.abi_version != abi::kAbiVersion)
        return make_error(ErrorKind::System, "guest kernel", "bad header or ABI version mismatch");
    if (header.image_end > abi::kKernelLimit)
        return make_error(ErrorKind::System, "guest kernel", "image too large");
    const uint64_t slots = header.kstack_slots, slot = header.kstack_slot_size;
    if (slots > 64 || (slots && (slot < 2 * abi::kPageSize || slot % abi::kPageSize != 0 ||
                                 header.kstack_area < abi::kKernelBase ||
                                 header.kstack_area + slots * slot > header.image_end)))
        return make_error(ErrorKind::System, "guest kernel", "kernel stacks outside the image");
    auto irq = TRY(irq_layout(header));
    auto inside = [&](uint64_t a) { return a >= abi::kKernelBase && a <= header.image_end; };
    if (!inside(header.svc_entry) || !inside(header.svc_stack_top) || header.svc_stack_top % 16 ||
        !inside(header.pf_entry) || !inside(header.fault_frame_top) || header.fault_frame_top % 16)
        return make_error(ErrorKind::System, "guest kernel", "service or fault entry outside the image");
    if (header.trap_vectors && ((header.trap_vectors & ~abi::kTrapVectorsAllowed) || !inside(header.trap_entry) ||
                                !inside(header.trap_entry + 32 * abi::kTrapStubSize)))
        return make_error(ErrorKind::System, "guest kernel", "trap entries outside the image or for other vectors");
    if (header.max_cpus < 1 || header.max_cpus > abi::kMaxCpus || header.cpu_entries_size != sizeof(abi::CpuEntries) ||
        !inside(header.ap_entry) || !inside(header.cpu_table) ||
        !inside(header.cpu_table + header.max_cpus * sizeof(abi::CpuEntries)))
        return make_error(ErrorKind::System, "guest kernel", "per-CPU table outside the image or of another size");
    return LoadedKernel{header.entry,         header.syscall_entry, header.image_end,  header.kstack_area,
                        slot,                 slots,                irq,               header.svc_entry,
                        header.svc_stack_top, header.pf_entry,      header.fault_frame_top, header.trap_entry,
                        header.trap_vectors,  header.cpu_table,     header.ap_entry,   header.max_cpus};
}

// The first of stdin, stdout, stderr that is a terminal: its termios and
// window size for the guest's own copy (read once, before the sandbox).
void read_host_tty(const VmConfig& cfg, abi::BootInfo& boot) {
    for (int fd : {cfg.stdin_fd, cfg.stdout_fd, cfg.stderr_fd}) {
        termios t{};
        if (fd < 0 || ::tcgetattr(fd, &t) != 0)
            continue;
        abi::TtyState& s = boot.tty;
        s.iflag = t.c_iflag;
        s.oflag = t.c_oflag;
        s.cflag = t.c_cflag;
        s.lflag = t.c_lflag;
        s.line = t.c_line;
        static_assert(sizeof s.cc <= NCCS);  // glibc's c_cc begins with the kernel's 19
        std::copy(t.c_cc, t.c_cc + sizeof s.cc, s.cc);
        winsize ws{};
        if (::ioctl(fd, TIOCGWINSZ, &ws) == 0) {
            s.rows = ws.ws_row;
            s.cols = ws.ws_col;
            s.xpixel = ws.ws_xpixel;
            s.ypixel = ws.ws_ypixel;
        }
        boot.tty_valid = 1;
        return;
    }
}

void copy_string(char* dst, size_t cap, const std::string& s) {
    size_t n = std::min(cap - 1, s.size());
    std::memcpy(dst, s.data(), n);
    dst[n] = 0;
}

}  // namespace

uint64_t frames_base_bound(uint64_t mem_size) {
    return abi::kAppMin + page_up(mem_size / abi::kPageSize * 12) + abi::kHugePageSize;
}

std::span<const uint8_t> embedded_kernel() {
    return {lightvm_kernel_start, static_cast<size_t>(lightvm_kernel_end - lightvm_kernel_start)};
}

Result<MappedFile> MappedFile::open(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        return sys_error(path);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0)
        return sys_error(path);
    if (S_ISDIR(st.st_mode))
        return make_error(ErrorKind::BadExecutable, path, "is a directory");
    if (!S_ISREG(st.st_mode))
        return make_error(ErrorKind::BadExecutable, path, "not a regular file");
    MappedFile f;
    f.m_size = static_cast<size_t>(st.st_size);
    f.m_fd = std::move(fd);
    if (f.m_size == 0)
        return make_error(ErrorKind::BadExecutable, path, "empty file, not an ELF executable");
    void* p = ::mmap(nullptr, f.m_size, PROT_READ, MAP_PRIVATE, f.m_fd.get(), 0);
    if (p == MAP_FAILED)
        return sys_error("mmap " + path);
    f.m_data = static_cast<const uint8_t*>(p);
    return f;
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : m_fd(std::move(o.m_fd)), m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
    if (this != &o) {
        if (m_data)
            ::munmap(const_cast<uint8_t*>(m_data), m_size);
        m_fd = std::move(o.m_fd);
        m_data = std::exchange(o.m_data, nullptr);
        m_size = std::exchange(o.m_size, 0);
    }
    return *this;
}
MappedFile::~MappedFile() {
    if (m_data)
        ::munmap(const_cast<uint8_t*>(m_data), m_size);
}

Result<loader::ElfImage> check_app(std::span<const uint8_t> file, uint64_t mem_size, const std::string& path) {
    auto parsed = loader::parse_elf(file, abi::kPieBase);
    if (!parsed) {
        Error e = parsed.error();
        e.where = path;
        return tl::unexpected(e);
    }
    const auto& img = *parsed;
    if (img.image_start < abi::kAppMin)
        return make_error(ErrorKind::BadExecutable, path,
                          "segment at " + hex(img.image_start) + " overlaps the guest kernel (addresses below " +
                              hex(abi::kAppMin) + " are reserved)");
    // The file is placed in guest RAM whole (the kernel maps its segments
    // from there); the rest of RAM is frames for the program.
    uint64_t need = frames_base_bound(mem_size) + page_up(file.size()) + kMinFrames;
    if (mem_size < need)
        return make_error(ErrorKind::BadExecutable, path,
                          "a " + std::to_string((file.size() + (1u << 20) - 1) >> 20) + " MiB executable does not fit in " +
                              std::to_string(mem_size >> 20) + " MiB of guest memory; raise --mem (at least " +
                              std::to_string((need + (1u << 20) - 1) >> 20) + " MiB)");
    return parsed;
}

Result<GuestImage> build_shell_image(GuestMemory& mem) {
    GuestImage out;
    out.cr3 = TRY(x86::build_kernel_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, mem.size()));
    TRY(x86::write_descriptors(mem, abi::kHypercallPortBase, abi::kHypercallPortEnd));
    auto kernel = TRY(load_kernel(mem));
    for (uint64_t i = 0; i < kernel.kstack_slots; ++i)  // guard pages: never mapped
        TRY(x86::unmap_page(mem, out.cr3, kernel.kstack_area + i * kernel.kstack_slot_size));
    out.kernel_entry = kernel.entry;
    out.syscall_entry = kernel.syscall_entry;
    out.irq = kernel.irq;
    TRY(x86::write_interrupt_gates(mem, kernel.irq.entry, kernel.irq.stack_top));
    TRY(x86::write_service_gate(mem, kernel.svc_entry, kernel.svc_stack_top));
    TRY(x86::write_page_fault_gate(mem, kernel.pf_entry, kernel.fault_frame_top));
    TRY(x86::write_trap_gates(mem, kernel.trap_entry, kernel.trap_vectors));
    out.kernel_end = kernel.image_end;
    out.cpu_table = kernel.cpu_table;
    out.ap_entry = kernel.ap_entry;
    out.max_cpus = kernel.max_cpus;
    out.trap_vectors = kernel.trap_vectors;
    return out;
}

Result<abi::CpuEntries> read_cpu_entries(const GuestMemory& mem, const GuestImage& image, uint32_t k) {
    if (k >= image.max_cpus)
        return make_error(ErrorKind::GuestFault, "cpu", "CPU " + std::to_string(k) + " beyond the kernel's table");
    auto e = TRY(mem.read<abi::CpuEntries>(image.cpu_table + k * sizeof(abi::CpuEntries)));
    // Guest memory, written by the guest: every address the monitor puts in
    // a gate or TSS is checked again (boot_stack_top is only a register the
    // guest gets: its kernel stacks lie in their own area, above the image).
    auto in = [&](uint64_t a) { return a >= abi::kKernelBase && a < image.kernel_end; };
    const uint64_t addrs[] = {e.syscall_entry, e.irq_entry, e.irq_tail, e.irq_tail_end, e.irq_stack_top, e.irq_state,
                              e.svc_entry, e.svc_stack_top, e.pf_entry, e.fault_frame_top, e.trap_entry};
    for (uint64_t a : addrs)
        if (!in(a))
            return make_error(ErrorKind::GuestFault, "cpu", "CPU " + std::to_string(k) + " entry point outside the kernel");
    if (e.irq_tail_end <= e.irq_tail || e.irq_state + sizeof(abi::IrqState) > image.kernel_end ||
        (e.irq_stack_top | e.svc_stack_top | e.fault_frame_top | e.boot_stack_top) % 16)
        return make_error(ErrorKind::GuestFault, "cpu", "CPU " + std::to_string(k) + " has a malformed entry table");
    return e;
}

Result<void> write_cpu_tables(GuestMemory& mem, const GuestImage& image, uint32_t k, const abi::CpuEntries& e) {
    TRY(x86::copy_cpu0_tables(mem, k));
    TRY(x86::write_interrupt_gates(mem, e.irq_entry, e.irq_stack_top, k));
    TRY(x86::write_service_gate(mem, e.svc_entry, e.svc_stack_top, k));
    TRY(x86::write_page_fault_gate(mem, e.pf_entry, e.fault_frame_top, k));
    return x86::write_trap_gates(mem, e.trap_entry, image.trap_vectors, k);
}

// `mem` must be fresh apart from the shell image: bss is not cleared again.
Result<GuestImage> build_guest_image(GuestMemory& mem, const VmConfig& cfg, std::span<const uint8_t> app_file, int app_fd,
                                     const loader::ElfImage& app, const ClockReference& clock,
                                     const HostInfo& host) {
    GuestImage out = TRY(build_shell_image(mem));
    TRY(build_app_image(out, mem, cfg, app_file, app_fd, app, clock, host));
    return out;
}

uint64_t app_image_gpa(uint64_t mem_size, uint64_t file_size, const VmConfig& cfg) {
    const uint64_t top = page_up(file_size) + page_up(pack_args(cfg).size());
    return top < mem_size ? (mem_size - top) & ~(abi::kPageSize - 1) : 0;
}

Result<void> build_app_image(GuestImage& out, GuestMemory& mem, const VmConfig& cfg,
                             std::span<const uint8_t> app_file, int app_fd, const loader::ElfImage& app,
                             const ClockReference& clock, const HostInfo& host) {
    // The whole file goes to the top of guest RAM, mapped copy-on-write
    // from the host file when possible (no copy, no host page faults until
    // touched); the guest kernel maps its segments from there. Its frames
    // start below, at a place that does not depend on the app, so a pool
    // shell's kernel can boot before its app is known (abi.h BootInfo).
    const std::string args = pack_args(cfg);
    const uint64_t image_gpa = app_image_gpa(mem.size(), app_file.size(), cfg), image_len = page_up(app_file.size());
    const uint64_t args_gpa = image_gpa + image_len;
    if (args.size() > (1u << 20) || image_gpa < frames_base_bound(mem.size()) + kMinFrames)
        return make_error(ErrorKind::BadInput, "APP", "arguments and environment too large (" +
                                                          std::to_string(args.size()) + " bytes)");
    if (app_fd < 0 || !mem.map_file(image_gpa, image_len, app_fd, 0))
        TRY(mem.write_bytes(image_gpa, app_file));
    out.app_entry = app.entry;
    TRY(mem.write_bytes(args_gpa, {reinterpret_cast<const uint8_t*>(args.data()), args.size()}));

    ShellBoot base{host.fsgsbase, host.hwcap, host.ram_low_end, host.ram_high_start};
    abi::BootInfo boot = TRY(shell_boot_info(out, mem.size(), clock, base));
    boot.flags |= (cfg.trace ? uint32_t{abi::kBootTrace} : 0u) |
                 (cfg.test_hooks ? uint32_t{abi::kBootTestHooks} : 0u) |
                 (cfg.no_aslr ? uint32_t{abi::kBootNoAslr} : 0u);
    if ((host.stdio_mode[0] & S_IFMT) == S_IFCHR && ::isatty(cfg.stdin_fd))
        boot.flags |= abi::kBootStdinTty;
    if ((host.stdio_mode[1] & S_IFMT) == S_IFCHR && ::isatty(cfg.stdout_fd))
        boot.flags |= abi::kBootStdoutTty;
    if ((host.stdio_mode[2] & S_IFMT) == S_IFCHR && ::isatty(cfg.stderr_fd))
        boot.flags |= abi::kBootStderrTty;
    if ((host.stdio_mode[0] & S_IFMT) == S_IFREG)
        boot.flags |= abi::kBootStdinSeekable;
    read_host_tty(cfg, boot);
    if (cfg.stdio_closed[0])
        boot.flags |= abi::kBootStdinClosed;
    if (cfg.stdio_closed[1])
        boot.flags |= abi::kBootStdoutClosed;
    if (cfg.stdio_closed[2])
        boot.flags |= abi::kBootStderrClosed;
    boot.pid = host.pid;
    boot.max_procs = cfg.max_procs;
    boot.cpus = cfg.cpus;
    boot.app_entry = app.entry;
    const std::string& exe = host.exe_path.empty() ? cfg.app_path : host.exe_path;
    if (exe.size() >= sizeof boot.exe_path)  // a cut /proc/self/exe would name another file
        return make_error(ErrorKind::BadInput, "APP",
                          "host path " + exe.substr(0, 40) + "... is " + std::to_string(exe.size()) +
                              " bytes long (at most " + std::to_string(sizeof boot.exe_path - 1) + ")");
    copy_string(boot.exe_path, sizeof boot.exe_path, exe);
    copy_string(boot.hostname, sizeof boot.hostname, cfg.hostname);
    boot.user_uid = cfg.user.uid;
    boot.user_gid = cfg.user.gid;
    boot.user_ngroups = static_cast<uint32_t>(std::min<size_t>(cfg.user.groups.size(), abi::kMaxUserGroups));
    std::copy_n(cfg.user.groups.begin(), boot.user_ngroups, boot.user_groups);
    const EtcFiles etc = TRY(etc_files(cfg));
    copy_string(boot.resolv_conf, sizeof boot.resolv_conf, etc.resolv_conf);
    if (etc.hosts)
        boot.flags |= abi::kBootEtcHosts;
    if (etc.hostname)
        boot.flags |= abi::kBootEtcHostname;
    boot.net_mode = uses_host_sockets(cfg.net) ? abi::kNetModeHost : abi::kNetModeNone;
    boot.net_published = static_cast<uint32_t>(cfg.publish.size());
    std::copy(host.stdio_mode, host.stdio_mode + 3, boot.stdio_mode);
    // NoXS: the guest learns its mounts and disks here, with no negotiation.
    for (size_t i = 0; i < cfg.shares.size() && i < abi::kMaxMounts; ++i) {
        abi::FsMount& m = boot.mounts[i];
        m.share = static_cast<uint32_t>(i);
        m.flags = (cfg.shares[i].read_only ? uint32_t{abi::kDevReadOnly} : 0u) |
                  (cfg.shares[i].file ? uint32_t{abi::kFsMountFile} : 0u);
        copy_string(m.guest_path, sizeof m.guest_path, cfg.shares[i].guest_path);
        boot.mount_count++;
    }
    for (size_t i = 0; i < cfg.disks.size() && i < abi::kMaxDevices; ++i) {
        abi::DeviceDesc& d = boot.devices[i];
        d.type = abi::kDevBlock;
        d.flags = cfg.disks[i].read_only ? uint32_t{abi::kDevReadOnly} : 0u;
        std::string name = std::string("vd") + static_cast<char>('a' + i);
        copy_string(d.name, sizeof d.name, name);
        d.capacity = i < host.disk_capacity.size() ? host.disk_capacity[i] : 0;
        boot.device_count++;
    }
    for (const TmpfsSpec& t : effective_tmpfs(cfg)) {
        abi::TmpfsMount& m = boot.tmpfs[boot.tmpfs_count++];
        copy_string(m.guest_path, sizeof m.guest_path, t.guest_path);
        m.size = t.size;
    }
    copy_string(boot.initial_cwd, sizeof boot.initial_cwd, cfg.cwd);
    boot.irq_test_timer_ns = cfg.irq_test.guest_timer_ns;
    boot.irq_test_mask_ns = cfg.irq_test.mask_ns;
    boot.image_gpa = image_gpa;
    boot.image_size = app_file.size();
    boot.args_gpa = args_gpa;
    boot.args_size = args.size();
    boot.argc = static_cast<uint32_t>(cfg.argv.size());
    boot.envc = static_cast<uint32_t>(cfg.env.size());
    TRY(mem.write(abi::kBootInfoGpa, boot));
    return {};
}

Result<abi::BootInfo> shell_boot_info(const GuestImage& image, uint64_t mem_size, const ClockReference& clock,
                                      const ShellBoot& shell) {
    abi::BootInfo boot{};
    boot.magic = abi::kBootMagic;
    boot.abi_version = abi::kAbiVersion;
    boot.flags = shell.fsgsbase ? uint32_t{abi::kBootHasFsgsbase} : 0u;
    boot.pid = 1;
    boot.cpus = 1;
    boot.mem_size = mem_size;
    boot.tsc_khz = clock.tsc_khz;
    boot.tsc_base = clock.tsc;
    boot.tsc_shift = 32;
    boot.tsc_mult = snapshot::tsc_mult_for(clock.tsc_khz);
    boot.realtime_base_ns = clock.realtime_ns;
    boot.monotonic_base_ns = clock.monotonic_ns;
    if (::getrandom(boot.random_seed, sizeof boot.random_seed, 0) != static_cast<ssize_t>(sizeof boot.random_seed))
        return sys_error("getrandom");
    boot.kernel_end = image.kernel_end;
    boot.console_gpa = abi::kConsoleGpa;
    boot.console_size = abi::kConsoleDataSize;
    boot.ram_low_end = shell.ram_low_end ? shell.ram_low_end : mem_size;
    boot.ram_high_start = shell.ram_low_end ? shell.ram_high_start : mem_size;
    boot.frames_start = abi::kAppMin;
    boot.hwcap = shell.hwcap;
    return boot;
}

}  // namespace lightvm

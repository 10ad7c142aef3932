#include "monitor/layout.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <utility>

#include "lightvm/abi.h"
#include "loader/initial_stack.hpp"
#include "x86/descriptors.hpp"
#include "x86/page_tables.hpp"

extern "C" const uint8_t lightvm_kernel_start[];
extern "C" const uint8_t lightvm_kernel_end[];

namespace lightvm {

namespace {

constexpr uint64_t kMinHeap = 1ull << 20;  // leave at least this between image and stack

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

struct LoadedKernel {
    uint64_t entry, syscall_entry, image_end;
    uint64_t kstack_area, kstack_slot_size, kstack_slots;
    IrqLayout irq;
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

Result<LoadedKernel> load_kernel(GuestMemory& mem) {
    auto blob = embedded_kernel();
    auto image = TRY(loader::parse_elf(blob, abi::kKernelBase));
    if (image.image_start < abi::kKernelBase || image.image_end > abi::kKernelLimit)
        return make_error(ErrorKind::System, "guest kernel", "image outside its reserved range");
    auto dest = TRY(mem.span(abi::kKernelBase, abi::kKernelLimit - abi::kKernelBase));
    TRY(loader::load_segments(image, blob, dest, abi::kKernelBase, loader::BssFill::AlreadyZero));
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
    return LoadedKernel{header.entry, header.syscall_entry, header.image_end, header.kstack_area, slot, slots, irq};
}

// Zero-copy load: each segment's file pages are mapped copy-on-write over
// guest RAM, so a 2 MB busybox costs a few mmaps instead of a 2 MB copy and
// ~500 host page faults (measured: ~2 ms -> ~0.1 ms). Falls back (false)
// when segments share a page or the file cannot be mapped; then nothing
// has been changed that the copying loader does not overwrite.
bool map_app(GuestMemory& mem, const loader::ElfImage& app, int fd) {
    constexpr uint64_t kPage = abi::kPageSize;
    auto down = [](uint64_t v) { return v & ~(kPage - 1); };
    auto up = [](uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); };
    for (size_t i = 0; i < app.segments.size(); ++i)
        for (size_t j = 0; j < i; ++j) {
            const auto &a = app.segments[i], &b = app.segments[j];
            if (down(a.vaddr) < up(b.vaddr + b.memsz) && down(b.vaddr) < up(a.vaddr + a.memsz))
                return false;  // shared page: needs merging, copy instead
        }
    for (const auto& s : app.segments) {
        if (s.filesz == 0)
            continue;
        uint64_t start = down(s.vaddr), end = up(s.vaddr + s.filesz);
        if (!mem.map_file(start, end - start, fd, down(s.file_offset)))
            return false;
        // The rest of the last file page is file data from beyond the
        // segment (other sections, symbols): it must read as zero (bss).
        uint64_t data_end = s.vaddr + s.filesz;
        if (end > data_end)
            std::memset(mem.host_base() + data_end, 0, end - data_end);
    }
    return true;
}

void copy_string(char* dst, size_t cap, const std::string& s) {
    size_t n = std::min(cap - 1, s.size());
    std::memcpy(dst, s.data(), n);
    dst[n] = 0;
}

}  // namespace

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
    if (mem_size < abi::kAppMin + abi::kStackSize + kMinHeap)
        return make_error(ErrorKind::BadInput, path,
                          "guest memory of " + std::to_string(mem_size >> 20) + " MiB leaves no room for a program");
    uint64_t limit = mem_size - abi::kStackSize - kMinHeap;
    if (img.image_end > limit)
        return make_error(ErrorKind::BadExecutable, path,
                          "image ends at " + hex(img.image_end) + ", beyond guest memory (" +
                              std::to_string(mem_size >> 20) + " MiB); raise --mem");
    return parsed;
}

Result<GuestImage> build_shell_image(GuestMemory& mem) {
    GuestImage out;
    out.cr3 = TRY(x86::build_identity_map(mem, abi::kPageTablesGpa, abi::kPageTablesEnd, mem.size()));
    TRY(x86::write_descriptors(mem, abi::kHypercallPortBase, abi::kHypercallPortEnd));
    auto kernel = TRY(load_kernel(mem));
    for (uint64_t i = 0; i < kernel.kstack_slots; ++i)  // guard pages: never mapped
        TRY(x86::unmap_page(mem, out.cr3, kernel.kstack_area + i * kernel.kstack_slot_size));
    out.kernel_entry = kernel.entry;
    out.syscall_entry = kernel.syscall_entry;
    out.irq = kernel.irq;
    TRY(x86::write_interrupt_gates(mem, kernel.irq.entry, kernel.irq.stack_top));
    out.kernel_end = kernel.image_end;
    return out;
}

// `mem` must be fresh apart from the shell image: bss is not cleared again.
Result<GuestImage> build_guest_image(GuestMemory& mem, const VmConfig& cfg, std::span<const uint8_t> app_file, int app_fd,
                                     const loader::ElfImage& app, const ClockReference& clock,
                                     const HostInfo& host) {
    GuestImage out = TRY(build_shell_image(mem));
    TRY(build_app_image(out, mem, cfg, app_file, app_fd, app, clock, host));
    return out;
}

Result<void> build_app_image(GuestImage& out, GuestMemory& mem, const VmConfig& cfg,
                             std::span<const uint8_t> app_file, int app_fd, const loader::ElfImage& app,
                             const ClockReference& clock, const HostInfo& host) {
    if (app_fd < 0 || !map_app(mem, app, app_fd)) {
        auto app_dest = TRY(mem.span(abi::kAppMin, mem.size() - abi::kStackSize - abi::kAppMin));
        TRY(loader::load_segments(app, app_file, app_dest, abi::kAppMin, loader::BssFill::AlreadyZero));
    }
    out.app_entry = app.entry;

    uint8_t random[48];
    if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random))
        return sys_error("getrandom");

    loader::StackSpec spec;
    spec.stack_top = mem.size();
    spec.argv = cfg.argv;
    spec.envp = cfg.env;
    exec::ProgramAux aux;  // no interpreter yet: AT_BASE 0
    aux.phdr = app.phdr_vaddr;
    aux.phent = app.phentsize;
    aux.phnum = app.phnum;
    aux.entry = app.entry;
    aux.hwcap = host.hwcap;
    spec.auxv.resize(exec::kMaxProgramAux);
    spec.auxv.resize(exec::fill_auxv(aux, spec.auxv.data()));
    std::copy(random + 32, random + 48, spec.random.begin());
    spec.execfn = cfg.argv.empty() ? cfg.app_path : cfg.argv[0];
    auto stack = TRY(loader::build_initial_stack(spec));
    TRY(mem.write_bytes(mem.size() - stack.bytes.size(), stack.bytes));
    out.app_sp = stack.sp;

    abi::BootInfo boot{};
    boot.magic = abi::kBootMagic;
    boot.abi_version = abi::kAbiVersion;
    boot.flags = (cfg.trace ? uint32_t{abi::kBootTrace} : 0u) | (host.fsgsbase ? uint32_t{abi::kBootHasFsgsbase} : 0u) |
                 (cfg.test_hooks ? uint32_t{abi::kBootTestHooks} : 0u);
    if ((host.stdio_mode[0] & S_IFMT) == S_IFCHR && ::isatty(cfg.stdin_fd))
        boot.flags |= abi::kBootStdinTty;
    if ((host.stdio_mode[1] & S_IFMT) == S_IFCHR && ::isatty(cfg.stdout_fd))
        boot.flags |= abi::kBootStdoutTty;
    if ((host.stdio_mode[2] & S_IFMT) == S_IFCHR && ::isatty(cfg.stderr_fd))
        boot.flags |= abi::kBootStderrTty;
    if ((host.stdio_mode[0] & S_IFMT) == S_IFREG)
        boot.flags |= abi::kBootStdinSeekable;
    if (cfg.stdio_closed[0])
        boot.flags |= abi::kBootStdinClosed;
    if (cfg.stdio_closed[1])
        boot.flags |= abi::kBootStdoutClosed;
    if (cfg.stdio_closed[2])
        boot.flags |= abi::kBootStderrClosed;
    boot.pid = host.pid;
    boot.mem_size = mem.size();
    boot.tsc_khz = clock.tsc_khz;
    boot.tsc_base = clock.tsc;
    boot.tsc_shift = 32;
    boot.tsc_mult = clock.tsc_khz ? (1000000ull << 32) / clock.tsc_khz : 0;
    boot.realtime_base_ns = clock.realtime_ns;
    boot.monotonic_base_ns = clock.monotonic_ns;
    std::copy(random, random + 32, boot.random_seed);
    boot.app_entry = app.entry;
    boot.app_sp = stack.sp;
    boot.app_image_end = app.image_end;
    boot.heap_lo = app.image_end;
    boot.stack_lo = mem.size() - abi::kStackSize;
    boot.kernel_end = out.kernel_end;
    boot.console_gpa = abi::kConsoleGpa;
    boot.console_size = abi::kConsoleDataSize;
    const std::string& exe = host.exe_path.empty() ? cfg.app_path : host.exe_path;
    if (exe.size() >= sizeof boot.exe_path)  // a cut /proc/self/exe would name another file
        return make_error(ErrorKind::BadInput, "APP",
                          "host path " + exe.substr(0, 40) + "... is " + std::to_string(exe.size()) +
                              " bytes long (at most " + std::to_string(sizeof boot.exe_path - 1) + ")");
    copy_string(boot.exe_path, sizeof boot.exe_path, exe);
    copy_string(boot.hostname, sizeof boot.hostname, cfg.hostname);
    std::copy(host.stdio_mode, host.stdio_mode + 3, boot.stdio_mode);
    // NoXS: the guest learns its mounts and disks here, with no negotiation.
    for (size_t i = 0; i < cfg.shares.size() && i < abi::kMaxMounts; ++i) {
        abi::FsMount& m = boot.mounts[i];
        m.share = static_cast<uint32_t>(i);
        m.flags = cfg.shares[i].read_only ? uint32_t{abi::kDevReadOnly} : 0u;
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
    copy_string(boot.initial_cwd, sizeof boot.initial_cwd, cfg.cwd);
    boot.ram_low_end = host.ram_low_end ? host.ram_low_end : mem.size();
    boot.ram_high_start = host.ram_low_end ? host.ram_high_start : mem.size();
    boot.irq_test_timer_ns = cfg.irq_test.guest_timer_ns;
    boot.irq_test_mask_ns = cfg.irq_test.mask_ns;
    TRY(mem.write(abi::kBootInfoGpa, boot));
    return {};
}

}  // namespace lightvm

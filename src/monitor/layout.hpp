// Builds a guest image in guest memory before the first instruction: page
// tables, descriptors, the guest kernel, the application and its stack, and
// the boot page. Pure memory writes: no KVM needed, so tests cover it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "loader/elf.hpp"
#include "memory/guest_memory.hpp"
#include "monitor/config.hpp"
#include "monitor/interrupts.hpp"

namespace lightvm {

// The embedded guest kernel ELF (monitor/kernel_blob.S).
std::span<const uint8_t> embedded_kernel();

// A host file mapped read-only.
class MappedFile {
public:
    static Result<MappedFile> open(const std::string& path);
    MappedFile() = default;
    MappedFile(MappedFile&&) noexcept;
    MappedFile& operator=(MappedFile&&) noexcept;
    ~MappedFile();
    std::span<const uint8_t> bytes() const { return {m_data, m_size}; }
    int fd() const { return m_fd.get(); }

private:
    UniqueFd m_fd;
    const uint8_t* m_data = nullptr;
    size_t m_size = 0;
};

// Parses and places the application, checking it fits the guest layout.
// Needs no KVM: bad executables fail before any VM is created.
Result<loader::ElfImage> check_app(std::span<const uint8_t> file, uint64_t mem_size, const std::string& path);

struct GuestImage {
    uint64_t cr3 = 0;
    uint64_t kernel_entry = 0;
    uint64_t syscall_entry = 0;
    uint64_t app_entry = 0;
    uint64_t app_sp = 0;
    uint64_t kernel_end = 0;
    IrqLayout irq;  // the guest kernel's interrupt entry and state (CPU 0)
    // SMP: where the kernel's table of per-CPU entry points is (read again
    // when a vCPU starts: boot_stack_top is filled in by then), the entry
    // of started vCPUs, how many the kernel supports, its trap vectors.
    uint64_t cpu_table = 0;
    uint64_t ap_entry = 0;
    uint32_t max_cpus = 1;
    uint64_t trap_vectors = 0;
};

// Registers a vCPU starts with: CPU `cpu` at rip with rdi and rsp, its
// syscall entry at lstar (monitor/shell.cpp).
struct VcpuStart {
    uint32_t cpu;
    uint64_t lstar, rip, rdi, rsp;
};
Result<void> init_vcpu_state(kvm::Vcpu& vcpu, const GuestImage& image, bool fsgsbase, const VcpuStart& at);

// CPU k's entry points from the guest's table, each checked to lie in the
// kernel image; the IDT/TSS of vCPU k written to use them.
Result<abi::CpuEntries> read_cpu_entries(const GuestMemory& mem, const GuestImage& image, uint32_t k);
Result<void> write_cpu_tables(GuestMemory& mem, const GuestImage& image, uint32_t k, const abi::CpuEntries& e);

struct ClockReference {
    uint64_t tsc_khz = 0;
    uint64_t tsc = 0;
    uint64_t realtime_ns = 0;
    uint64_t monotonic_ns = 0;
};

struct HostInfo {
    bool fsgsbase = false;
    uint32_t stdio_mode[3] = {0, 0, 0};
    uint32_t pid = 1;
    uint64_t hwcap = 0;
    std::string exe_path;
    std::vector<uint64_t> disk_capacity;  // one per VmConfig::disks entry
    uint64_t ram_low_end = 0;             // backed RAM at boot (0: all of it)
    uint64_t ram_high_start = 0;
};

// The app-independent part of the image (the shell): identity page tables
// for all of `mem`, GDT/TSS/IDT and fault stubs, the guest kernel. Fills in
// cr3, kernel_entry and syscall_entry. `mem` must be fresh (all zero).
Result<GuestImage> build_shell_image(GuestMemory& mem);

// The app-specific part on top of a shell image: APP segments, the Linux
// initial stack, the boot page. app_fd >= 0: map the app's file-backed pages
// straight into guest RAM (MAP_PRIVATE, copy-on-write) instead of copying
// them; -1: copy. `kernel_end` is the guest kernel's image end.
Result<void> build_app_image(GuestImage& image, GuestMemory& mem, const VmConfig& cfg,
                             std::span<const uint8_t> app_file, int app_fd, const loader::ElfImage& app,
                             const ClockReference& clock, const HostInfo& host);

// Where the guest's first frame is at most: its pool starts at kAppMin
// with 12 bytes of metadata a frame, then aligns to 2 MiB
// (guest/kernel/mm/frames.cpp).
uint64_t frames_base_bound(uint64_t mem_size);

// The boot page's app-independent part: what a shell's kernel may boot
// with before its workload is known (abi.h kBootPark); build_app_image
// starts from it. ram_low_end 0: all of RAM is backed.
struct ShellBoot {
    bool fsgsbase = false;
    uint64_t hwcap = 0;
    uint64_t ram_low_end = 0, ram_high_start = 0;
};
Result<abi::BootInfo> shell_boot_info(const GuestImage& image, uint64_t mem_size, const ClockReference& clock,
                                      const ShellBoot& shell);

// Where build_app_image places the app's file (its arguments follow): the
// top of RAM, page aligned; 0 if it does not fit.
uint64_t app_image_gpa(uint64_t mem_size, uint64_t file_size, const VmConfig& cfg);

// Both of the above in one go (tests and tools that need no pool).
Result<GuestImage> build_guest_image(GuestMemory& mem, const VmConfig& cfg, std::span<const uint8_t> app_file, int app_fd,
                                     const loader::ElfImage& app, const ClockReference& clock,
                                     const HostInfo& host);

}  // namespace lightvm

// The snapshot file format (docs/snapshot-format.md): what a saved VM is,
// as plain data, and its encoding. Pure (no KVM, no files): encode() and
// decode() are unit-tested, and decode() is the one place that decides
// whether a state file is acceptable — corrupt, truncated, foreign or
// mismatched files are refused there with one line.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "kvm/kvm.hpp"

namespace lightvm::snapshot {

inline constexpr char kMagic[8] = {'L', 'V', 'M', 'S', 'N', 'A', 'P', '\n'};
// Version 1 is the first; a reader accepts every version up to its own.
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint64_t kHeaderSize = 32;
// A state file is small (registers, device tables); anything larger is not ours.
inline constexpr uint64_t kMaxStateSize = 16ull << 20;

// CPUID bits the guest kernel and the programs in it may have chosen code
// paths by (SSE4.2, AVX2, FSGSBASE, ...): a host must offer all of them.
struct CpuFeatures {
    uint32_t leaf1_ecx = 0, leaf1_edx = 0;
    uint32_t leaf7_ebx = 0, leaf7_ecx = 0, leaf7_edx = 0;
    uint32_t ext1_ecx = 0, ext1_edx = 0;  // 0x80000001
    uint64_t xcr0 = 0;                    // state components the FPU image may hold
};
CpuFeatures host_cpu_features();
// "" when `have` offers everything `need` has, else which register lacks which bits.
std::string missing_features(const CpuFeatures& need, const CpuFeatures& have);

// What the monitor, not KVM, keeps for a vCPU (section 8; for vCPU 0 of a
// file without it: the machine section's interrupt fields).
inline constexpr uint32_t kVcpuKicked = 1;  // a kick (kCpuKick) its next idle sleep has not seen
inline constexpr uint32_t kVcpuTlb = 2;     // a TLB request (kCpuTlb) not yet served
inline constexpr uint32_t kVcpuIdle = 4;    // saved in its idle sleep (re-entered at restore)
inline constexpr uint32_t kVcpuFlags = kVcpuKicked | kVcpuTlb | kVcpuIdle;

struct VcpuMonitor {
    uint32_t id = 0;  // the vCPU's number: 0 boots, the guest starts the others
    uint32_t flags = 0;
    // Its copy of the guest kernel's interrupt code and state (per CPU).
    uint64_t irq_entry = 0, irq_tail = 0, irq_tail_end = 0, irq_stack_top = 0, irq_state = 0;
    uint64_t irq_pending = 0;        // sources raised on the host, not yet handed to the guest
    uint64_t timer_deadline_ns = 0;  // its guest timer (CLOCK_MONOTONIC), 0 = not armed
};

struct VcpuState {
    VcpuMonitor mon;
    kvm::Regs regs{};
    kvm::Sregs sregs{};
    std::vector<uint8_t> xsave;   // kvm::Vcpu::kXsaveSize bytes
    std::vector<uint8_t> events;  // kvm::Vcpu::kEventsSize bytes
    std::vector<kvm::Msr> msrs;
};

// What a host file looked like at save: a restore refuses a file that changed.
struct FileIdentity {
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
};

struct ShareState {
    std::string host_path, guest_path;
    bool read_only = false;
    bool mapped = false;  // the mapped ownership model (section 7; absent: every share passes through)
};

// An open fs-device handle: reopened by path below its share at restore.
struct HandleState {
    uint32_t index = 0;  // the guest's handle number
    uint32_t share = 0;
    bool read_only = false;
    std::string path;    // relative to the share's root ("" = the root itself)
    uint32_t flags = 0;  // O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH | O_DIRECTORY | O_NOFOLLOW
    int64_t offset = 0;
    FileIdentity id;
};

struct DiskState {
    std::string path;
    bool read_only = false;
    FileIdentity id;
};

struct MemExtent {
    uint64_t gpa = 0, len = 0;
};

struct Snapshot {
    uint32_t abi_version = 0;
    CpuFeatures cpu;
    // The host boot the guest's clock reference belongs to (its TSC), and
    // the host's CLOCK_MONOTONIC at save: a restore in the same boot keeps
    // the reference, one in another boot or on another host rebases it
    // (section 9; snapshot/guest_clock.hpp).
    std::string boot_id;
    uint64_t saved_monotonic_ns = 0;
    // Section 9 (optional; absent in files from before it, which then
    // restore in their own boot only): the host's CLOCK_REALTIME at save and
    // the guest's time since its clock bases then.
    bool has_clock = false;
    uint64_t saved_realtime_ns = 0;
    uint64_t guest_since_ns = 0;
    uint64_t mem_size = 0;
    uint64_t ram_low_end = 0, ram_high_start = 0;
    // FNV-1a of the guest's boot page at save: pairs this file with its memory file.
    uint64_t mem_tag = 0;
    // Where the snapshot's guest kernel keeps its interrupt code and state.
    uint64_t irq_entry = 0, irq_tail = 0, irq_tail_end = 0, irq_stack_top = 0, irq_state = 0;
    uint64_t irq_pending = 0;        // sources raised on the host, not yet handed to the guest
    uint64_t timer_deadline_ns = 0;  // the guest's one-shot timer (CLOCK_MONOTONIC), 0 = not armed
    uint32_t max_procs = 0;
    // --cpus: the vCPUs the guest may start (1 in a file without section 8),
    // and where the snapshot's guest kernel keeps what a vCPU started after
    // a restore needs (its page tables, table of per-CPU entry points, AP
    // entry, end, trap vectors, how many CPUs it supports).
    uint32_t cpus = 1;
    uint64_t kernel_cr3 = 0, kernel_end = 0, cpu_table = 0, ap_entry = 0, trap_vectors = 0;
    uint32_t kernel_max_cpus = 1;
    std::vector<VcpuState> vcpus;  // in id order; vcpus[0] is vCPU 0
    std::vector<ShareState> shares;
    std::vector<HandleState> handles;
    std::vector<DiskState> disks;
    std::vector<MemExtent> extents;  // the memory file's data, sorted, page-aligned
};

// /proc/sys/kernel/random/boot_id (or LIGHTVM_TEST_BOOT_ID, for tests), "" when unreadable.
std::string host_boot_id();

uint64_t fnv1a(std::span<const uint8_t> bytes, uint64_t seed = 0xcbf29ce484222325ull);

std::vector<uint8_t> encode(const Snapshot& snap);
// Every check that needs only the file: magic, version, size, checksum,
// section framing and field ranges. Errors are BadInput, one line.
Result<Snapshot> decode(std::span<const uint8_t> bytes);

}  // namespace lightvm::snapshot

// lightvm host <-> guest ABI. The one contract between the monitor and the
// guest kernel; included verbatim by both. Only <stdint.h>/<stddef.h> level
// things here. Append-only: new fields go at the end of a struct and new
// hypercalls get new numbers. kAbiVersion goes up when a meaning that
// exists changes; additions an older kernel never uses (kHcPark, kHcReady,
// kHcExec) keep it, so snapshots of older kernels keep loading
// (docs/snapshot-format.md).
//
// Direction markers: IN = written by the guest, read by the monitor;
// OUT = written by the monitor, read by the guest. Guest addresses are
// plain uint64_t ("gpa"): the monitor never dereferences them directly, it
// passes them through GuestMemory's checked accessors.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::abi {

// 5: BootInfo.tsc_base may lie above the TSC (a restore in another host
// boot rebases the clock; the guest takes the difference as signed).
inline constexpr uint32_t kAbiVersion = 5;
inline constexpr uint32_t kBootMagic = 0x4c564d31;  // "LVM1"

// ---------------------------------------------------------------------------
// Guest physical (== guest virtual, identity mapped) layout.
// Everything sits in the lower canonical half: PVM runs guest CPL3 code in
// the host's user half. The application starts at 4 MiB, where static
// executables are linked by default; the guest kernel lives below it.
// ---------------------------------------------------------------------------
inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kHugePageSize = 2ull << 20;

inline constexpr uint64_t kBootInfoGpa = 0x1000;    // BootInfo, one page
inline constexpr uint64_t kGdtGpa = 0x2000;         // GDT, one page
inline constexpr uint64_t kIdtGpa = 0x3000;         // IDT, 256 gates
inline constexpr uint64_t kTssGpa = 0x4000;         // TSS + I/O bitmap
inline constexpr uint64_t kFaultStubsGpa = 0x5000;  // CPL0 fault stubs (monitor-written)
inline constexpr uint64_t kFaultStubSize = 16;      // bytes per vector stub
inline constexpr uint64_t kPageTablesGpa = 0x10000; // PML4, PDPT, PT0, PDs...
inline constexpr uint64_t kPageTablesEnd = 0x30000;
inline constexpr uint64_t kFaultStackLo = 0x30000;  // TSS.RSP0 stack for faults
inline constexpr uint64_t kFaultStackHi = 0x38000;
inline constexpr uint64_t kConsoleGpa = 0x40000;    // ConsoleRing header + data
inline constexpr uint64_t kConsoleDataSize = 0x40000;  // 256 KiB, power of two
inline constexpr uint64_t kConsoleEnd = 0x40000 + 0x1000 + 0x40000;
inline constexpr uint64_t kKernelBase = 0x100000;   // guest kernel image
inline constexpr uint64_t kKernelLimit = 0x400000;  // kernel must end below this
inline constexpr uint64_t kAppMin = 0x400000;       // lowest app address
inline constexpr uint64_t kPieBase = 0x400000;      // where static-PIE is placed
inline constexpr uint64_t kStackSize = 8ull << 20;  // RLIMIT_STACK default (Linux's 8 MiB)
inline constexpr uint64_t kMinMemSize = 16ull << 20;
inline constexpr uint64_t kMaxMemSize = 16ull << 30;

// Guest virtual layout (ABI v3). Physical memory above kAppMin is a pool of
// frames the guest kernel owns: it builds per-process page tables over it.
// Every address space maps the same two kernel parts:
//   [0, kAppMin)                the low region above, identity-mapped
//                               (GVA == GPA: hypercall blocks in the kernel
//                               image are valid physical addresses);
//   [kPhysMapBase, +mem_size)   all of guest RAM, 2 MiB pages (the kernel's
//                               view of frames: PML4 slot 255).
// User space is [kUserMin, kUserMax): ~127.5 TiB, independent of --mem.
inline constexpr uint64_t kPhysMapBase = 0x7f8000000000ull;
inline constexpr uint64_t kUserMin = kAppMin;
inline constexpr uint64_t kUserMax = kPhysMapBase;

// The guest kernel image starts with this header (section .lvm_header,
// first in its linker script) so the monitor finds its entry points without
// symbol tables.
inline constexpr uint32_t kKernelMagic = 0x4b4d564c;  // "LVMK"
struct KernelHeader {
    uint32_t magic;          // kKernelMagic
    uint32_t abi_version;    // kAbiVersion the kernel was built against
    uint64_t entry;          // first instruction; rdi = kBootInfoGpa
    uint64_t syscall_entry;  // LSTAR
    uint64_t image_end;      // end of .bss (page aligned)
    // Appended: the kernel stacks, kstack_slots slots of kstack_slot_size
    // bytes from kstack_area, each a guard page followed by a stack. The
    // monitor leaves every guard page unmapped, so a kernel stack overflow
    // faults instead of corrupting memory (kstack_slots 0: none).
    uint64_t kstack_area;
    uint32_t kstack_slot_size;
    uint32_t kstack_slots;
    // Interrupts (appended): see "Interrupts" below.
    uint64_t irq_entry;      // handler for every interrupt vector (trap gate, IST1, CPL3)
    uint64_t irq_tail;       // [irq_tail, irq_tail_end): the handler's exit sequence
    uint64_t irq_tail_end;
    uint64_t irq_stack_top;  // TSS.IST1: interrupt frames never land on the interrupted stack
    uint64_t irq_state;      // gpa of the kernel's IrqState
    // ABI v3 (appended): the guest kernel's CPL0 service, reached with
    // `int3` (the only software interrupt PVM delivers besides `int $4`):
    // with a request posted it loads CR3 (address-space switch and TLB
    // flush, which CPL3 cannot do); without one it is the program's
    // breakpoint and reports like the monitor's own stubs.
    uint64_t svc_entry;      // IDT vector 3 target (CPL0, DPL 3 gate, IST2)
    uint64_t svc_stack_top;  // TSS.IST2
    // Page faults (appended): vector 14 goes to the kernel's CPL0 stub,
    // which saves CR2 (unreadable at CPL3) and continues in the kernel's
    // CPL3 handler. TSS.RSP0 points at the kernel's fault record, so the
    // CPU writes the faulting frame straight into it.
    uint64_t pf_entry;       // IDT vector 14 target (CPL0 interrupt gate)
    uint64_t fault_frame_top;  // TSS.RSP0
    // Appended: CPU exceptions a program may catch as signals (#DE, #UD,
    // #GP, #MF, #XM: SIGFPE, SIGILL, SIGSEGV). Each vector v in
    // trap_vectors (a subset of kTrapVectorsAllowed) goes to the kernel's
    // CPL0 stub at trap_entry + v * kTrapStubSize (interrupt gate, frame
    // at TSS.RSP0 as for page faults). A stub that finds no handler for
    // its signal reports exactly as the monitor's own stub for v would.
    uint64_t trap_entry;
    uint64_t trap_vectors;   // bit v: the kernel takes vector v (0: none)
    // ABI v4: several vCPUs. The fields above are CPU 0's; cpu_table holds
    // max_cpus CpuEntries (CPU 0's first, equal to the fields above), each
    // CPU's own entry code and stacks: per-CPU code reaches its CPU's data
    // RIP-relative, with no free register and no swapgs at CPL3. A vCPU k
    // the guest starts (kHcCpu, kCpuStart) begins at ap_entry with
    // rdi = k, rsp = its CpuEntries.boot_stack_top.
    uint64_t cpu_table;
    uint64_t ap_entry;
    uint32_t max_cpus;
    uint32_t cpu_entries_size;  // sizeof(CpuEntries), a check of the build
};
static_assert(sizeof(KernelHeader) == 160);
inline constexpr uint64_t kTrapStubSize = 32;
inline constexpr uint64_t kTrapVectorsAllowed = (1u << 0) | (1u << 6) | (1u << 13) | (1u << 16) | (1u << 19);
static_assert(offsetof(KernelHeader, irq_entry) == 48 && offsetof(KernelHeader, irq_state) == 80);

// Several vCPUs (--cpus): at most kMaxCpus. Each has its own IDT (gates to
// its own entry code) and TSS (its own IST and fault stacks); CPU 0 uses
// kIdtGpa/kTssGpa, the others the pages below kPageTablesGpa.
inline constexpr uint32_t kMaxCpus = 8;
inline constexpr uint64_t kApIdtGpa = 0x6000;   // CPU k >= 1: kApIdtGpa + (k - 1) * 4 KiB
inline constexpr uint64_t kApTssGpa = 0xd000;   // CPU k >= 1: kApTssGpa + (k - 1) * 512
inline constexpr uint64_t idt_gpa(uint32_t cpu) { return cpu ? kApIdtGpa + (cpu - 1) * 0x1000ull : kIdtGpa; }
inline constexpr uint64_t tss_gpa(uint32_t cpu) { return cpu ? kApTssGpa + (cpu - 1) * 0x200ull : kTssGpa; }
static_assert(idt_gpa(kMaxCpus - 1) + 0x1000 <= kApTssGpa && tss_gpa(kMaxCpus - 1) + 0x200 <= kPageTablesGpa);

struct CpuEntries {
    uint64_t syscall_entry;  // this CPU's LSTAR
    uint64_t irq_entry, irq_tail, irq_tail_end, irq_stack_top, irq_state;  // as in KernelHeader
    uint64_t svc_entry, svc_stack_top;
    uint64_t pf_entry, fault_frame_top;
    uint64_t trap_entry;
    uint64_t boot_stack_top;  // rsp at ap_entry (the kernel fills it in before kCpuStart)
};
static_assert(sizeof(CpuEntries) == 96);

// GDT selectors, Linux-compatible so that STAR works the same way.
inline constexpr uint16_t kKernelCs = 0x10;
inline constexpr uint16_t kKernelDs = 0x18;
inline constexpr uint16_t kUser32Cs = 0x23;
inline constexpr uint16_t kUserDs = 0x2b;
inline constexpr uint16_t kUserCs = 0x33;
inline constexpr uint16_t kTssSel = 0x38;

// ---------------------------------------------------------------------------
// Hypercalls: `out %eax, %dx` at CPL3 with dx = kHypercallPortBase + nr and
// eax = guest physical address of the argument struct (below 4 GiB). The
// TSS I/O bitmap allows exactly [kHypercallPortBase, kHypercallPortEnd).
// ---------------------------------------------------------------------------
inline constexpr uint16_t kHypercallPortBase = 0x500;
inline constexpr uint16_t kHypercallPortEnd = 0x520;
inline constexpr uint16_t kFaultPort = 0x5ff;  // CPL0 fault stubs only (not in bitmap)

enum Hypercall : uint16_t {
    kHcExit = 0,          // HcExit
    kHcConsoleFlush = 1,  // no argument: drain the console ring
    kHcWrite = 2,         // HcIo: write straight from guest memory to a host stream
    kHcRead = 3,          // HcIo: read from a host stream into guest memory
    kHcSleep = 4,         // HcSleep
    kHcSetFsBase = 5,     // HcSetFsBase (CPUs without FSGSBASE)
    kHcFs = 6,            // HcFs: one file-system operation on a host directory share
    kHcBlock = 7,         // HcBlock: one block-device request
    kHcMemGrow = 8,       // HcMemGrow: back more guest RAM before using it
    kHcStdinSeek = 9,     // HcSeek: lseek on the host's stdin (a regular file)
    kHcTimer = 10,        // HcTimer: one-shot timer interrupt (kIrqTimer) at a deadline
    kHcFault = 11,        // HcFault: the guest kernel ends the VM for a fault it cannot resolve
    kHcNet = 12,          // HcNet: one operation on a host socket the monitor owns (networking)
    kHcCpu = 13,          // HcCpu: start another vCPU, or wake/interrupt one (SMP)
    kHcMemRelease = 14,   // HcMemRelease: give free guest RAM back to the host (it reads as zero after)
    kHcTty = 15,          // HcTty: change the host terminal the guest's stdio is on
    kHcPark = 16,         // HcPark: a pool shell's kernel booted; returns once the boot page holds a workload
    kHcReady = 17,        // HcReady: the program marked its ready point (/sys/devices/virtual/lightvm/ready)
    kHcExec = 18,         // HcExec: take a queued exec request (lightvm-oci exec), or report one's exit
    kHcCount
};

struct HcExit {
    int32_t status;   // IN: exit status (low 8 bits are the process status)
    uint32_t signal;  // IN: 0 for a normal exit, else the fatal signal (e.g. SIGABRT)
};
static_assert(sizeof(HcExit) == 8);

struct HcIo {
    uint32_t fd;      // IN: guest stdio fd: 0, 1 or 2
    uint32_t flags;   // IN: reserved, 0
    uint64_t buf;     // IN: gpa of the buffer
    uint64_t len;     // IN: bytes
    int64_t result;   // OUT: bytes moved, or -errno
};
static_assert(sizeof(HcIo) == 32);
static_assert(offsetof(HcIo, buf) == 8 && offsetof(HcIo, result) == 24);

struct HcSeek {
    int64_t offset;   // IN
    uint32_t whence;  // IN: SEEK_SET, SEEK_CUR, SEEK_END
    uint32_t pad;
    int64_t result;   // OUT: new offset, or -errno
};
static_assert(sizeof(HcSeek) == 24);

struct HcSleep {
    uint64_t nanoseconds;  // IN
    int64_t result;        // OUT: 0 or -EINTR
};
static_assert(sizeof(HcSleep) == 16);

// SMP. kCpuStart: vCPU `cpu` (1 <= cpu < BootInfo.cpus, not started yet)
// begins at KernelHeader.ap_entry. kCpuKick: vCPU `cpu` leaves a kHcSleep
// at once (or skips its next one), and `sources` (IrqSource bits, may be 0)
// are raised on it, interrupting it if it runs.
// kCpuTlb: vCPU `cpu`'s IrqState.tlb_request is set; stop it and serve it.
// kCpuYield: the caller has spun a while on another vCPU (a lock, a TLB
// ack): its host thread yields the host CPU (that vCPU may need it).
enum CpuOp : uint32_t { kCpuStart = 1, kCpuKick = 2, kCpuTlb = 3, kCpuYield = 4 };
enum TlbRequest : uint32_t { kTlbReload = 1, kTlbLeave = 2 };
struct HcCpu {
    uint32_t op;       // IN: CpuOp
    uint32_t cpu;      // IN
    uint64_t sources;  // IN: kCpuKick
    int64_t result;    // OUT: 0 or -errno
};
static_assert(sizeof(HcCpu) == 24);

struct HcSetFsBase {
    uint64_t base;   // IN
    int64_t result;  // OUT
};
static_assert(sizeof(HcSetFsBase) == 16);

// File-system shares (--fs/--rootfs). The guest kernel owns the mount table
// and the fd table; the monitor owns host file descriptors, named to the
// guest by opaque handles. Paths in requests are relative to a share root
// (or to a directory handle), lexically normalised by the guest, and
// resolved by the monitor with openat2(RESOLVE_IN_ROOT): the guest can never
// name anything outside the directories it was given.
enum FsOp : uint32_t {
    kFsOpen = 1,       // path, flags = O_* (Linux values), mode -> result = handle, aux = st_mode
    kFsClose = 2,      // handle
    kFsRead = 3,       // handle, buf, len, offset (-1: file position) -> bytes
    kFsWrite = 4,      // handle, buf, len, offset (-1: file position / append) -> bytes, aux = position after
    kFsStat = 5,       // path, flags = AT_SYMLINK_NOFOLLOW?, buf = struct stat (144 bytes)
    kFsFstat = 6,      // handle, buf = struct stat
    kFsGetdents = 7,   // handle, buf, len -> bytes of linux_dirent64 records
    kFsMkdir = 8,      // path, mode
    kFsUnlink = 9,     // path, flags = AT_REMOVEDIR?
    kFsRename = 10,    // path -> path2 (share2), flags = RENAME_*
    kFsReadlink = 11,  // path, buf, len -> bytes
    kFsSymlink = 12,   // path = new link, path2 = target text (not resolved)
    kFsLink = 13,      // path -> path2 (share2)
    kFsTruncate = 14,  // handle, offset = new length
    kFsFsync = 15,     // handle, flags = 1 for fdatasync
    kFsUtimens = 16,   // path or handle (path_len 0), buf = gpa of timespec[2] or 0, flags
    kFsChmod = 17,     // path or handle (path_len 0), mode
    kFsAccess = 18,    // path, mode = R_OK|W_OK|X_OK, flags
    kFsSeek = 19,      // handle, offset, flags = whence -> new offset (directories: rewind)
    kFsStatfs = 20,    // path or handle, buf = struct statfs (120 bytes)
    kFsSendfile = 21,  // handle -> (flags: kSendToHandle: handle2 at offset2 (-1: its position/append) |
                       //  kSendToStdout | kSendToStderr), offset = source offset, len = count
                       //  -> bytes copied, aux = destination position after (handles)
    kFsGetdentsPlus = 22,  // kFsGetdents, and for record i the lstat of its name into
                           //  struct stat[i] at offset2 (capacity `mode` entries; st_nlink 0 = unknown)
    kFsCloseMany = 23,     // buf = gpa of uint32_t handles[len] (len <= kMaxCloseBatch) -> closed count
    kFsRealpath = 25,      // directory path -> its physical path relative to the share root
                           //  (symlinks and `..` resolved) into buf/len -> bytes ("" = the
                           //  root); ENOTDIR/ENOENT as chdir would say
    kFsBatch = 24,         // buf = gpa of HcFs[len] (len <= kMaxFsBatch, no nested batches), run in
                           //  order, each result written back -> requests run. One exit carries
                           //  the write-behind data and the request that needed it flushed.
    kFsChown = 26,         // path or handle (path_len 0), offset = uid, offset2 = gid (-1: keep),
                           //  flags = AT_SYMLINK_NOFOLLOW?; what the host allows (else EPERM)
    kFsFallocate = 27,     // handle, flags = FALLOC_FL_* mode, offset, len
    kFsMknod = 28,         // path, mode = S_IFIFO/S_IFSOCK/S_IFREG | permissions (no devices: EPERM)
    kFsReopen = 29,        // handle, flags = O_* -> a new handle for the same file (its own offset
                           //  and access mode: open of /dev/fd/N), aux = st_mode
    kFsXattr = 30,         // path or handle (path_len 0); flags = FsXattrOp | kXattrNoFollow?,
                           //  mode = XATTR_CREATE/XATTR_REPLACE (set), offset = gpa of the name,
                           //  offset2 = its length (no NUL), buf/len = value or list buffer
                           //  (len 0: size query) -> bytes (get, list) or 0. user.* names only
                           //  (others EOPNOTSUPP); list gives only user.* names
    kFsListTree = 31,      // handle = a directory: its complete listing, then its subdirectories'
                           //  (depth first, in listing order, while whole listings fit and
                           //  offset bytes of prefetch budget last) into buf/len as FsTreeDir
                           //  blocks -> bytes used, aux = blocks | kFsTreeEnded when the walk
                           //  ended (nothing left below); -E2BIG when the first listing does
                           //  not fit. The handle's position does not move. With handle =
                           //  kNoHandle: the walk rooted at (share, path) resumed at path2 (a
                           //  directory below it): path2's subtree, then at each level up the
                           //  siblings after it, then those before it (already sent, maybe).
    kFsLock = 32,          // buf = FsLock: the guest's locks on a share's file, mirrored on the
                           //  host (one open file description per file holds them) so that
                           //  host processes and other VMs see them and are seen. handle = an
                           //  open handle of the file (kNoHandle: the file is named by the
                           //  FsLock's dev/ino alone, as an earlier request with a handle
                           //  made it known) -> 0, -EAGAIN (a host lock conflicts), -ENOLCK
};
// kFsLock's argument. The guest keeps its own locks (and their owners,
// waits and rules); the host holds their union per file: record locks as
// OFD locks, flock locks as a flock, all on one description per file.
struct FsLock {
    uint64_t dev, ino;    // IN: the file as the guest knows it (Stat.dev/ino): the monitor's key
    uint64_t start, len;  // IN: record range (len 0: to the end of the file); OUT for kFsLockGet
    uint32_t cmd;         // IN: FsLockCmd
    uint32_t kind;        // IN: kFsLockRecord or kFsLockFlock
    uint32_t type;        // IN: F_RDLCK, F_WRLCK or F_UNLCK; OUT for kFsLockGet (F_UNLCK: no conflict)
    uint32_t reserved;
};
static_assert(sizeof(FsLock) == 48);
enum FsLockCmd : uint32_t {
    kFsLockSet = 0,   // make [start, start+len) of kind `type` on the host (never waits)
    kFsLockGet = 1,   // a host lock (outside the VM) that conflicts with `type` on the range, if any
    kFsLockDrop = 2,  // the guest holds no lock on the file any more: the host description closes
};
enum FsLockKind : uint32_t { kFsLockRecord = 0, kFsLockFlock = 1 };
inline constexpr uint32_t kMaxLockedFiles = 1024;  // files with mirrored locks at once (-ENOLCK beyond)
enum FsXattrOp : uint32_t { kXattrGet = 0, kXattrSet = 1, kXattrList = 2, kXattrRemove = 3 };
inline constexpr uint32_t kXattrNoFollow = 0x100;  // the l* calls: a final symlink itself
inline constexpr uint32_t kMaxCloseBatch = 256;
inline constexpr uint32_t kMaxFsBatch = 16;
enum FsSendTarget : uint32_t { kSendToHandle = 0, kSendToStdout = 1, kSendToStderr = 2 };
inline constexpr uint32_t kNoHandle = 0xffffffff;
// Absolute symlinks name guest paths, which only the guest's mount table can
// resolve. With kFsOptRedirect on a path request whose path2 is unused, a
// path that runs into an absolute symlink (inside the share) is not acted on:
// result = -kFsRedirect, and path2 (capacity path2_len) receives the guest
// path to retry with (link target + the rest of the path), aux = its length.
inline constexpr uint32_t kFsOptRedirect = 1;
// With kFsOptStat on kFsOpen/kFsReopen, a successful open also writes the
// opened file's struct stat (144 bytes) to buf (len >= 144): the guest's
// page cache knows files by identity and version at no extra exit.
inline constexpr uint32_t kFsOptStat = 2;
// With kFsOptLinks on kFsGetdentsPlus, the targets of the symlinks among
// the records go to path2 (capacity path2_len) as FsLinkRecord headers each
// followed by `len` bytes, in record order, while they fit; aux = bytes
// written. `ls -l` then reads every link of a directory with no exit.
inline constexpr uint32_t kFsOptLinks = 4;
// With kFsOptOwner on a request that creates a name (kFsOpen with O_CREAT,
// kFsMkdir, kFsMknod, kFsSymlink), offset2 = uid | gid << 32: the monitor
// gives what it created to these ids when it may (a root monitor keeps
// CAP_CHOWN for --user); otherwise the file keeps the monitor's ids.
inline constexpr uint32_t kFsOptOwner = 8;
struct FsLinkRecord {
    uint32_t index;  // the dirent record's position in this reply
    uint32_t len;    // target bytes that follow (no NUL)
};
static_assert(sizeof(FsLinkRecord) == 8);
// One directory of a kFsListTree reply: this header; its path relative to
// the walk's root ("" for the root itself) padded to 8 bytes; struct stat
// (144 bytes, the lstat of each record, st_nlink 0 = unknown) per record;
// the host's linux_dirent64 records (dirent_bytes); then link_bytes of
// kFsOptLinks records (symlink targets, in record order) padded to 8.
// Only whole listings are sent, so the guest can answer every getdents of
// that directory, and stat/readlink of its names, with no exit.
struct FsTreeDir {
    uint32_t path_len;
    uint32_t records;
    uint32_t dirent_bytes;
    uint32_t link_bytes;
};
static_assert(sizeof(FsTreeDir) == 16);
inline constexpr uint64_t kMaxTreeBytes = 1ull << 20;
inline constexpr uint64_t kFsTreeEnded = 1ull << 63;  // in kFsListTree's aux
inline constexpr uint32_t kMaxTreeDepth = 32;  // below the walk's root
inline constexpr int64_t kFsRedirect = 4096 + 1;  // outside the errno range
inline constexpr uint32_t kMaxPath = 4096;

// Guest-memory file systems (tmpfs) the guest kernel mounts itself: /tmp
// and /dev/shm unless a share covers them, and --tmpfs PATH[:SIZE].
struct TmpfsMount {
    char guest_path[120];  // absolute, normalised, NUL-terminated
    uint64_t size;         // bytes of file data it may hold
};
static_assert(sizeof(TmpfsMount) == 128);
inline constexpr uint32_t kMaxTmpfs = 4;

// A system call the guest kernel answered ENOSYS, and how often (--stats).
struct SyscallHit {
    uint32_t nr;
    uint32_t count;
};
inline constexpr uint32_t kMaxSyscallHits = 32;  // distinct numbers kept; more are counted in *_dropped

// The host terminal the guest's stdio is on, as the monitor found it at
// start: Linux's termios fields (c_cc as the kernel's 19 bytes) and the
// window size. The guest keeps its own copy (TCGETS, TIOCGWINSZ cost no
// exit); TCSETS* and TIOCSWINSZ go to the host terminal too (kHcTty). On
// a SIGWINCH to lightvm the monitor rewrites rows..ypixel here before it
// forwards the signal, and the guest refreshes its copy from them.
struct TtyState {
    uint32_t iflag, oflag, cflag, lflag;
    uint8_t line;
    uint8_t cc[19];
    uint16_t rows, cols, xpixel, ypixel;
    uint32_t reserved;
};
static_assert(sizeof(TtyState) == 48);

// --pids: processes (alive or zombie) a VM may hold at once; the guest
// kernel's process table has room for kMaxPids.
inline constexpr uint32_t kDefaultPids = 1024;
inline constexpr uint32_t kMaxPids = 4096;

struct HcFs {
    uint32_t op;       // IN: FsOp
    uint32_t share;    // IN: share index for path (when handle == kNoHandle)
    uint32_t handle;   // IN: file handle, or directory handle the path is relative to
    uint32_t share2;   // IN: share index for path2 (rename, link)
    uint32_t flags;    // IN: op-specific (open flags, AT_* flags, whence, RENAME_*)
    uint32_t mode;     // IN: permission bits / access mode
    uint64_t path;     // IN: gpa of the path (no NUL needed; path_len bytes)
    uint64_t path_len; // IN
    uint64_t path2;    // IN
    uint64_t path2_len;// IN
    uint64_t buf;      // IN: gpa of data / stat / dirent buffer
    uint64_t len;      // IN
    int64_t offset;    // IN
    int64_t result;    // OUT: >= 0, or -errno
    uint64_t aux;      // OUT: op-specific (open: st_mode; write: position after)
    uint32_t handle2;  // IN: second handle (sendfile destination)
    uint32_t options;  // IN: kFsOpt* bits
    int64_t offset2;   // IN: second offset (sendfile destination)
};
static_assert(sizeof(HcFs) == 112);
static_assert(offsetof(HcFs, path) == 24 && offsetof(HcFs, result) == 80);

// Guest RAM is registered with KVM lazily: at boot only [0, ram_low_end)
// and [ram_high_start, mem_size) are backed (BootInfo), because registering
// a memslot costs time proportional to its size (~0.6 us/MiB here). The
// guest kernel asks for more before it hands memory out; the monitor grows
// the low region up or the high region down (at least doubling it) and
// reports the new bounds. Touching RAM that was never backed stops the VM
// with a SIGSEGV report.
struct HcMemGrow {
    uint64_t start;           // IN: range about to be used
    uint64_t end;             // IN
    uint64_t low_end;         // OUT: new bounds of the backed regions
    uint64_t high_start;      // OUT
    int64_t result;           // OUT: 0 or -ENOMEM
};
static_assert(sizeof(HcMemGrow) == 40);

// Frames the guest kernel freed and will not touch before handing them out
// again: the monitor punches them out of guest RAM's memfd, so the host gets
// the memory back; the next touch finds zeros.
// A booted shell (kBootPark): the kernel did everything that needs no
// workload and waits in this call. The monitor writes the workload's boot
// page (kBootPark clear, same mem_size and frames_start) and returns.
// Allowed once, and only while the shell boots; anywhere else it stops
// the VM as hostile.
struct HcPark {
    uint64_t next_frame;  // IN: where the frame pool hands out next (the monitor may pre-fault from here)
    uint64_t reserved;
};
static_assert(sizeof(HcPark) == 16);

// The program wrote /sys/devices/virtual/lightvm/ready. A monitor saving
// at the ready mark (SaveSpec::at_ready) saves the VM inside this exit, its
// `out` not yet completed: a VM restored from it executes the `out` again,
// which its own monitor answers like any other, and the write returns.
struct HcReady {
    uint64_t reserved;
};
static_assert(sizeof(HcReady) == 8);

struct HcMemRelease {
    uint64_t start;  // IN: page-aligned guest-physical range
    uint64_t end;    // IN
    int64_t result;  // OUT: 0, or -EINVAL for a range that is not backed RAM
};
static_assert(sizeof(HcMemRelease) == 24);

// The host terminal (BootInfo.tty_valid): the guest's TCSETS/TCSETSW/
// TCSETSF and TIOCSWINSZ, applied by the monitor to the first of its
// stdin, stdout, stderr that is a terminal. kTtySetAttr: state's termios
// fields, `when` = TtyWhen (tcsetattr's TCSANOW, TCSADRAIN, TCSAFLUSH);
// only bits Linux defines (kTty*Mask), line = the terminal's own line
// discipline, rows..ypixel and reserved 0. kTtySetWinsize: state's
// rows..ypixel, everything else 0. Anything else: -EINVAL; no terminal:
// -ENOTTY. The monitor puts the terminal back as it found it when the VM
// ends, however it ends.
enum TtyOp : uint32_t { kTtySetAttr = 1, kTtySetWinsize = 2 };
enum TtyWhen : uint32_t { kTtyNow = 0, kTtyDrain = 1, kTtyFlush = 2 };
inline constexpr uint32_t kTtyIflagMask = 0077777;        // IGNBRK .. IUTF8
inline constexpr uint32_t kTtyOflagMask = 0177777;        // OPOST .. FFDLY
inline constexpr uint32_t kTtyCflagMask = 0xd00f1fffu;    // CBAUD .. CBAUDEX, CIBAUD, CMSPAR, CRTSCTS
inline constexpr uint32_t kTtyLflagMask = 0357777;        // ISIG .. EXTPROC (no 020000)
struct HcTty {
    uint32_t op;      // IN: TtyOp
    uint32_t when;    // IN: TtyWhen (kTtySetAttr), else 0
    TtyState state;   // IN
    int64_t result;   // OUT: 0 or -errno
};
static_assert(sizeof(HcTty) == 64);
static_assert(offsetof(HcTty, state) == 8 && offsetof(HcTty, result) == 56);

// Write-behind data the guest kernel has accepted but not yet sent. The
// guest keeps this table current; when a VM ends any other way than a clean
// exit (fault, timeout, kill, hostile stop), the monitor performs these
// writes itself, so data written with write() survives a crash as it does
// on Linux (the page cache outlives the process).
struct PendingWrite {
    uint32_t handle;  // IN: fs handle; len == 0 means the slot is empty
    uint32_t append;  // IN: 1 = O_APPEND (offset ignored)
    int64_t offset;   // IN
    uint64_t len;     // IN
    uint64_t data;    // IN: gpa of the bytes
};
static_assert(sizeof(PendingWrite) == 32);

enum BlockOp : uint32_t {
    kBlockRead = 1,   // buf, len, offset -> bytes
    kBlockWrite = 2,  // buf, len, offset -> bytes
    kBlockFlush = 3,  // fdatasync the backing file
};

struct HcBlock {
    uint32_t op;      // IN: BlockOp
    uint32_t device;  // IN: index into BootInfo.devices
    uint64_t buf;     // IN: gpa
    uint64_t len;     // IN
    uint64_t offset;  // IN: byte offset on the device
    int64_t result;   // OUT: bytes, or -errno
};
static_assert(sizeof(HcBlock) == 40);

// ---------------------------------------------------------------------------
// Interrupts. The monitor injects a vector (KVM_INTERRUPT, no in-kernel
// irqchip) whose IDT gate is a trap gate with IST1 to the guest kernel's
// CPL3 handler: a trap gate leaves IF set (an interrupt gate would clear it
// and `iretq` at CPL3 cannot set it again), IST keeps the frame off the
// interrupted stack's red zone. Which sources fired is a bit mask in the
// kernel's IrqState, so one delivery can carry several. Protocol (one vCPU,
// the monitor touches IrqState only while the vCPU is stopped):
// - the monitor ORs sources into `pending`; if `busy` is 0 it sets busy = 1
//   and injects, else the running handler picks the bits up before it returns;
// - the handler takes `pending` with an atomic exchange until it reads 0,
//   then clears `busy` and re-checks `pending` in [irq_tail, irq_tail_end);
// - a vCPU stopped in that tail with busy == 0 is not injected (the IST frame
//   is still live): the monitor sets busy = 1 and rip = irq_entry instead,
//   which re-runs the handler on the frame already in place.
// So interrupts never nest on the IST stack and no source is lost.
// ---------------------------------------------------------------------------
enum IrqSource : uint32_t {
    kIrqTimer = 0,     // the one-shot timer armed with kHcTimer expired
    kIrqDoorbell = 1,  // the monitor has news for the guest (I/O ready, wake-up)
    kIrqIpi = 2,       // another vCPU asks this one for work (TLB flush, reschedule): kCpuKick
    kIrqSources = 3,
};
inline constexpr uint8_t kIrqVectorBase = 0x20;  // vector = kIrqVectorBase + source
inline constexpr uint32_t kIrqIst = 1;           // TSS.IST index of the interrupt stack
inline constexpr uint32_t kSvcIst = 2;           // TSS.IST index of the CPL0 service (int3)

struct IrqState {
    uint64_t pending;       // OUT (OR-ed in by the monitor) / IN (taken by the guest): 1 << IrqSource
    uint32_t busy;          // OUT 1 when injecting / IN 0 when the handler is done
    uint32_t masked_depth;  // IN: the kernel's interrupt mask (diagnostics)
    uint64_t entries;       // IN: handler entries
    uint64_t handled[kIrqSources];  // IN: sources handled, by source
    uint64_t from_kernel;   // IN: entries that interrupted guest-kernel code
    uint64_t deferred;      // IN: sources that arrived while masked and ran at unmask
    // Test hook results (BootInfo.irq_test_mask_ns): handled while masked must stay 0.
    uint64_t test_handled_while_masked;
    uint64_t test_deferred_at_unmask;
    uint64_t test_entries_while_masked;  // handler entries during the masked stretch
    // SMP (kHcCpu kCpuTlb): another vCPU changed page tables this one may
    // cache. The monitor, with this vCPU stopped, reloads its CR3 (1) or
    // loads kernel_root (2: its tables are being freed), then stores 0.
    uint32_t tlb_request;   // IN (written by another CPU), OUT (0: done)
    uint32_t reserved;
};
static_assert(offsetof(IrqState, pending) == 0 && offsetof(IrqState, busy) == 8);
static_assert(sizeof(IrqState) == 96);

// A fault the guest kernel's page-fault handler could not resolve (no
// mapping, protection, out of memory), reported in the same words as the
// monitor's own fault stubs; the VM ends with 128 + signal (137 for OOM).
enum FaultKind : uint32_t {
    kFaultAccess = 0,         // a user access the mappings do not allow: SIGSEGV
    kFaultOutOfMemory = 1,    // no frame for a page the program may touch: SIGKILL (137)
    kFaultKernelStack = 2,    // a kernel stack ran into its guard page
    kFaultKernel = 3,         // any other fault in kernel code
    kFaultPastEof = 4,        // a user access to a file mapping past the file's end: SIGBUS
};
struct HcFault {
    uint32_t kind;     // IN: FaultKind
    uint32_t vector;   // IN: 14 (#PF)
    uint64_t error;    // IN: the CPU's error code
    uint64_t rip;      // IN
    uint64_t addr;     // IN: CR2
    uint64_t rsp;      // IN
};
static_assert(sizeof(HcFault) == 40);

struct HcTimer {
    uint64_t deadline_ns;  // IN: CLOCK_MONOTONIC (the boot page's clock); 0 cancels
    int64_t result;        // OUT: 0 or -errno
};
static_assert(sizeof(HcTimer) == 16);

// ---------------------------------------------------------------------------
// Networking (kHcNet): AF_INET/AF_INET6 sockets that reach the host are host
// sockets owned by the monitor (non-blocking), named to the guest by handle
// as files are. The host's TCP/IP stack does the work; one exit per call.
// Addresses are Linux sockaddr bytes (sockaddr_in/sockaddr_in6), ports in
// network order. With wait_ns != 0 the monitor first waits up to that long
// (-1: forever, still stoppable) for the socket to become ready for the
// operation, so a blocking call with nothing else to run costs one exit.
// ---------------------------------------------------------------------------
enum NetOp : uint32_t {
    kNetSocket = 0,     // arg = family, arg2 = type (SOCK_STREAM/SOCK_DGRAM), flags = protocol; result = handle
    kNetClose = 1,      // handle
    kNetBind = 2,       // handle, addr/addr_len
    kNetListen = 3,     // handle, arg = backlog
    kNetAccept = 4,     // handle; addr/addr_len (OUT: peer); result = new handle
    kNetConnect = 5,    // handle, addr/addr_len; -EINPROGRESS unless wait_ns allows waiting
    kNetSend = 6,       // handle, data, flags = MSG_*, addr/addr_len (sendto) or addr_len 0
    kNetRecv = 7,       // handle, data, flags = MSG_*; addr/addr_len (OUT: source, capacity in)
                        //  data: arg = 0: buf/len; arg = n > 0: buf = NetSeg[n] (a buffer that is
                        //  not physically contiguous), len = their total
    kNetShutdown = 8,   // handle, arg = SHUT_RD/WR/RDWR
    kNetSockName = 9,   // handle, addr/addr_len (OUT); arg = 1: peer name
    kNetGetOpt = 10,    // handle, arg = level, arg2 = optname, buf/len (OUT; len in/out via result)
    kNetSetOpt = 11,    // handle, arg = level, arg2 = optname, buf/len
    kNetPoll = 12,      // buf = NetPollEntry[len]; wait_ns as above; result = entries ready
    kNetPublished = 13, // arg = guest port, arg2 = SOCK_STREAM/SOCK_DGRAM: the -p listener for it, or -ENOENT
    kNetReadable = 14,  // handle: FIONREAD (bytes queued for reading)
};
// Under --net none a -p UDP socket (kNetPublished with SOCK_DGRAM) answers
// only its clients: kNetSend on it goes to one of the last
// kPublishedUdpPeers source addresses kNetRecv reported on it (the least
// recently received from is forgotten first), anything else is
// -ENETUNREACH. The guest keeps the same list to route its replies.
inline constexpr uint32_t kPublishedUdpPeers = 64;

enum NetMode : uint32_t {
    kNetModeNone = 0,  // --net none: loopback inside the VM only; no host sockets but -p listeners
    kNetModeHost = 1,  // --net host: AF_INET/AF_INET6 sockets are host sockets in the host's namespace
};

struct NetPollEntry {
    uint32_t handle;   // IN
    uint16_t events;   // IN: POLLIN/POLLOUT/...
    uint16_t revents;  // OUT
};
static_assert(sizeof(NetPollEntry) == 8);
inline constexpr uint32_t kMaxNetPoll = 256;
// In a kNetPoll entry: the host's stdin instead of a socket, so one exit
// waits for input and sockets together (poll/select/epoll on a terminal or
// pipe stdin, docs/design.md "Stdin readiness").
inline constexpr uint32_t kNetPollStdin = 0xfffffffeu;

struct NetSeg {
    uint64_t gpa;  // IN
    uint64_t len;  // IN
};
static_assert(sizeof(NetSeg) == 16);
inline constexpr uint32_t kMaxNetSegs = 64;

struct HcNet {
    uint32_t op;        // IN: NetOp
    uint32_t handle;    // IN
    uint32_t flags;     // IN: MSG_* for send/recv, protocol for socket
    uint32_t arg;       // IN: see NetOp
    uint32_t arg2;      // IN: see NetOp
    uint32_t addr_len;  // IN/OUT: bytes at addr (capacity in, length out)
    uint64_t addr;      // IN: gpa of a sockaddr buffer (up to kMaxSockaddr bytes)
    uint64_t buf;       // IN: gpa of the data
    uint64_t len;       // IN: bytes
    int64_t wait_ns;    // IN: 0 = never wait; > 0 = wait at most this long; -1 = until ready
    int64_t result;     // OUT: bytes, handle, 0, or -errno
    uint32_t revents;   // OUT: the socket's poll state after the operation
    uint32_t pad;
};
static_assert(sizeof(HcNet) == 72);
static_assert(offsetof(HcNet, addr) == 24 && offsetof(HcNet, result) == 56);
inline constexpr uint32_t kMaxSockaddr = 128;  // sizeof(struct sockaddr_storage)

// ---------------------------------------------------------------------------
// Exec (lightvm-oci exec, docs/design.md "Exec"): the host asks the running
// guest for a new process. The monitor queues requests and signals for
// them, ORs kHostExecNews into BootInfo.host_signals_pending and rings the
// doorbell; the guest kernel then takes everything queued with kExecTake
// (one exit per item) and reports each process's end with kExecDone. The
// process's stdin/stdout/stderr are host sockets of the net device
// (handles, as kHcNet names them), connected to the exec client.
// ---------------------------------------------------------------------------
inline constexpr uint64_t kHostExecNews = 1ull << 63;  // in host_signals_pending/_handled: not a signal
enum ExecOp : uint32_t {
    kExecTake = 0,  // buf/len: room for an ExecRequest; result 1: one written, 0: queue empty
    kExecDone = 1,  // id, status: the process ended (Linux wait status); result 0 or -ENOENT
};
enum ExecKind : uint32_t {
    kExecStart = 0,   // a new process: every field below
    kExecSignal = 1,  // send `signal` to the process of `id` (its client asked, or hung up: SIGKILL)
    kExecResize = 2,  // the client's terminal of `id` (kExecTty) is now `signal` >> 16 rows by `signal` & 0xffff columns
};
// ExecRequest.flags (kExecStart). A kernel that predates a flag ignores it.
enum ExecFlags : uint32_t {
    // A terminal inside the guest: stdin/stdout/stderr are the slave of a
    // new pty (the process's controlling terminal); the kernel copies
    // between its master and stdio[0] (input) / stdio[1] (output); stdio[2]
    // is closed, as a terminal has one output stream. The request's
    // `signal` (unused by kExecStart) is then the terminal's size as for
    // kExecResize (0: none), in force before the program runs.
    kExecTty = 1u << 0,
};
inline constexpr uint32_t kExecFlagsKnown = kExecTty;
struct HcExec {
    uint32_t op;      // IN: ExecOp
    uint32_t id;      // IN: kExecDone
    uint64_t buf;     // IN: kExecTake: gpa of the request buffer (kernel memory, contiguous)
    uint64_t len;     // IN: its size
    int32_t status;   // IN: kExecDone: wait status
    uint32_t pad;
    int64_t result;   // OUT
};
static_assert(sizeof(HcExec) == 40);
static_assert(offsetof(HcExec, status) == 24 && offsetof(HcExec, result) == 32);

inline constexpr uint32_t kExecMaxGroups = 32;
inline constexpr uint32_t kExecRequestMax = 65536;  // header + strings
struct ExecRequest {
    uint32_t kind;      // ExecKind
    uint32_t id;        // the monitor's name for this exec
    uint32_t signal;    // kExecSignal
    uint32_t argc;      // kExecStart: argv strings, then envc env strings, NUL-terminated, after the header
    uint32_t envc;
    uint32_t strings_len;
    uint32_t uid, gid;
    uint32_t ngroups;   // <= kExecMaxGroups
    uint32_t groups[kExecMaxGroups];
    uint32_t stdio[3];  // net handles of stdin, stdout, stderr
    uint32_t flags;     // ExecFlags (0 before kExecTty)
    char path[256];     // the program, absolute (argv[0] may differ)
    char cwd[256];      // absolute
};
static_assert(sizeof(ExecRequest) == 692);
static_assert(offsetof(ExecRequest, stdio) == 164 && offsetof(ExecRequest, path) == 180);
static_assert(offsetof(ExecRequest, flags) == 176 && offsetof(ExecRequest, signal) == 8);

// ---------------------------------------------------------------------------
// Console ring: the guest kernel appends records, the monitor drains them at
// every exit (and on kHcConsoleFlush). Free-running 32-bit counters; data
// wraps byte-wise modulo kConsoleDataSize. A record is a 4-byte header
// (stream << 24 | length) followed by `length` bytes, no padding.
// ---------------------------------------------------------------------------
enum ConsoleStream : uint8_t {
    kStreamStdout = 1,
    kStreamStderr = 2,
    kStreamTrace = 3,  // --trace lines, go to the monitor's stderr
};
inline constexpr uint32_t kConsoleMaxRecord = 0xffff;

struct ConsoleRing {
    uint32_t head;  // IN: bytes produced (guest writes)
    uint32_t pad0[15];
    uint32_t tail;  // OUT: bytes consumed (monitor writes)
    uint32_t pad1[15];
    // data follows at kConsoleGpa + kConsoleDataOffset
};
static_assert(sizeof(ConsoleRing) == 128);
static_assert(offsetof(ConsoleRing, tail) == 64);
inline constexpr uint64_t kConsoleDataOffset = 0x1000;

// ---------------------------------------------------------------------------
// Boot page (NoXS): everything the guest needs, written before the first
// instruction. No negotiation, no round trips.
// ---------------------------------------------------------------------------
enum BootFlags : uint32_t {
    kBootTrace = 1u << 0,          // --trace: log each syscall to the trace stream
    kBootStdoutTty = 1u << 1,      // host stdout is a terminal: flush every write
    kBootStderrTty = 1u << 2,
    kBootHasFsgsbase = 1u << 3,    // wrfsbase is usable
    kBootStdinTty = 1u << 4,
    kBootStdinClosed = 1u << 5,    // the host had no fd 0/1/2: the guest starts without it too
    kBootStdoutClosed = 1u << 6,
    kBootStderrClosed = 1u << 7,
    kBootStdinSeekable = 1u << 8,  // host stdin is a regular file: lseek works
    kBootTestHooks = 1u << 9,      // tests only: the kernel's test-hook syscall is enabled
    kBootNoAslr = 1u << 10,        // --no-aslr: load addresses and stack are the same every run
    kBootEtcHosts = 1u << 11,      // no share has /etc/hosts: the kernel serves localhost and `hostname`
    kBootEtcHostname = 1u << 12,   // the kernel serves /etc/hostname: `hostname` and a newline
    kBootPark = 1u << 13,          // a pool shell: boot what needs no workload, then kHcPark
};

inline constexpr uint32_t kMaxDevices = 16;
inline constexpr uint32_t kStdinReadAhead = 65536;  // guest stdin read-ahead buffer

enum DeviceType : uint32_t {
    kDevNone = 0,
    kDevBlock = 1,  // name "vda"...; capacity in bytes; no ring yet (one hypercall per request)
};
enum DeviceFlags : uint32_t {
    kDevReadOnly = 1u << 0,
};

// FsMount.flags besides kDevReadOnly (an addition older kernels ignore).
inline constexpr uint32_t kFsMountFile = 1u << 1;  // the share is one file (a bind of a file): nothing below it

// A guest mount point backed by a host directory share, or a single file.
struct FsMount {
    uint32_t share;          // share index used in HcFs
    uint32_t flags;          // kDevReadOnly, kFsMountFile
    char guest_path[120];    // absolute, normalised, NUL-terminated ("/" for --rootfs)
};
static_assert(sizeof(FsMount) == 128);
inline constexpr uint32_t kMaxMounts = 8;

struct DeviceDesc {
    uint32_t type;      // 0 = none (later: block, net, fs)
    uint32_t flags;
    char name[24];
    uint64_t ring_gpa;
    uint64_t ring_size;
    uint64_t capacity;
    uint8_t mac[8];
};
static_assert(sizeof(DeviceDesc) == 64);

struct BootInfo {
    uint32_t magic;          // OUT: kBootMagic
    uint32_t abi_version;    // OUT: kAbiVersion
    uint32_t flags;          // OUT: BootFlags
    uint32_t pid;            // OUT: what getpid() returns
    uint64_t mem_size;       // OUT: RAM is [0, mem_size)
    // Clock: ns = base_ns + ((tsc - tsc_base) * tsc_mult) >> tsc_shift
    uint64_t tsc_khz;        // OUT
    uint64_t tsc_base;       // OUT: guest TSC at the reference instant; (tsc - tsc_base) is
                             //  signed, 0 when negative: a restore in another host boot may
                             //  put it above the TSC (docs/snapshot-format.md, "Clocks")
    uint64_t tsc_mult;       // OUT
    uint32_t tsc_shift;      // OUT
    // OUT: 0 at boot; the monitor adds 1 and writes a fresh random_seed on
    // every restore from a snapshot (each clone of one snapshot), and the
    // kernel reseeds getrandom()/AT_RANDOM from it before its next use.
    // Programs read it as /sys/devices/virtual/lightvm/generation.
    uint32_t clone_generation;
    uint64_t realtime_base_ns;   // OUT: CLOCK_REALTIME at tsc_base
    uint64_t monotonic_base_ns;  // OUT: CLOCK_MONOTONIC at tsc_base
    uint8_t random_seed[32];     // OUT: seeds getrandom() and AT_RANDOM users
    // Application image, placed and validated by the monitor.
    uint64_t app_entry;      // OUT
    uint64_t app_sp;         // OUT: initial stack pointer (argc at [sp])
    uint64_t app_image_end;  // OUT: page-aligned end of the highest segment: brk start
    uint64_t stack_lo;       // OUT: [stack_lo, mem_size) is the stack
    uint64_t heap_lo;        // OUT: first byte the kernel may hand out (== app_image_end)
    uint64_t kernel_end;     // OUT: end of the kernel image
    uint64_t console_gpa;    // OUT: ConsoleRing header
    uint64_t console_size;   // OUT: ring data bytes (power of two)
    char exe_path[256];      // OUT: for readlink("/proc/self/exe")
    char hostname[65];       // OUT: uname nodename
    uint8_t reserved1[7];
    // Written by the guest, read by the monitor for --stats.
    uint64_t kernel_entry_tsc;  // IN: TSC at the guest kernel's first instruction
    uint64_t app_entry_tsc;     // IN: TSC just before jumping to the app
    uint64_t syscall_count;     // IN: syscalls handled in the guest
    uint32_t device_count;      // OUT
    uint32_t stdio_mode[3];     // OUT: st_mode of the host's fds 0-2 (S_IFCHR, S_IFIFO, ...)
    uint32_t user_uid;          // OUT: --user: the first process's uid (all four ids); 0: root
    DeviceDesc devices[kMaxDevices];  // OUT
    // ABI v2
    uint32_t mount_count;             // OUT
    uint32_t user_gid;                // OUT: --user: its gid (all four)
    FsMount mounts[kMaxMounts];       // OUT
    char initial_cwd[256];            // OUT: guest working directory at start ("/" if empty)
    uint64_t ram_low_end;             // OUT: RAM backed at boot: [0, ram_low_end) ...
    uint64_t ram_high_start;          // OUT: ... and [ram_high_start, mem_size)
    uint64_t pending_writes;          // IN: gpa of PendingWrite[pending_count]
    uint32_t pending_count;           // IN
    uint32_t stdin_buffered;          // IN: stdin bytes read ahead (<= kStdinReadAhead) but not consumed; when
                                      //  stdin is a regular file the monitor seeks back by
                                      //  this much at the end, so the next reader continues
                                      //  where the program stopped
    // Interrupt test hooks (guest tests and bench/ only; 0 = off).
    uint64_t irq_test_timer_ns;       // OUT: the kernel re-arms a kIrqTimer every this many ns
    uint64_t irq_test_mask_ns;        // OUT: the kernel boots masked until 10 interrupts came (at most this long)
    // ABI v3: the guest kernel loads the program. The monitor maps the
    // executable's file (validated) at [image_gpa, +image_size) without
    // copying, and packs argv, envp and the AT_EXECFN string (each
    // NUL-terminated, back to back) at [args_gpa, +args_size). Both sit at
    // the top of RAM (image_gpa 2 MiB aligned) so that the frames the kernel
    // hands out, [frames_start, image_gpa), begin at the same place for every
    // app: a pool shell boots before its app is known (kBootPark).
    uint64_t image_gpa;               // OUT
    uint64_t image_size;              // OUT: the file's size
    uint64_t args_gpa;                // OUT
    uint64_t args_size;               // OUT
    uint32_t argc;                    // OUT
    uint32_t envc;                    // OUT
    uint64_t frames_start;            // OUT: first free frame: kAppMin
    uint64_t hwcap;                   // OUT: AT_HWCAP (CPUID.1:EDX)
    // Networking (kHcNet)
    uint32_t net_mode;                // OUT: NetMode
    uint32_t net_published;           // OUT: how many -p ports (0: listen() need not ask, kNetPublished)
    // Appended: tmpfs mounts (guest/kernel/fs/tmpfs.hpp).
    uint32_t tmpfs_count;             // OUT
    // Appended in a reserved slot: --pids, the most processes the VM may
    // hold at once (fork beyond: EAGAIN). 0: kDefaultPids.
    uint32_t max_procs;               // OUT
    TmpfsMount tmpfs[kMaxTmpfs];      // OUT
    // Appended: signals sent to the lightvm process (SIGHUP, SIGINT,
    // SIGQUIT, SIGUSR1, SIGTERM, SIGWINCH, SIGCONT) go to the guest's first
    // process when it catches or ignores them; otherwise the monitor acts
    // as before (SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1 stop the VM with
    // 128 + sig). Bit sig - 1 in both words.
    uint64_t host_signals_handled;    // IN: the first process does not take the default action (kept current)
    uint64_t host_signals_pending;    // OUT: forwarded, not yet taken: the monitor ORs bits in and raises
                                      //  kIrqDoorbell; the kernel takes them with an atomic exchange
    // Unimplemented system calls the program made (--stats).
    uint32_t enosys_count;            // IN: entries used in enosys[]
    uint32_t enosys_dropped;          // IN: calls to numbers beyond the first kMaxSyscallHits
    SyscallHit enosys[kMaxSyscallHits];  // IN
    uint32_t tty_valid;               // OUT: 1 when `tty` describes a host terminal on stdio
    uint32_t cpus;                    // OUT: vCPUs the guest may start (--cpus, 1..kMaxCpus); vCPU 0 runs now
    TtyState tty;                     // OUT
    // Appended: --dns, or the host's name servers where the rootfs has no
    // /etc/resolv.conf. Non-empty: the text of /etc/resolv.conf, which the
    // kernel serves in place of the root file system's (fs/proc_files.hpp).
    char resolv_conf[256];            // OUT: NUL-terminated
    // Appended: --user's supplementary groups (OCI additionalGids); the
    // first process's groups are user_gid followed by these.
    uint32_t user_ngroups;            // OUT: <= kMaxUserGroups
    uint32_t user_groups[3];          // OUT
};
inline constexpr uint32_t kMaxUserGroups = 3;
static_assert(offsetof(BootInfo, mem_size) == 16);
static_assert(offsetof(BootInfo, clone_generation) == 52);
static_assert(offsetof(BootInfo, random_seed) == 72);
static_assert(offsetof(BootInfo, app_entry) == 104);
static_assert(offsetof(BootInfo, exe_path) == 168);
static_assert(offsetof(BootInfo, kernel_entry_tsc) == 496);
static_assert(offsetof(BootInfo, devices) == 544);
static_assert(offsetof(BootInfo, mounts) == 544 + 16 * 64 + 8);
static_assert(offsetof(BootInfo, irq_test_timer_ns) == 544 + 16 * 64 + 8 + 8 * 128 + 256 + 16 + 16);
static_assert(offsetof(BootInfo, tmpfs) == 544 + 16 * 64 + 8 + 8 * 128 + 256 + 16 + 16 + 16 + 56 + 8 + 8);
static_assert(offsetof(BootInfo, host_signals_handled) == 544 + 16 * 64 + 8 + 8 * 128 + 256 + 16 + 16 + 16 + 56 + 8 + 8 + 4 * 128);
static_assert(offsetof(BootInfo, enosys) == 544 + 16 * 64 + 8 + 8 * 128 + 256 + 16 + 16 + 16 + 56 + 8 + 8 + 4 * 128 + 16 + 8);
static_assert(offsetof(BootInfo, tty) == 544 + 16 * 64 + 8 + 8 * 128 + 256 + 16 + 16 + 16 + 56 + 8 + 8 + 4 * 128 + 16 + 8 + 8 * 32 + 8);
static_assert(offsetof(BootInfo, resolv_conf) == 544 + 16 * 64 + 8 + 8 * 128 + 256 + 16 + 16 + 16 + 56 + 8 + 8 + 4 * 128 + 16 + 8 + 8 * 32 + 8 + 48);
static_assert(offsetof(BootInfo, user_ngroups) == 544 + 16 * 64 + 8 + 8 * 128 + 256 + 16 + 16 + 16 + 56 + 8 + 8 + 4 * 128 + 16 + 8 + 8 * 32 + 8 + 48 + 256);
static_assert(sizeof(BootInfo) == kPageSize);
static_assert(offsetof(BootInfo, image_gpa) == 544 + 16 * 64 + 8 + 8 * 128 + 256 + 16 + 16 + 16);
static_assert(sizeof(BootInfo) <= kPageSize);

// Layout sanity: the fixed regions must not overlap and must fit below the kernel.
static_assert(kGdtGpa >= kBootInfoGpa + kPageSize);
static_assert(kFaultStubsGpa + 32 * kFaultStubSize <= kPageTablesGpa);
static_assert(kPageTablesEnd <= kFaultStackLo && kFaultStackHi <= kConsoleGpa);
// The kernel's tables: PML4, PDPT, PD and PT of the low region, the physmap
// PDPT and one physmap PD per GiB of the largest guest.
static_assert((5 + (kMaxMemSize >> 30)) * kPageSize <= kPageTablesEnd - kPageTablesGpa);
static_assert(kPhysMapBase % (1ull << 39) == 0 && kPhysMapBase + kMaxMemSize <= (1ull << 47));
static_assert(kConsoleEnd <= kKernelBase);
static_assert((kConsoleDataSize & (kConsoleDataSize - 1)) == 0);
static_assert(kKernelLimit <= kAppMin);

}  // namespace lightvm::abi

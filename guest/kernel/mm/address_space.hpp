// A process's address space: its page tables, the list of regions (VMAs)
// with their protections, and the program break. fork will copy one
// (frames shared copy-on-write through pte::kCow and frame references),
// exec replaces one, threads share one; TLB flushes are batched per
// address space (one CR3 reload per munmap/mprotect, not one per page).
//
// Population policy (docs/design.md, "Guest virtual memory"): a PTE write
// costs ~20 ns here, a guest page fault ~23 us, so small mappings and file
// mappings are backed when made; large anonymous ones, MAP_NORESERVE and
// the stack below its top are faulted in (64 KiB at a time).
#pragma once

#include <stdint.h>

#include "lightvm/abi.h"

namespace lightvm::guest {

struct OpenFile;

enum VmFlag : uint32_t {
    kVmShared = 1,     // MAP_SHARED
    kVmGrowsDown = 2,  // the main stack
    kVmHeap = 4,       // the brk area
    kVmImage = 8,      // frames of the boot executable's file (BootInfo.image_gpa + offset)
    kVmNoReserve = 16,
    kVmNoHuge = 32,    // MADV_NOHUGEPAGE: 4 KiB entries only
};

struct Vma {
    uint64_t start, end;  // page aligned, start < end
    int prot;             // PROT_*
    uint32_t flags;       // VmFlag
    OpenFile* file;       // file mappings: a reference (nullptr: anonymous, or kVmImage)
    uint64_t offset;      // file (or image) offset of `start`
};

struct AddressSpace {
    static constexpr uint32_t kDeferred = 256;
    uint32_t users;                // processes using it (vfork, CLONE_VM): freed with the last
    uint64_t root;                 // gpa of the PML4
    Vma* vmas;                     // sorted by start, disjoint; in frames from vma_gpa
    uint32_t nvma, cap;
    uint64_t vma_gpa;
    unsigned vma_order;
    uint64_t brk_start, brk;       // program break
    uint64_t mmap_top;             // mmap without a usable hint searches down from here
    uint64_t stack_top;            // end of the main stack
    // The initial stack's argv and envp strings (Linux's mm->arg_start..
    // env_end): /proc/PID/cmdline and environ read them (fs/proc_pid.cpp).
    uint64_t arg_start, arg_end, env_start, env_end;
    uint64_t start_stack;          // the initial stack pointer (argc), /proc/PID/stat
    uint64_t image_gpa;            // where kVmImage offsets point
    uint64_t resident;             // pages mapped
    uint64_t hiwater;              // the most pages ever mapped at once (ru_maxrss)
    // Present entries changed since the last flush: up to kStalePages
    // addresses are flushed one by one (invlpg), more with a CR3 reload.
    static constexpr uint32_t kStalePages = 16;
    bool tlb_stale;
    uint32_t nstale;               // > kStalePages: too many, reload CR3
    uint64_t stale[kStalePages];
    uint32_t ndeferred;            // frames to free after that flush
    uint64_t deferred[kDeferred];
};

// An empty address space over page tables rooted at `root` (one user).
void as_init(AddressSpace& as, uint64_t root);

// Lifetimes (mm/as_lifetime.cpp). A new empty address space with its own
// root (execve), or nullptr when out of memory.
AddressSpace* as_create();
// The first process's, over the monitor's page tables.
AddressSpace* as_create_boot();
// fork: a copy of src. Private writable pages are copied, up to
// eager_pages of them (kForkCopyPages by default), the rest shared
// copy-on-write (both sides' entries become kCow); shared mappings and
// read-only pages share their frames. nullptr when out of memory (src is
// unchanged but for kCow bits).
inline constexpr uint64_t kForkCopyPages = 8192;  // 32 MiB: why in as_lifetime.cpp
AddressSpace* as_fork(AddressSpace& src, uint64_t eager_pages = kForkCopyPages);
// Drops one user; the last frees every frame, table and region. The
// address space must not be the loaded one (load another root first).
void as_put(AddressSpace* as);

// The VMA containing va, or nullptr.
Vma* vma_find(AddressSpace& as, uint64_t va);
// Index of the first VMA ending above va (nvma if none).
uint32_t vma_index_after(const AddressSpace& as, uint64_t va);
// Does any VMA overlap [a, b)?
bool vma_overlaps(const AddressSpace& as, uint64_t a, uint64_t b);
// Is [a, b) covered by VMAs without a hole?
bool vma_covers(const AddressSpace& as, uint64_t a, uint64_t b);
// Inserts a VMA into a range no VMA overlaps. False when out of memory.
bool vma_insert(AddressSpace& as, const Vma& v);
// fork: appends every VMA of src (file references taken). False: no memory.
bool vma_copy_all(AddressSpace& dst, const AddressSpace& src);
// Drops every VMA and the array (file references released).
void vma_release_all(AddressSpace& as);
// Makes va a VMA boundary (splitting the VMA around it). False: no memory.
bool vma_split_at(AddressSpace& as, uint64_t va);

// Maps [a, b) of `v` (inserted already) as its flags say. -ENOMEM when
// frames run out (what was mapped stays mapped).
long as_populate(AddressSpace& as, const Vma& v, uint64_t a, uint64_t b);
// Removes every mapping in [a, b): VMAs split at the edges, entries
// cleared, frames released after the TLB flush. -ENOMEM only if a split
// needs memory it cannot get.
long as_unmap(AddressSpace& as, uint64_t a, uint64_t b);
// New protection for [a, b), which must be covered (-ENOMEM otherwise).
long as_protect(AddressSpace& as, uint64_t a, uint64_t b, int prot);
// Resolves a fault at addr (mm/fault.cpp): maps the pages around it or
// copies a shared frame about to be written. 0, -EFAULT (the access is not
// allowed: SIGSEGV), kFaultBeyondEof (SIGBUS) or -ENOMEM (no frame: the OOM
// report).
long as_fault(AddressSpace& as, uint64_t addr, bool write, bool exec);
// as_fault's answer for a page of a file mapping wholly past the end of
// the file (a tmpfs file or memfd): SIGBUS, as on Linux. Outside the errno
// range; as_prepare (the kernel's own accesses) turns it into EFAULT.
inline constexpr long kFaultBeyondEof = -(4096 + 2);
// Makes [addr, addr+len) ready for the kernel to read (or write): present,
// and private where written. 0, -EFAULT or -ENOMEM.
long as_prepare(AddressSpace& as, uint64_t addr, uint64_t len, bool write);
// Should a new mapping of this VMA be populated at once? (Policy: small
// ones and file mappings yes, large anonymous and MAP_NORESERVE ones fault
// in, see docs/design.md.)
bool as_populate_now(const Vma& v, bool populate_flag);
// Drops the frames of [a, b) (MADV_DONTNEED): the next touch faults in
// zeros again (or the file's data).
long as_discard(AddressSpace& as, uint64_t a, uint64_t b);
// Highest free range of len bytes below mmap_top and above the break, or 0.
uint64_t as_find_gap(const AddressSpace& as, uint64_t len);
// A present entry for va changed: its translation must be flushed before
// the frame or the address is reused.
void as_mark_stale(AddressSpace& as, uint64_t va);
// Flushes the TLB if needed and frees the frames waiting for it.
void as_flush(AddressSpace& as);

// May a 2 MiB entry map pages of v? Private anonymous memory only (the
// heap included), not the main stack, not PROT_NONE, not after
// MADV_NOHUGEPAGE.
bool as_huge_ok(const Vma& v);
// 2 MiB entries (large private anonymous memory, docs/design.md "2 MiB
// pages") become tables of 4 KiB entries where something must change in
// part of them: those across a or b, or every one in [a, b) with `all`
// (fork, mremap, PROT_NONE). 0, or -ENOMEM with nothing half done.
long as_split_huge(AddressSpace& as, uint64_t a, uint64_t b, bool all);

// The gpa behind a user address, with its entry; false if not mapped.
bool as_translate(const AddressSpace& as, uint64_t va, uint64_t* gpa, uint64_t* entry = nullptr);

// Writes the pages of MAP_SHARED file mappings in [a, b) back to their
// files (msync, munmap, exit); never past the file's end. 0 or -errno.
long as_writeback(AddressSpace& as, uint64_t a, uint64_t b);

// Hooks into the file layer (mm/file_backing.cpp; hosted tests supply
// their own): read file bytes into kernel memory, write them back, the
// file's size, hold/release a file.
long mm_file_fill(OpenFile* f, void* dst, uint64_t len, uint64_t offset);
long mm_file_store(OpenFile* f, const void* src, uint64_t len, uint64_t offset);
int64_t mm_file_size(OpenFile* f);
void mm_file_get(OpenFile* f);
bool mm_file_writable(OpenFile* f);  // open O_RDWR: a shared mapping may write
// The file's path for /proc/PID/maps, or nullptr when none is kept.
const char* mm_file_name(OpenFile* f);
void mm_file_put(OpenFile* f);
// Whether any process maps a file for which same(file, key) holds shared
// and possibly writable (MAP_SHARED of a descriptor open for writing,
// Linux's VM_SHARED|VM_MAYWRITE): F_SEAL_WRITE is EBUSY then.
bool mm_mapped_shared_writable(bool (*same)(const OpenFile*, uint32_t), uint32_t key);
// Files whose pages are guest frames already (tmpfs, memfd): a mapping
// uses the file's frame itself (shared mappings see read/write at once;
// private ones copy on write), taking a reference. 0 when the file has no
// frames of its own (*err 0) or on failure (*err < 0).
bool mm_file_has_frames(OpenFile* f);
uint64_t mm_file_frame(OpenFile* f, uint64_t offset, long* err);
// Files in host shares: the page cache's frame for `offset` (fs/page_cache.hpp),
// reading up to `ahead` pages at once on a miss, with a reference for the
// mapping. 0 with *err == 0: not cached (use a private copy); *err ==
// kMmPastEnd: the offset is past the file's end (a zero page, no read).
inline constexpr long kMmPastEnd = 1;
uint64_t mm_file_cached(OpenFile* f, uint64_t offset, uint64_t ahead, long* err);
// Loads CR3 (mm/tlb.cpp): switches address space and flushes the TLB.
void mm_load_root(uint64_t root);
// Invalidates the translations of n pages of the current address space.
void mm_flush_pages(const uint64_t* va, uint32_t n);
// The root the CPU uses now.
uint64_t mm_loaded_root();
// Other CPUs (kernel/smp/tlb_shootdown.cpp): those running on `root` flush
// their TLB before this returns; those on a root about to be freed leave it.
void mm_flush_remote(uint64_t root);
void mm_forget_root(uint64_t root);
// The monitor's tables the first process started on: where kernel-wide
// mappings (the kernel stack area) are made.
inline uint64_t mm_kernel_root() { return abi::kPageTablesGpa; }

}  // namespace lightvm::guest

#include "kernel/mm/memory.hpp"

#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/frames.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/page_table.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

AddressSpace& mm() { return *current_process()->mm; }

bool in_user(uint64_t a, uint64_t len) { return a >= kUserMin && a <= kUserMax && len <= kUserMax - a; }

// Lengths are rounded up to pages; false if that overflows or cannot fit.
bool round_len(uint64_t len, uint64_t* out) {
    if (len > kUserMax - kUserMin)
        return false;
    *out = page_up(len);
    return true;
}

constexpr int kProtMask = PROT_READ | PROT_WRITE | PROT_EXEC;

long map_new(uint64_t at, uint64_t len, int prot, uint32_t vmflags, OpenFile* file, uint64_t offset,
             bool populate = false) {
    Vma v{at, at + len, prot, vmflags, file, offset};
    if (!vma_insert(mm(), v))
        return -err::kNoMem;
    long r = as_populate_now(v, populate) ? as_populate(mm(), v, at, at + len) : 0;
    if (r < 0) {
        as_unmap(mm(), at, at + len);
        return r;
    }
    return static_cast<long>(at);
}

// Where a new mapping of len bytes goes: -errno, or the address.
long place(uint64_t addr, uint64_t len, int flags) {
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (!page_aligned(addr))
            return -err::kInval;
        if (addr < kUserMin)
            return -err::kPerm;  // below mmap_min_addr: the kernel's
        if (!in_user(addr, len))
            return -err::kNoMem;
        if ((flags & MAP_FIXED_NOREPLACE) && vma_overlaps(mm(), addr, addr + len))
            return -err::kExist;
        long r = as_unmap(mm(), addr, addr + len);
        return r < 0 ? r : static_cast<long>(addr);
    }
    uint64_t hint = page_down(addr);
    if (hint && in_user(hint, len) && !vma_overlaps(mm(), hint, hint + len))
        return static_cast<long>(hint);
    uint64_t at = as_find_gap(mm(), len);
    return at ? static_cast<long>(at) : -err::kNoMem;
}

Vma* heap_vma() {
    Vma* v = vma_find(mm(), page_up(mm().brk) - 1);
    return v && (v->flags & kVmHeap) ? v : nullptr;
}

// Moves the entries of [old, old+len) to new_addr (no copying of data).
void move_entries(uint64_t old_addr, uint64_t len, uint64_t new_addr) {
    AddressSpace& as = mm();
    pt_for_each(as.root, old_addr, old_addr + len, [&](uint64_t va, uint64_t& e) {
        uint64_t* ne = pt_entry(as.root, new_addr + (va - old_addr), true);
        if (!ne)
            return;  // no frame for a table: the page is lost (freed below)
        *ne = e;
        if (e & pte::kPresent)
            as_mark_stale(as, va);
        e = 0;
    });
}

// MADV_NOHUGEPAGE: later faults map 4 KiB pages (2 MiB entries made
// before stay, as Linux's huge pages do); MADV_HUGEPAGE undoes it.
long set_huge_advice(uint64_t a, uint64_t b, bool no_huge) {
    AddressSpace& as = mm();
    if (!vma_split_at(as, a) || !vma_split_at(as, b))
        return -err::kNoMem;
    for (uint32_t i = vma_index_after(as, a); i < as.nvma && as.vmas[i].start < b; ++i)
        as.vmas[i].flags = no_huge ? (as.vmas[i].flags | kVmNoHuge) : (as.vmas[i].flags & ~uint32_t{kVmNoHuge});
    return 0;
}

}  // namespace

void memory_init() {
    const abi::BootInfo& b = boot();
    memory_set_backed(b.ram_low_end, b.ram_high_start);
    frames_init(b.frames_start, b.mem_size);
    current_process()->mm = as_create_boot();
    if (!current_process()->mm)
        exit_vm(127, 0);  // not even one page: the monitor checked --mem, so a kernel bug
}

void memory_init_workload() {
    const abi::BootInfo& b = boot();
    // The program's file and arguments take the top of RAM: the pool ends
    // below them (the monitor checked they leave room for kMinFrames).
    if (!frames_limit(b.image_gpa))
        exit_vm(127, 0);
    memory_set_backed(b.ram_low_end, b.ram_high_start);
    mm().image_gpa = b.image_gpa;
}

long mem_map_image(uint64_t addr, uint64_t len, int prot, uint64_t image_offset) {
    long at = place(addr, len, MAP_FIXED);
    if (at < 0)
        return at;
    return map_new(addr, len, prot, kVmImage, nullptr, image_offset, true);
}

long mem_setup_stack(uint64_t top, uint64_t size, uint64_t mmap_gap) {
    AddressSpace& as = mm();
    as.stack_top = top;
    // Top-down mmaps start a guard gap (plus a random one) below the stack.
    as.mmap_top = top - size - (1ull << 30) - mmap_gap;
    long r = map_new(top - size, size, PROT_READ | PROT_WRITE, kVmGrowsDown, nullptr, 0);
    if (r < 0)
        return r;
    // The top is used at once (arguments, environment, the first frames);
    // the rest faults in as the stack grows.
    constexpr uint64_t kStackEager = 128 * 1024;
    uint64_t eager = size < kStackEager ? size : kStackEager;
    return as_populate(as, *vma_find(as, top - eager), top - eager, top);
}

void mem_set_brk(uint64_t start) { mm().brk_start = mm().brk = page_up(start); }

uint64_t mem_used() {
    // Frames handed out, plus all RAM outside the pool: the kernel, the
    // pool's metadata, the program's file and arguments.
    return (frames_total() - frames_free()) * kPage + (boot().mem_size - frames_total() * kPage);
}

uint64_t mem_brk(uint64_t new_brk) {
    AddressSpace& as = mm();
    if (new_brk < as.brk_start || new_brk > kUserMax)
        return as.brk;
    uint64_t old_top = page_up(as.brk), new_top = page_up(new_brk);
    if (new_top > old_top) {
        if (vma_overlaps(as, old_top, new_top))
            return as.brk;  // would run into a mapping: refuse, as Linux does
        Vma* heap = heap_vma();
        if (heap) {
            heap->end = new_top;
            Vma grown{old_top, new_top, heap->prot, heap->flags, nullptr, 0};
            if (as_populate_now(grown, false) && as_populate(as, *heap, old_top, new_top) < 0) {
                as_unmap(as, old_top, new_top);
                return as.brk;
            }
        } else if (map_new(old_top, new_top - old_top, PROT_READ | PROT_WRITE, kVmHeap, nullptr, 0) < 0) {
            return as.brk;
        }
    } else if (new_top < old_top) {
        as_unmap(as, new_top, old_top);
    }
    as.brk = new_brk;
    return as.brk;
}

long mem_mmap(uint64_t addr, uint64_t len, int prot, int flags, OpenFile* file, uint64_t offset) {
    int type = flags & MAP_TYPE;
    if (len == 0 || !page_aligned(offset) || (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE))
        return -err::kInval;
    if (!round_len(len, &len))
        return -err::kNoMem;
    if (file && offset + len < offset)
        return -err::kOverflow;
    long at = place(addr, len, flags);
    if (at < 0)
        return at;
    uint32_t vmflags = (type == MAP_PRIVATE ? 0u : uint32_t{kVmShared}) | ((flags & MAP_NORESERVE) ? uint32_t{kVmNoReserve} : 0u);
    return map_new(static_cast<uint64_t>(at), len, prot & kProtMask, vmflags, file, file ? offset : 0,
                   flags & MAP_POPULATE);
}

long mem_munmap(uint64_t addr, uint64_t len) {
    if (!page_aligned(addr) || len == 0 || !round_len(len, &len) || !in_user(addr, len))
        return -err::kInval;
    return as_unmap(mm(), addr, addr + len);
}

long mem_mprotect(uint64_t addr, uint64_t len, int prot) {
    if (!page_aligned(addr) || (prot & ~(kProtMask | PROT_GROWSDOWN | PROT_GROWSUP)))
        return -err::kInval;
    if (len == 0)
        return 0;
    if (!round_len(len, &len) || !in_user(addr, len))
        return -err::kNoMem;
    AddressSpace& as = mm();
    // Linux's VM_MAYWRITE: a shared mapping of a file not open for writing
    // never becomes writable (its frames may be the page cache's).
    for (uint32_t i = vma_index_after(as, addr); (prot & PROT_WRITE) && i < as.nvma && as.vmas[i].start < addr + len; ++i)
        if (as.vmas[i].file && (as.vmas[i].flags & kVmShared) && !mm_file_writable(as.vmas[i].file))
            return -err::kAcces;
    return as_protect(as, addr, addr + len, prot & kProtMask);
}

long mem_mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr) {
    if (!page_aligned(old_addr) || new_len == 0 || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
        ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)))
        return -err::kInval;
    if (!round_len(old_len, &old_len) || !round_len(new_len, &new_len) || old_len == 0)
        return -err::kInval;  // old_len 0 (duplicating a shared mapping) is not supported
    AddressSpace& as = mm();
    Vma* v = vma_find(as, old_addr);
    if (!v || old_len > v->end - old_addr)
        return -err::kFault;
    if (flags & MREMAP_FIXED) {
        if (!page_aligned(new_addr) || !in_user(new_addr, new_len) ||
            (new_addr < old_addr + old_len && old_addr < new_addr + new_len))
            return -err::kInval;
        long r = as_unmap(as, new_addr, new_addr + new_len);
        if (r < 0)
            return r;
        v = vma_find(as, old_addr);
    } else if (new_len <= old_len) {
        if (new_len < old_len)
            as_unmap(as, old_addr + new_len, old_addr + old_len);
        return static_cast<long>(old_addr);
    } else if (old_addr + old_len == v->end && in_user(old_addr, new_len) &&
               !vma_overlaps(as, v->end, old_addr + new_len)) {
        uint64_t tail = v->end;
        v->end = old_addr + new_len;  // grow in place
        Vma grown{tail, v->end, v->prot, v->flags, v->file, 0};
        long r = as_populate_now(grown, false) ? as_populate(as, *v, tail, v->end) : 0;
        if (r < 0) {
            as_unmap(as, tail, old_addr + new_len);
            return r;
        }
        return static_cast<long>(old_addr);
    } else if (!(flags & MREMAP_MAYMOVE)) {
        return -err::kNoMem;
    } else {
        new_addr = as_find_gap(as, new_len);
        if (!new_addr)
            return -err::kNoMem;
    }
    // Move: a new VMA, the entries carried over, the old range dropped.
    Vma moved = *v;
    moved.offset += old_addr - v->start;
    moved.start = new_addr;
    moved.end = new_addr + new_len;
    if (!vma_insert(as, moved))
        return -err::kNoMem;
    uint64_t keep = old_len < new_len ? old_len : new_len;
    if (as_split_huge(as, old_addr, old_addr + keep, true) < 0) {
        as_unmap(as, new_addr, new_addr + new_len);  // the new VMA only: nothing moved yet
        return -err::kNoMem;
    }
    move_entries(old_addr, keep, new_addr);
    as_unmap(as, old_addr, old_addr + old_len);
    Vma tail{new_addr + old_len, new_addr + new_len, moved.prot, moved.flags, moved.file, 0};
    if (new_len > old_len && as_populate_now(tail, false) &&
        as_populate(as, moved, new_addr + old_len, new_addr + new_len) < 0) {
        as_unmap(as, new_addr, new_addr + new_len);
        return -err::kNoMem;
    }
    return static_cast<long>(new_addr);
}

long mem_madvise(uint64_t addr, uint64_t len, int advice) {
    if (!page_aligned(addr))
        return -err::kInval;
    if (len == 0)
        return 0;
    if (!round_len(len, &len) || !in_user(addr, len) || !vma_covers(mm(), addr, addr + len))
        return -err::kNoMem;
    if (advice == MADV_DONTNEED || advice == MADV_FREE)
        return as_discard(mm(), addr, addr + len);  // the next read sees zeros (or the file) again
    if (advice == MADV_HUGEPAGE || advice == MADV_NOHUGEPAGE)
        return set_huge_advice(addr, addr + len, advice == MADV_NOHUGEPAGE);
    return 0;  // advice only
}

long mem_msync(uint64_t addr, uint64_t len, int flags) {
    if (!page_aligned(addr) || (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
        ((flags & MS_ASYNC) && (flags & MS_SYNC)))
        return -err::kInval;
    if (!round_len(len, &len) || !in_user(addr, len) || !vma_covers(mm(), addr, addr + len))
        return -err::kNoMem;
    long r = as_writeback(mm(), addr, addr + len);
    return r < 0 ? -err::kIo : 0;
}

void memory_exit() {
    // Also reached before memory_init (a boot failure): nothing mapped yet.
    if (this_cpu().current && current_process()->mm && mm().nvma)
        as_writeback(mm(), kUserMin, kUserMax);
}

long mem_mincore_page(uint64_t addr, uint8_t* resident) {
    if (!vma_find(mm(), addr))
        return -err::kNoMem;
    uint64_t gpa;
    *resident = as_translate(mm(), addr, &gpa) ? 1 : 0;
    return 0;
}

}  // namespace lightvm::guest

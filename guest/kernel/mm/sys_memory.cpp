// brk, mmap family: thin adapters over kernel/memory.cpp.
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/syscalls/syscall.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

long sys_brk(const SyscallArgs& a) { return static_cast<long>(mem_brk(a.a0)); }
// File mappings are copies: MAP_PRIVATE (and read-only MAP_SHARED) are read
// into anonymous memory, which is what the program can observe as long as
// nobody else writes the file. Writable shared mappings cannot be kept in
// sync without page-table tricks and are refused (ENODEV).
static long map_file(const SyscallArgs& a) {
    int flags = static_cast<int>(a.a3), prot = static_cast<int>(a.a2);
    OpenFile* f = fd_get(fd_arg(a.a4));
    if (!f)
        return -err::kBadF;
    if (a.a5 & (abi::kPageSize - 1))
        return -err::kInval;
    if (f->kind == FileKind::DevZero)
        return mem_mmap(a.a0, a.a1, prot, flags | MAP_ANONYMOUS);
    if (f->kind != FileKind::HostFile && f->kind != FileKind::Block)
        return -err::kNoDev;
    if ((flags & MAP_SHARED) && (prot & PROT_WRITE))
        return -err::kNoDev;
    long addr = mem_mmap(a.a0, a.a1, prot, (flags & ~MAP_SHARED) | MAP_PRIVATE | MAP_ANONYMOUS);
    if (addr < 0)
        return addr;
    uint64_t done = 0;
    while (done < a.a1) {
        long n = file_read(f, reinterpret_cast<void*>(static_cast<uint64_t>(addr) + done), a.a1 - done,
                           static_cast<int64_t>(a.a5 + done));
        if (n < 0) {
            mem_munmap(static_cast<uint64_t>(addr), a.a1);
            return n;
        }
        if (n == 0)
            break;  // past EOF the mapping reads as zero
        done += static_cast<uint64_t>(n);
    }
    return addr;
}

long sys_mmap(const SyscallArgs& a) {
    if (!(a.a3 & MAP_ANONYMOUS))
        return map_file(a);
    return mem_mmap(a.a0, a.a1, static_cast<int>(a.a2), static_cast<int>(a.a3));
}
long sys_munmap(const SyscallArgs& a) { return mem_munmap(a.a0, a.a1); }
long sys_mprotect(const SyscallArgs& a) { return mem_mprotect(a.a0, a.a1, static_cast<int>(a.a2)); }
long sys_mremap(const SyscallArgs& a) {
    return mem_mremap(a.a0, a.a1, a.a2, static_cast<int>(a.a3), a.a4);
}

long sys_madvise(const SyscallArgs& a) {
    if (a.a0 & (abi::kPageSize - 1))
        return -err::kInval;
    if (!access_ok(a.a0, a.a1))
        return -err::kNoMem;
    // Linux guarantees zero-fill on the next touch of anonymous memory.
    if (a.a2 == MADV_DONTNEED || a.a2 == MADV_FREE)
        return clear_user(a.a0, a.a1) < 0 ? -err::kNoMem : 0;
    return 0;
}

long sys_ok_range(const SyscallArgs& a) { return access_ok(a.a0, a.a1) ? 0 : -err::kNoMem; }

long sys_mincore(const SyscallArgs& a) {
    if (!access_ok(a.a0, a.a1))
        return -err::kNoMem;
    uint64_t pages = (a.a1 + abi::kPageSize - 1) / abi::kPageSize;
    // Everything mapped is resident (identity-mapped RAM): one byte per
    // page, in chunks through a small kernel buffer.
    uint8_t ones[256];
    memset(ones, 1, sizeof ones);
    for (uint64_t done = 0; done < pages;) {
        uint64_t n = pages - done < sizeof ones ? pages - done : sizeof ones;
        if (copy_to_user(a.a2 + done, ones, n) < 0)
            return -err::kFault;
        done += n;
    }
    return 0;
}

}  // namespace lightvm::guest

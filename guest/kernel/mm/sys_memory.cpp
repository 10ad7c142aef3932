// brk, mmap family: thin adapters over mm/memory.cpp.
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/file_ops.hpp"
#include "kernel/fs/open_file.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/layout.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

// Which open files can be mapped, and how. Host file mappings are frames
// read at mmap (or fault) time: right for MAP_PRIVATE. MAP_SHARED writes
// reach the file on msync, munmap and exit (not before: a read() of the
// file in between sees the old data, unlike Linux's unified page cache).
// tmpfs files and memfds map their own frames: shared as on Linux.
long map_file(const SyscallArgs& a) {
    int flags = static_cast<int>(a.a3), prot = static_cast<int>(a.a2);
    OpenFile* f = fd_get(fd_arg(a.a4));
    if (!f)
        return -err::kBadF;
    if (f->kind == FileKind::DevZero)
        return mem_mmap(a.a0, a.a1, prot, flags, nullptr, 0);
    if (f->kind != FileKind::HostFile && f->kind != FileKind::Block && f->kind != FileKind::TmpFile)
        return -err::kNoDev;
    if ((f->flags & O_ACCMODE) == O_WRONLY)
        return -err::kAcces;
    bool shared_write = (flags & MAP_TYPE) != MAP_PRIVATE && (prot & PROT_WRITE);
    if (shared_write && (f->flags & O_ACCMODE) != O_RDWR)
        return -err::kAcces;
    if (f->kind == FileKind::TmpFile) {
        if (long r = tmpfs_map_check(f, shared_write); r < 0)
            return r;
    }
    return mem_mmap(a.a0, a.a1, prot, flags, f, a.a5);
}

}  // namespace

long sys_brk(const SyscallArgs& a) { return static_cast<long>(mem_brk(a.a0)); }

long sys_mmap(const SyscallArgs& a) {
    if (!(a.a3 & MAP_ANONYMOUS))
        return map_file(a);
    return mem_mmap(a.a0, a.a1, static_cast<int>(a.a2), static_cast<int>(a.a3), nullptr, 0);
}
long sys_munmap(const SyscallArgs& a) { return mem_munmap(a.a0, a.a1); }
long sys_mprotect(const SyscallArgs& a) { return mem_mprotect(a.a0, a.a1, static_cast<int>(a.a2)); }
long sys_mremap(const SyscallArgs& a) {
    return mem_mremap(a.a0, a.a1, a.a2, static_cast<int>(a.a3), a.a4);
}
long sys_madvise(const SyscallArgs& a) { return mem_madvise(a.a0, a.a1, static_cast<int>(a.a2)); }
long sys_msync(const SyscallArgs& a) { return mem_msync(a.a0, a.a1, static_cast<int>(a.a2)); }

// mlock and friends: every mapped page is resident already.
long sys_ok_range(const SyscallArgs& a) {
    uint64_t start = page_down(a.a0), end = page_up(a.a0 + a.a1);
    for (uint64_t va = start; va < end; va += kPage) {
        uint8_t r;
        if (mem_mincore_page(va, &r) < 0)
            return -err::kNoMem;
    }
    return 0;
}

// Nothing is ever paged out of the VM: locking is a promise kept already,
// checked as Linux checks it.
long sys_mlock2(const SyscallArgs& a) {
    if (a.a2 & ~uint64_t{MLOCK_ONFAULT})
        return -err::kInval;
    return sys_ok_range(a);
}
long sys_mlockall(const SyscallArgs& a) {
    const uint64_t flags = a.a0;
    if (!flags || (flags & ~uint64_t{MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT}) || flags == MCL_ONFAULT)
        return -err::kInval;
    return 0;
}
long sys_munlockall(const SyscallArgs&) { return 0; }

long sys_mincore(const SyscallArgs& a) {
    if (!page_aligned(a.a0))
        return -err::kInval;
    uint64_t pages = (a.a1 + kPage - 1) / kPage;
    uint8_t buf[256];
    for (uint64_t done = 0; done < pages;) {
        uint64_t n = pages - done < sizeof buf ? pages - done : sizeof buf;
        for (uint64_t i = 0; i < n; ++i)
            if (mem_mincore_page(a.a0 + (done + i) * kPage, &buf[i]) < 0)
                return -err::kNoMem;
        if (copy_to_user(a.a2 + done, buf, n) < 0)
            return -err::kFault;
        done += n;
    }
    return 0;
}

}  // namespace lightvm::guest

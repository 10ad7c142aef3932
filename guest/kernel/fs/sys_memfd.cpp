// memfd_create: an anonymous file in guest RAM (a tmpfs inode with no name,
// fs/tmpfs.cpp), with Linux's file seals. man 2 memfd_create.
#include "kernel/errno.hpp"
#include "kernel/fs/fd_table.hpp"
#include "kernel/fs/tmpfs.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/syscalls/syscall.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr size_t kMemfdNameMax = 249;  // NAME_MAX minus "memfd:"; Linux's MFD_NAME_MAX_LEN
constexpr uint64_t kMfdCloexec = 0x1, kMfdAllowSealing = 0x2, kMfdHugetlb = 0x4;
constexpr uint64_t kMfdNoexecSeal = 0x8, kMfdExec = 0x10;

}  // namespace

long sys_memfd_create(const SyscallArgs& a) {
    uint64_t flags = a.a1;
    if (flags & ~(kMfdCloexec | kMfdAllowSealing | kMfdHugetlb | kMfdNoexecSeal | kMfdExec))
        return -err::kInval;
    if (flags & kMfdHugetlb)
        return -err::kInval;  // no hugetlbfs in a VM (the huge-page size bits would follow)
    if ((flags & kMfdNoexecSeal) && (flags & kMfdExec))
        return -err::kInval;
    char name[kMemfdNameMax + 1];
    long len = strncpy_from_user(name, a.a0, sizeof name);
    if (len < 0)
        return len == -err::kNameTooLong ? -err::kInval : len;
    if (static_cast<size_t>(len) > kMemfdNameMax)
        return -err::kInval;
    bool sealing = (flags & (kMfdAllowSealing | kMfdNoexecSeal)) != 0;
    OpenFile* f;
    long r = tmpfs_memfd(name, static_cast<size_t>(len), sealing, &f);
    if (r < 0)
        return r;
    r = fd_install(f, 0, flags & kMfdCloexec);
    if (r < 0)
        file_put(f);
    return r;
}

}  // namespace lightvm::guest

// Linux ABI facts (syscall numbers, errno values, flags, structs) from the
// kernel's own uapi headers (Debian's linux-libc-dev): the guest kernel and
// the strace formatter include this one header instead of retyping values.
// The headers need only the compiler (no libc), so they build both with the
// guest's freestanding flags and in the hosted unit tests (as long as a
// translation unit does not also include the libc header that defines the
// same struct, e.g. <fcntl.h>, <termios.h>, <sys/stat.h>): so headers that
// hosted tests include (kernel/errno.hpp, fs/file_ops.hpp, ...) do not
// include it; .cpp files do.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <asm-generic/errno.h>   // E* (and errno-base.h)
#include <asm/ioctls.h>          // TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, ...
#include <asm/param.h>           // HZ: the tick of times() and clock_t (USER_HZ)
#include <asm/poll.h>            // POLLIN, POLLOUT, POLLNVAL, struct pollfd
#include <asm/prctl.h>           // ARCH_SET_FS, ...
#include <asm/stat.h>            // struct stat (x86-64)
#include <asm/statfs.h>          // struct statfs
#include <asm/termbits.h>        // struct termios and its flag bits
#include <asm/termios.h>         // struct winsize
#include <linux/capability.h>    // CAP_*, struct __user_cap_header_struct
#include <linux/close_range.h>   // CLOSE_RANGE_*
#include <linux/falloc.h>        // FALLOC_FL_*
#include <linux/eventpoll.h>     // EPOLL*, struct epoll_event (packed on x86-64)
#include <linux/fcntl.h>         // O_*, F_*, AT_*
#include <linux/fs.h>            // SEEK_*, BLK* ioctls
#include <linux/futex.h>         // FUTEX_*
#include <linux/magic.h>         // TMPFS_MAGIC
#include <linux/mman.h>          // PROT_*, MAP_*, MREMAP_*, MADV_*
#include <linux/prctl.h>         // PR_*
#include <linux/random.h>        // GRND_*
#include <linux/resource.h>      // RLIMIT_*, RLIM_INFINITY, struct rusage, struct rlimit64
#include <linux/sched.h>         // CLONE_*, SCHED_*
#include <linux/sched/types.h>   // struct sched_param
#include <linux/signal.h>        // SIG*, SS_DISABLE, stack_t, _NSIG
#include <linux/stat.h>          // S_IF*, struct statx, STATX_*
#include <linux/sysinfo.h>       // struct sysinfo
#include <linux/time.h>          // CLOCK_*, TIMER_ABSTIME, struct timeval, struct timezone
#include <linux/time_types.h>    // struct __kernel_timespec
#include <linux/timex.h>         // struct __kernel_timex, ADJ_*, STA_*, TIME_*
#include <linux/times.h>         // struct tms
#include <linux/uio.h>           // struct iovec, UIO_MAXIOV
#include <linux/utsname.h>       // struct new_utsname
#include <linux/wait.h>          // W*

#include "kernel/errno.hpp"              // ERESTART* (kernel-internal)
#include "kernel/syscalls/numbers.hpp"  // __NR_*

// ---- The project's own table: ABI facts the Debian 12 headers (Linux 6.1)
// do not have. Values are from the Linux sources and man pages; a newer
// header that defines the same name wins (the values are ABI, they agree).

// arch_prctl codes added after Linux 6.1 (asm/prctl.h).
#ifndef ARCH_GET_UNTAG_MASK
#define ARCH_GET_UNTAG_MASK 0x4001
#define ARCH_ENABLE_TAGGED_ADDR 0x4002
#define ARCH_GET_MAX_TAG_BITS 0x4003
#define ARCH_FORCE_TAGGED_SVA 0x4004
#endif
#ifndef ARCH_SHSTK_ENABLE
#define ARCH_SHSTK_ENABLE 0x5001
#define ARCH_SHSTK_DISABLE 0x5002
#define ARCH_SHSTK_LOCK 0x5003
#define ARCH_SHSTK_UNLOCK 0x5004
#define ARCH_SHSTK_STATUS 0x5005
#endif

// Kernel-internal restart codes (ERESTARTSYS, ...): kernel/errno.hpp.

// Number of signals (1.._NSIG): x86's uapi asm/signal.h names SIGRTMAX as
// _NSIG but leaves _NSIG to the kernel (and glibc's _NSIG is 65).
#define LVM_NSIG 64

// Largest errno a syscall returns as -errno (include/linux/err.h MAX_ERRNO).
#define LVM_MAX_ERRNO 4095

// access() modes and directory entry types: ABI values that only the C
// library's headers (unistd.h, dirent.h) name.
#ifndef F_OK
#define F_OK 0
#define X_OK 1
#define W_OK 2
#define R_OK 4
#endif
// utimensat's special nanosecond values (include/linux/stat.h, not uapi).
#ifndef UTIME_NOW
#define UTIME_NOW ((1l << 30) - 1l)
#define UTIME_OMIT ((1l << 30) - 2l)
#endif

#ifndef DT_DIR
#define DT_UNKNOWN 0
#define DT_FIFO 1
#define DT_CHR 2
#define DT_DIR 4
#define DT_BLK 6
#define DT_REG 8
#define DT_LNK 10
#define DT_SOCK 12
#endif

// The record getdents64(2) fills (include/linux/dirent.h, not uapi); only
// its offsets are used: records are byte streams, 8-byte aligned.
struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[1];  // NUL-terminated, then padding
};

// Socket domains and types (include/linux/socket.h, include/linux/net.h:
// not uapi), for the strace formatter.
#ifndef AF_UNSPEC
#define AF_UNSPEC 0
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16
#define AF_PACKET 17
#define AF_VSOCK 40
#endif
#ifndef SOCK_STREAM
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define SOCK_RDM 4
#define SOCK_SEQPACKET 5
#define SOCK_DCCP 6
#define SOCK_PACKET 10
#define SOCK_TYPE_MASK 0xf
#define SOCK_CLOEXEC O_CLOEXEC
#define SOCK_NONBLOCK O_NONBLOCK
#endif

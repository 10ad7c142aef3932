// The system calls the monitor may make once it is sandboxed: its vCPU
// loop, the devices, the final report and fast_exit. One line per call with
// the reason; a call marked Filtered is allowed only with the argument
// checks in filter_gen.cpp. docs/security.md documents this list, and a unit
// test keeps the two equal, so a new call cannot slip in unreviewed.
#pragma once

namespace lightvm::sandbox {

enum class Args { Any, Filtered };

struct Allowed {
    const char* name;
    Args args;
    const char* why;
    // Only in the filter for runs whose guest sockets are host sockets
    // (--net host, user, ns): under --net none the monitor has no use for a
    // new socket, so it cannot make one (UDP included, which Landlock does
    // not cover).
    bool host_network_only = false;
};

inline constexpr Allowed kAllowed[] = {
    // vCPU loop
    {"ioctl", Args::Filtered, "KVM_RUN, KVM_GET/SET_REGS, KVM_GET/SET_SREGS, KVM_SET_USER_MEMORY_REGION, KVM_INTERRUPT; KVM_GET_MSRS/XSAVE/VCPU_EVENTS (--save); KVM_CREATE_VCPU, KVM_SET_CPUID2, KVM_SET_MSRS (a vCPU the guest starts); KVM_GET_DIRTY_LOG (live migration); TCGETS; TCSETS/TCSETSW/TCSETSF, TIOCGWINSZ/TIOCSWINSZ (the terminal, kHcTty); FIONREAD (net)"},
    {"rt_sigreturn", Args::Any, "return from the timeout/stop/SIGBUS-guard handlers"},
    {"rt_sigaction", Args::Filtered, "SIGBUS guard resets itself; guest timer signal; never on SIGSYS"},
    {"rt_sigprocmask", Args::Any, "libc around signal handling"},
    {"timer_settime", Args::Any, "--timeout watchdog, the stop ticker, the guest timer (kHcTimer)"},
    {"timer_create", Args::Any, "stop ticker; guest timer, on its first kHcTimer"},
    {"timer_delete", Args::Any, "watchdog and ticker teardown"},
    {"clock_nanosleep", Args::Any, "sleep hypercall"},
    {"ppoll", Args::Any, "sleep hypercall with several vCPUs: a kick's eventfd ends it"},
    {"eventfd2", Args::Any, "a started vCPU's wake-up eventfd"},
    {"set_robust_list", Args::Any, "libc: a started vCPU's thread"},
    {"rseq", Args::Any, "libc: a started vCPU's thread"},
    {"nanosleep", Args::Any, "libc sleep"},
    {"clock_gettime", Args::Any, "statistics, when the vDSO is not used"},
    {"getpid", Args::Any, "libc (raise)"},
    {"gettid", Args::Any, "libc (raise)"},
    {"tgkill", Args::Filtered, "raise/abort of our own thread; never SIGSYS"},
    {"futex", Args::Any, "libc/libstdc++ once-initialisation"},
    {"getrandom", Args::Any, "libc"},
    {"sched_yield", Args::Any, "libc"},
    {"restart_syscall", Args::Any, "kernel restart after a signal"},
    // memory
    {"mmap", Args::Filtered, "heap; SIGBUS guard's zero page; never PROT_EXEC"},
    {"mprotect", Args::Filtered, "heap; never PROT_EXEC"},
    {"munmap", Args::Any, "heap; teardown"},
    {"mremap", Args::Any, "heap"},
    {"madvise", Args::Any, "heap"},
    {"brk", Args::Any, "heap"},
    {"mincore", Args::Any, "--stats: guest pages touched"},
    // console: guest stdio
    {"read", Args::Any, "stdin hypercall"},
    {"write", Args::Any, "guest stdout/stderr, reports, file writes"},
    {"writev", Args::Any, "libc stdio"},
    {"lseek", Args::Any, "stdin seek, file positions"},
    {"poll", Args::Any, "console: is a stream writable while stopping"},
    {"fstat", Args::Any, "stdin type; fs handles"},
    {"newfstatat", Args::Any, "fs: stat of a name below a share fd"},
    {"statx", Args::Any, "libc fstat on some versions"},
    // fs device: every path is relative to a share or handle fd
    {"openat", Args::Any, "fs: O_PATH walk of symlinks below a share fd (Landlock confines paths)"},
    {"openat2", Args::Any, "fs: RESOLVE_IN_ROOT/BENEATH opens below a share fd"},
    {"close", Args::Any, "fs handles"},
    {"close_range", Args::Any, "fast_exit reaper"},
    {"fcntl", Args::Any, "fs: F_GETFL/F_SETFL, F_DUPFD_CLOEXEC; F_OFD_SETLK/GETLK (the guest's locks)"},
    {"flock", Args::Any, "fs: the guest's flock locks, mirrored on a share's file"},
    {"pread64", Args::Any, "fs and block reads"},
    {"pwrite64", Args::Any, "fs and block writes"},
    {"sendfile", Args::Any, "fs: host-side copies (cat, cp)"},
    {"copy_file_range", Args::Any, "fs: host-side copies between files"},
    {"getdents64", Args::Any, "fs: directory listings"},
    {"mkdirat", Args::Any, "fs"},
    {"unlinkat", Args::Any, "fs"},
    {"renameat2", Args::Any, "fs: rename with flags"},
    {"renameat", Args::Any, "fs: libc's renameat2 without flags"},
    {"dup3", Args::Any, "a detached VM's log rotation: the new file over the old stdout/stderr numbers"},
    {"linkat", Args::Any, "fs"},
    {"symlinkat", Args::Any, "fs"},
    {"readlinkat", Args::Any, "fs"},
    {"readlink", Args::Any, "fs: realpath through /proc/self/fd"},
    {"utimensat", Args::Any, "fs"},
    {"fchmodat", Args::Any, "fs: chmod fallback before Linux 6.6"},
    {"fchmodat2", Args::Any, "fs: chmod of an O_PATH fd"},
    {"fchmod", Args::Any, "fs: chmod fallback"},
    {"chmod", Args::Any, "fs: chmod fallback through /proc/self/fd"},
    {"faccessat2", Args::Any, "fs: access"},
    {"fsync", Args::Any, "fs"},
    {"fdatasync", Args::Any, "fs and block flush"},
    {"ftruncate", Args::Any, "fs"},
    {"fstatfs", Args::Any, "fs: statfs"},
    // net device (kHcNet): host sockets for --net host and the -p listeners
    {"socket", Args::Filtered, "net: AF_INET/AF_INET6 only; --net host, user, ns only", true},
    {"bind", Args::Any, "net: --net host, user, ns only", true},
    {"listen", Args::Any, "net: also --net none: the guest listening on a -p port listens on its listener, bound before the sandbox"},
    {"accept4", Args::Any, "net: connections to the guest's listeners and -p ports"},
    {"connect", Args::Any, "net: --net host, user, ns only", true},
    {"sendmsg", Args::Any, "net: send/sendto, straight from guest memory's pieces"},
    {"recvmsg", Args::Any, "net: recv/recvfrom, straight into guest memory's pieces"},
    {"shutdown", Args::Any, "net"},
    {"getsockname", Args::Any, "net"},
    {"getpeername", Args::Any, "net"},
    {"getsockopt", Args::Any, "net: SO_ERROR and the options the device allows"},
    {"setsockopt", Args::Any, "net: the options the device allows (devices/net.cpp)"},
    {"fchownat", Args::Any, "fs: chown of an O_PATH fd (the host decides: EPERM without CAP_CHOWN)"},
    {"fallocate", Args::Any, "fs"},
    {"mknodat", Args::Any, "fs: FIFOs and socket nodes (never devices: the device refuses them)"},
    {"getxattr", Args::Any, "fs: user.* attributes through /proc/self/fd (the device refuses other names)"},
    {"getxattrat", Args::Any, "fs: a mapped share's user.lightvm.owner of a listed name (directory fd + name, not followed; Linux 6.13)"},
    {"lgetxattr", Args::Any, "fs: the same before Linux 6.13, through /proc/self/fd/DIR/NAME (not followed)"},
    {"fgetxattr", Args::Any, "fs: a mapped share's user.lightvm.owner of an open file"},
    {"setxattr", Args::Any, "fs: user.* attributes through /proc/self/fd"},
    {"listxattr", Args::Any, "fs: user.* attributes through /proc/self/fd (others are filtered out)"},
    {"removexattr", Args::Any, "fs: user.* attributes through /proc/self/fd"},
    // end of the run
    {"clone", Args::Filtered, "fast_exit reaper: CLONE_VM|CLONE_FILES|CLONE_FS|SIGCHLD; a started vCPU's thread: pthread_create's flags only"},
    {"exit", Args::Any, "reaper"},
    {"exit_group", Args::Any, "process exit"},
};

}  // namespace lightvm::sandbox

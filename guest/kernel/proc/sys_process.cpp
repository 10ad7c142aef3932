// Process identity, exit, limits, prctl. Signals: proc/sys_signal.cpp.
#include "kernel/dev/console.hpp"
#include "kernel/fs/file_cache.hpp"
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/proc/exit.hpp"
#include "kernel/proc/sched.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/smp/cpus.hpp"
#include "kernel/syscalls/syscall.hpp"
#include "kernel/uapi.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"

namespace lightvm::guest {

long sys_exit_thread(const SyscallArgs& a) {
    trace_noreturn(__NR_exit, a.a0);
    process_thread_exit(static_cast<int>(a.a0));
}

long sys_exit(const SyscallArgs& a) {
    trace_noreturn(__NR_exit_group, a.a0);
    process_exit(static_cast<int>(a.a0));
}

long sys_getpid(const SyscallArgs&) { return current_process()->pid; }
long sys_gettid(const SyscallArgs&) { return current()->tid; }
long sys_getppid(const SyscallArgs&) { return current_process()->ppid; }
long sys_zero(const SyscallArgs&) { return 0; }

long sys_set_tid_address(const SyscallArgs& a) {
    current()->clear_child_tid = a.a0;  // zeroed and woken when the thread exits
    return current()->tid;
}

long sys_arch_prctl(const SyscallArgs& a) {
    switch (a.a0) {
    case ARCH_SET_FS:
        if (a.a1 >= (1ull << 47))
            return -err::kPerm;
        current()->fs_base = a.a1;
        if (boot().flags & abi::kBootHasFsgsbase) {
            asm volatile("wrfsbase %0" : : "r"(a.a1) : "memory");
        } else {
            volatile abi::HcSetFsBase hc{a.a1, 0};
            hypercall(abi::kHcSetFsBase, &hc);
            return hc.result;
        }
        return 0;
    case ARCH_GET_FS:
        return UserPtr<uint64_t>(a.a1).write(current()->fs_base);
    case ARCH_SET_GS:
        if (!(boot().flags & abi::kBootHasFsgsbase))
            return -err::kInval;
        current()->gs_base = a.a1;
        asm volatile("wrgsbase %0" : : "r"(a.a1) : "memory");
        return 0;
    case ARCH_GET_GS:
        return UserPtr<uint64_t>(a.a1).write(current()->gs_base);
    default:
        return -err::kInval;
    }
}

// Limits live in the process; new values are kept (getrlimit returns them).
// Enforced: RLIMIT_NOFILE's soft limit (fd_limit, up to kMaxFds) and
// RLIMIT_STACK at exec; the others are not.
static long get_rlimit(unsigned resource, uint64_t addr) {
    return copy_to_user(addr, current_process()->rlimit[resource], sizeof(rlimit64));
}

static long set_rlimit(unsigned resource, uint64_t addr) {
    uint64_t lim[2];
    if (copy_from_user(lim, addr, sizeof lim) < 0)
        return -err::kFault;
    uint64_t* cur = current_process()->rlimit[resource];
    if (lim[0] > lim[1])
        return -err::kInval;
    if (lim[1] > cur[1] && current_process()->cred.euid != 0)
        return -err::kPerm;
    cur[0] = lim[0];
    cur[1] = lim[1];
    return 0;
}

long sys_prlimit64(const SyscallArgs& a) {
    if (a.a0 != 0 && static_cast<int64_t>(a.a0) != current_process()->pid)
        return -err::kSrch;
    if (a.a1 >= kRlimits)
        return -err::kInval;
    auto res = static_cast<unsigned>(a.a1);
    uint64_t old[2];
    memcpy(old, current_process()->rlimit[res], sizeof old);
    if (a.a2) {
        long r = set_rlimit(res, a.a2);
        if (r < 0)
            return r;
    }
    return a.a3 ? copy_to_user(a.a3, old, sizeof old) : 0;
}

long sys_getrlimit(const SyscallArgs& a) {
    return a.a0 < kRlimits ? get_rlimit(static_cast<unsigned>(a.a0), a.a1) : -err::kInval;
}
long sys_setrlimit(const SyscallArgs& a) {
    return a.a0 < kRlimits ? set_rlimit(static_cast<unsigned>(a.a0), a.a1) : -err::kInval;
}

long sys_sched_getaffinity(const SyscallArgs& a) {
    if (a.a1 < 8)
        return -err::kInval;
    const uint64_t mask = (1ull << cpus_possible()) - 1;  // every vCPU (--cpus)
    return UserPtr<uint64_t>(a.a2).write(mask) < 0 ? -err::kFault : 8;
}

long sys_umask(const SyscallArgs& a) {
    unsigned old = current_process()->fs->umask;
    current_process()->fs->umask = a.a0 & 0777;
    return old;
}


// prctl: the options C libraries, shells and runtimes use (man 2 prctl).
// Flags are kept per process and read back; none changes more than that
// today (one process, no exec, no capabilities to lose). Unknown options
// are EINVAL, as Linux says for them.
static long prctl_name(const SyscallArgs& a) {
    // Linux keeps the first 15 bytes of a longer name.
    long len = strnlen_user(a.a1, sizeof current()->comm);
    if (len == -err::kNameTooLong)
        len = sizeof current()->comm - 1;
    if (len < 0)
        return len;
    char name[sizeof current()->comm] = {};
    if (copy_from_user(name, a.a1, static_cast<size_t>(len)) < 0)
        return -err::kFault;
    memcpy(current()->comm, name, sizeof name);
    return 0;
}

static long put_int(uint64_t addr, int32_t v) { return UserPtr<int32_t>(addr).write(v); }

long sys_prctl(const SyscallArgs& a) {
    ProcAttrs& at = current_process()->attrs;
    constexpr uint64_t kLastCap = 40;  // CAP_CHECKPOINT_RESTORE, Linux 5.9+
    switch (a.a0) {
    case PR_SET_NAME:
        return prctl_name(a);
    case PR_GET_NAME:
        return copy_to_user(a.a1, current()->comm, sizeof current()->comm);
    case PR_GET_DUMPABLE:
        return at.not_dumpable ? 0 : 1;
    case PR_SET_DUMPABLE:
        if (a.a1 > 1)
            return -err::kInval;
        at.not_dumpable = a.a1 == 0;
        return 0;
    case PR_SET_NO_NEW_PRIVS:
        if (a.a1 != 1 || a.a2 || a.a3 || a.a4)
            return -err::kInval;  // it can only be set, never cleared
        at.no_new_privs = true;
        return 0;
    case PR_GET_NO_NEW_PRIVS:
        return (a.a1 || a.a2 || a.a3 || a.a4) ? -err::kInval : at.no_new_privs;
    case PR_GET_SECCOMP:
        return 0;  // no filter in the guest
    case PR_CAPBSET_READ:
        return a.a1 <= kLastCap ? 1 : -err::kInval;  // root with the full bounding set
    case PR_SET_KEEPCAPS:
        if (a.a1 > 1)
            return -err::kInval;
        at.keepcaps = a.a1;
        return 0;
    case PR_GET_KEEPCAPS:
        return at.keepcaps;
    case PR_SET_PDEATHSIG:
        if (a.a1 > 64)  // _NSIG
            return -err::kInval;
        at.pdeathsig = static_cast<uint32_t>(a.a1);
        return 0;
    case PR_GET_PDEATHSIG:
        return put_int(a.a1, static_cast<int32_t>(at.pdeathsig));
    case PR_SET_CHILD_SUBREAPER:
        at.child_subreaper = a.a1 != 0;
        return 0;
    case PR_GET_CHILD_SUBREAPER:
        return put_int(a.a1, at.child_subreaper);
    case PR_SET_TIMERSLACK:
        at.timerslack_ns = a.a1;  // 0 restores the default
        return 0;
    case PR_GET_TIMERSLACK:
        return static_cast<long>(at.timerslack_ns ? at.timerslack_ns : 50000);
    case PR_GET_TIMING:
        return PR_TIMING_STATISTICAL;
    case PR_GET_THP_DISABLE:
        return 0;
    case PR_MCE_KILL_GET:
        return PR_MCE_KILL_DEFAULT;
    case PR_GET_SECUREBITS:
        return 0;
    default:
        return -err::kInval;
    }
}

unsigned current_umask() { return current_process()->fs->umask; }

[[noreturn]] void exit_vm(int status, unsigned signal) {
    memory_exit();      // shared file mappings reach their files
    cache_flush_all();  // nothing the guest wrote is lost on a normal exit
    volatile abi::HcExit hc{status, signal};
    for (;;)
        hypercall(abi::kHcExit, &hc);
}

}  // namespace lightvm::guest

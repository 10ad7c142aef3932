// Scheduling attributes a program may ask about or set: nice values
// (getpriority/setpriority), I/O priorities (ioprio_get/ioprio_set), the
// scheduling policy (sched_*), CPU affinity, the execution domain
// (personality) and getcpu. The values are
// kept and returned with Linux's checks and errors (man 2 getpriority,
// ioprio_set, sched_setscheduler, sched_setaffinity, personality), but
// they do not change how the guest is scheduled.
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/smp/cpus.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

ProcAttrs& attrs() { return current_process()->attrs; }

// Whether (which, who) of getpriority/setpriority names this process:
// PRIO_PROCESS by pid, PRIO_PGRP by process group, PRIO_USER by uid; 0
// means the caller's own. -EINVAL for an unknown `which`, else 1 or 0.
long names_us(uint64_t which, uint64_t who_reg) {
    auto who = static_cast<uint32_t>(who_reg);  // id_t
    const Process& p = *current_process();
    switch (which) {
    case PRIO_PROCESS:
        return who == 0 || who == p.pid;
    case PRIO_PGRP:
        return who == 0 || who == p.pgid;
    case PRIO_USER:
        return who == 0 || who == p.cred.uid;
    default:
        return -err::kInval;
    }
}

// ioprio_* name their target with IOPRIO_WHO_* (1, 2, 3).
long io_names_us(uint64_t which, uint64_t who) {
    constexpr uint64_t kWhoProcess = 1, kWhoPgrp = 2, kWhoUser = 3;
    switch (which) {
    case kWhoProcess:
        return names_us(PRIO_PROCESS, who);
    case kWhoPgrp:
        return names_us(PRIO_PGRP, who);
    case kWhoUser:
        return names_us(PRIO_USER, who);
    default:
        return -err::kInval;
    }
}

// pid arguments of sched_*: 0 or our own pid; negative is EINVAL.
long sched_target(uint64_t pid_reg) {
    auto pid = static_cast<int32_t>(static_cast<uint32_t>(pid_reg));
    if (pid < 0)
        return -err::kInval;
    if (pid != 0 && static_cast<uint32_t>(pid) != current_process()->pid)
        return -err::kSrch;
    return 0;
}

bool privileged() { return current_process()->cred.euid == 0; }

}  // namespace

// The raw system call returns 20 - nice (1..40), so no success is negative;
// the C library turns it back into the nice value.
long sys_getpriority(const SyscallArgs& a) {
    long r = names_us(a.a0, a.a1);
    if (r <= 0)
        return r < 0 ? r : -err::kSrch;
    return 20 - attrs().nice;
}

long sys_setpriority(const SyscallArgs& a) {
    long r = names_us(a.a0, a.a1);
    if (r <= 0)
        return r < 0 ? r : -err::kSrch;
    auto nice = static_cast<int32_t>(static_cast<uint32_t>(a.a2));
    nice = nice < -20 ? -20 : nice > 19 ? 19 : nice;  // Linux clamps
    if (nice < attrs().nice && !privileged())
        return -err::kAcces;  // lowering needs CAP_SYS_NICE
    attrs().nice = nice;
    return 0;
}

// IOPRIO_PRIO_VALUE(class, data): class in bits 13..15, below it hints
// (bits 3..12, Linux >= 6.5) and the level (bits 0..2).
long sys_ioprio_get(const SyscallArgs& a) {
    long r = io_names_us(a.a0, a.a1);
    if (r <= 0)
        return r < 0 ? r : -err::kSrch;
    return attrs().ioprio;
}

long sys_ioprio_set(const SyscallArgs& a) {
    long r = io_names_us(a.a0, a.a1);
    if (r <= 0)
        return r < 0 ? r : -err::kSrch;
    auto prio = static_cast<uint32_t>(a.a2);
    uint32_t cls = (prio >> 13) & 7, level = prio & 7;
    constexpr uint32_t kNone = 0, kRt = 1, kBe = 2, kIdle = 3;
    switch (cls) {
    case kRt:
        if (!privileged())
            return -err::kPerm;
        [[fallthrough]];
    case kBe:
    case kIdle:
        break;
    case kNone:
        if (level)
            return -err::kInval;
        break;
    default:
        return -err::kInval;
    }
    attrs().ioprio = static_cast<uint16_t>(prio & 0xffff);
    return 0;
}

// 0xffffffff only asks; anything else sets it. The old value is returned.
long sys_personality(const SyscallArgs& a) {
    uint32_t old = attrs().personality;
    auto persona = static_cast<uint32_t>(a.a0);
    if (persona != 0xffffffffu)
        attrs().personality = persona;
    return old;
}

long sys_sched_setaffinity(const SyscallArgs& a) {
    if (static_cast<uint32_t>(a.a0) != 0 && static_cast<uint32_t>(a.a0) != current_process()->pid)
        return -err::kSrch;  // no EINVAL for negative pids here, unlike sched_setscheduler
    if (a.a1 == 0)
        return -err::kInval;
    // The VM's vCPUs are all in the first byte (at most 8). Accepted, not
    // enforced: tasks run on whichever vCPU is free (docs/compat.md).
    uint8_t first;
    if (copy_from_user(&first, a.a2, 1) < 0)
        return -err::kFault;
    return (first & ((1u << cpus_possible()) - 1)) ? 0 : -err::kInval;  // Linux: no allowed CPU left is EINVAL
}

long sys_sched_getscheduler(const SyscallArgs& a) {
    long r = sched_target(a.a0);
    return r < 0 ? r : attrs().policy;
}

long sys_sched_getparam(const SyscallArgs& a) {
    long r = sched_target(a.a0);
    if (r < 0)
        return r;
    if (a.a1 == 0)
        return -err::kInval;
    sched_param p{static_cast<int>(attrs().rt_priority)};
    return copy_to_user(a.a1, &p, sizeof p);
}

static long set_policy(uint64_t pid, int policy, uint64_t param_addr) {
    long r = sched_target(pid);
    if (r < 0)
        return r;
    if (param_addr == 0)
        return -err::kInval;
    sched_param p;
    if (copy_from_user(&p, param_addr, sizeof p) < 0)
        return -err::kFault;
    policy &= ~SCHED_RESET_ON_FORK;
    bool realtime = policy == SCHED_FIFO || policy == SCHED_RR;
    if (policy != SCHED_NORMAL && policy != SCHED_BATCH && policy != SCHED_IDLE && !realtime)
        return -err::kInval;
    if (realtime ? (p.sched_priority < 1 || p.sched_priority > 99) : p.sched_priority != 0)
        return -err::kInval;
    if (realtime && !privileged())
        return -err::kPerm;
    attrs().policy = static_cast<uint8_t>(policy);
    attrs().rt_priority = static_cast<uint8_t>(p.sched_priority);
    return 0;
}

long sys_sched_setscheduler(const SyscallArgs& a) {
    auto policy = static_cast<int32_t>(static_cast<uint32_t>(a.a1));
    if (policy < 0)
        return -err::kInval;
    return set_policy(a.a0, policy, a.a2);
}

long sys_sched_setparam(const SyscallArgs& a) { return set_policy(a.a0, attrs().policy, a.a1); }

long sys_sched_get_priority_max(const SyscallArgs& a) {
    switch (a.a0) {
    case SCHED_FIFO:
    case SCHED_RR:
        return 99;
    case SCHED_NORMAL:
    case SCHED_BATCH:
    case SCHED_IDLE:
    case SCHED_DEADLINE:
        return 0;
    default:
        return -err::kInval;
    }
}

long sys_sched_get_priority_min(const SyscallArgs& a) {
    long max = sys_sched_get_priority_max(a);
    return max == 99 ? 1 : max;
}

// SCHED_RR's time slice (Linux's default, 100 ms); 0 for the others.
long sys_sched_rr_get_interval(const SyscallArgs& a) {
    long r = sched_target(a.a0);
    if (r < 0)
        return r;
    __kernel_timespec ts{0, attrs().policy == SCHED_RR ? 100000000 : 0};
    return copy_to_user(a.a1, &ts, sizeof ts);
}

long sys_getcpu(const SyscallArgs& a) {
    const uint32_t cpu = this_cpu().id, node = 0;  // one NUMA node
    if ((a.a0 && copy_to_user(a.a0, &cpu, sizeof cpu) < 0) || (a.a1 && copy_to_user(a.a1, &node, sizeof node) < 0))
        return -err::kFault;
    return 0;
}

}  // namespace lightvm::guest

// User and group ids (man 2 setresuid, setgroups, ...): kept per process
// with Linux's permission rules, so programs that drop or check privileges
// (posix_spawn's POSIX_SPAWN_RESETIDS, su-like tools, daemons) behave as
// natively. The VM starts everything as root; these ids decide what the
// guest kernel allows, never what the host allows (docs/design.md).
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"

namespace lightvm::guest {

namespace {

constexpr uint32_t kKeep = 0xffffffffu;  // -1: leave this id as it is

uint32_t id_arg(uint64_t reg) { return static_cast<uint32_t>(reg); }

// An unprivileged process may only pick among its real, effective and saved ids.
bool may_set(uint32_t id, uint32_t r, uint32_t e, uint32_t s, bool privileged) {
    return id == kKeep || privileged || id == r || id == e || id == s;
}

// Privilege is decided before anything changes (root's euid, also for gids).
long set_res(uint32_t* real, uint32_t* eff, uint32_t* saved, uint32_t* fs, uint32_t r, uint32_t e, uint32_t s) {
    const bool priv = current_process()->cred.euid == 0;
    if (!may_set(r, *real, *eff, *saved, priv) || !may_set(e, *real, *eff, *saved, priv) ||
        !may_set(s, *real, *eff, *saved, priv))
        return -err::kPerm;
    if (r != kKeep)
        *real = r;
    if (e != kKeep)
        *eff = e;
    if (s != kKeep)
        *saved = s;
    *fs = *eff;
    return 0;
}

long put_ids(uint64_t a, uint64_t b, uint64_t c, uint32_t x, uint32_t y, uint32_t z) {
    if (UserPtr<uint32_t>(a).write(x) < 0 || UserPtr<uint32_t>(b).write(y) < 0 || UserPtr<uint32_t>(c).write(z) < 0)
        return -err::kFault;
    return 0;
}

Credentials& cred() { return current_process()->cred; }

// A uid change, then the capabilities that follow it (proc/caps.hpp).
long uid_change(long r, const Credentials& before) {
    if (r == 0)
        caps_fix_setuid(before);
    return r;
}

}  // namespace

void creds_boot(Credentials& c) {
    const abi::BootInfo& b = boot();
    c.uid = c.euid = c.suid = c.fsuid = b.user_uid;
    c.gid = c.egid = c.sgid = c.fsgid = b.user_gid;
    c.ngroups = 0;
    if (b.user_uid == 0 && b.user_gid == 0 && b.user_ngroups == 0)
        return;  // root, as always: no supplementary groups
    c.groups[c.ngroups++] = b.user_gid;
    for (uint32_t i = 0; i < b.user_ngroups && i < abi::kMaxUserGroups; ++i)
        c.groups[c.ngroups++] = b.user_groups[i];
}

long sys_getuid(const SyscallArgs&) { return cred().uid; }
long sys_geteuid(const SyscallArgs&) { return cred().euid; }
long sys_getgid(const SyscallArgs&) { return cred().gid; }
long sys_getegid(const SyscallArgs&) { return cred().egid; }

long sys_setresuid(const SyscallArgs& a) {
    Credentials& c = cred();
    const Credentials before = c;
    return uid_change(set_res(&c.uid, &c.euid, &c.suid, &c.fsuid, id_arg(a.a0), id_arg(a.a1), id_arg(a.a2)), before);
}
long sys_setresgid(const SyscallArgs& a) {
    Credentials& c = cred();
    return set_res(&c.gid, &c.egid, &c.sgid, &c.fsgid, id_arg(a.a0), id_arg(a.a1), id_arg(a.a2));
}
long sys_getresuid(const SyscallArgs& a) { return put_ids(a.a0, a.a1, a.a2, cred().uid, cred().euid, cred().suid); }
long sys_getresgid(const SyscallArgs& a) { return put_ids(a.a0, a.a1, a.a2, cred().gid, cred().egid, cred().sgid); }

// setuid: root sets all three; others only the effective id.
long sys_setuid(const SyscallArgs& a) {
    uint32_t id = id_arg(a.a0);
    if (id == kKeep)
        return -err::kInval;
    Credentials& c = cred();
    const Credentials before = c;
    if (c.euid == 0)
        return uid_change(set_res(&c.uid, &c.euid, &c.suid, &c.fsuid, id, id, id), before);
    return uid_change(set_res(&c.uid, &c.euid, &c.suid, &c.fsuid, kKeep, id, kKeep), before);
}
long sys_setgid(const SyscallArgs& a) {
    uint32_t id = id_arg(a.a0);
    if (id == kKeep)
        return -err::kInval;
    Credentials& c = cred();
    if (c.euid == 0) {
        c.gid = c.egid = c.sgid = c.fsgid = id;
        return 0;
    }
    if (id != c.gid && id != c.sgid)
        return -err::kPerm;
    c.egid = c.fsgid = id;
    return 0;
}
long sys_setreuid(const SyscallArgs& a) {
    Credentials& c = cred();
    uint32_t r = id_arg(a.a0), e = id_arg(a.a1);
    // The saved id follows the new effective id when the real one is set
    // or the effective one changes to something else than the old real id.
    uint32_t s = (r != kKeep || (e != kKeep && e != c.uid)) ? (e != kKeep ? e : c.euid) : kKeep;
    const Credentials before = c;
    return uid_change(set_res(&c.uid, &c.euid, &c.suid, &c.fsuid, r, e, s), before);
}
long sys_setregid(const SyscallArgs& a) {
    Credentials& c = cred();
    if (c.euid != 0)
        return -err::kPerm;
    uint32_t r = id_arg(a.a0), e = id_arg(a.a1);
    if (r != kKeep)
        c.gid = r;
    if (e != kKeep)
        c.egid = c.sgid = c.fsgid = e;
    return 0;
}
// setfsuid/setfsgid return the old value, whatever happens.
long sys_setfsuid(const SyscallArgs& a) {
    Credentials& c = cred();
    const Credentials before = c;
    uint32_t id = id_arg(a.a0);
    if (c.euid == 0 || id == c.uid || id == c.euid || id == c.suid || id == c.fsuid) {
        c.fsuid = id;
        caps_fix_setuid(before);
    }
    return before.fsuid;
}
long sys_setfsgid(const SyscallArgs& a) {
    Credentials& c = cred();
    uint32_t old = c.fsgid, id = id_arg(a.a0);
    if (c.euid == 0 || id == c.gid || id == c.egid || id == c.sgid)
        c.fsgid = id;
    return old;
}

long sys_getgroups(const SyscallArgs& a) {
    const Credentials& c = cred();
    int32_t size = static_cast<int32_t>(a.a0);
    if (size < 0)
        return -err::kInval;
    if (size == 0)
        return c.ngroups;
    if (static_cast<uint32_t>(size) < c.ngroups)
        return -err::kInval;
    return copy_to_user(a.a1, c.groups, c.ngroups * sizeof(uint32_t)) < 0 ? -err::kFault : c.ngroups;
}

long sys_setgroups(const SyscallArgs& a) {
    Credentials& c = cred();
    if (c.euid != 0)
        return -err::kPerm;
    if (a.a0 > kMaxGroups)
        return -err::kInval;  // Linux allows 65536; more than 32 here is refused, not cut
    uint32_t n = static_cast<uint32_t>(a.a0);
    uint32_t groups[kMaxGroups];
    if (n && copy_from_user(groups, a.a1, n * sizeof(uint32_t)) < 0)
        return -err::kFault;
    memcpy(c.groups, groups, n * sizeof(uint32_t));
    c.ngroups = n;
    return 0;
}

}  // namespace lightvm::guest

// generic_permission and its neighbours, as Linux decides them.
#include "kernel/fs/permission.hpp"

#include "kernel/errno.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

bool is_dir(const Stat& st) { return (st.mode & S_IFMT) == S_IFDIR; }

bool in_groups(const Asker& who, uint32_t gid) {
    if (gid == who.gid)
        return true;
    for (uint32_t i = 0; i < who.ngroups; ++i)
        if (who.groups[i] == gid)
            return true;
    return false;
}

// The class bits that apply: owner, else group, else others (a member of
// the group who is not the owner gets only the group's bits, as on Linux).
uint32_t class_bits(const Asker& who, const Stat& st) {
    if (who.uid == st.uid)
        return (st.mode >> 6) & 7;
    if (in_groups(who, st.gid))
        return (st.mode >> 3) & 7;
    return st.mode & 7;
}

}  // namespace

Asker asker_fs() {
    const Credentials& c = current_process()->cred;
    return {c.fsuid, c.fsgid, c.groups, c.ngroups, capable(CAP_DAC_OVERRIDE), capable(CAP_DAC_READ_SEARCH)};
}

// access(2): the real ids; a real uid of 0 keeps root's overrides.
Asker asker_real() {
    const Credentials& c = current_process()->cred;
    bool root = c.uid == 0;
    return {c.uid, c.gid, c.groups, c.ngroups, root, root};
}

bool perm_restricted() { return !capable(CAP_DAC_OVERRIDE) || !capable(CAP_DAC_READ_SEARCH); }

long perm_may(const Asker& who, const Stat& st, int mask) {
    mask &= 7;
    if ((class_bits(who, st) & mask) == static_cast<uint32_t>(mask))
        return 0;
    if (who.dac_override) {
        // Execution still needs some x bit (directories are searchable).
        if (!(mask & kMayExec) || is_dir(st) || (st.mode & 0111))
            return 0;
    }
    if (who.dac_read_search && !(mask & kMayWrite) && (!(mask & kMayExec) || is_dir(st)))
        return 0;
    return -err::kAcces;
}

bool perm_owner(const Stat& st) { return current_process()->cred.fsuid == st.uid || capable(CAP_FOWNER); }

bool perm_in_group(uint32_t gid) { return in_groups(asker_fs(), gid); }

long perm_chmod(const Stat& st, uint32_t* mode) {
    if (!perm_owner(st))
        return -err::kPerm;
    if ((*mode & S_ISGID) && !perm_in_group(st.gid) && !capable(CAP_FSETID))
        *mode &= ~static_cast<uint32_t>(S_ISGID);
    return 0;
}

long perm_chown(const Stat& st, int64_t uid, int64_t gid) {
    if (capable(CAP_CHOWN))
        return 0;
    const Credentials& c = current_process()->cred;
    // Without CAP_CHOWN: only the owner, only to keep the owner, and only
    // to a group it is in.
    if (uid != -1 && static_cast<uint32_t>(uid) != st.uid)
        return -err::kPerm;
    if (gid != -1 && static_cast<uint32_t>(gid) != st.gid && (c.fsuid != st.uid || !perm_in_group(gid)))
        return -err::kPerm;
    if ((uid != -1 || gid != -1) && c.fsuid != st.uid)
        return -err::kPerm;
    return 0;
}

long perm_utimes(const Stat& st, bool explicit_times) {
    if (perm_owner(st))
        return 0;
    if (explicit_times)
        return -err::kPerm;
    return perm_may(st, kMayWrite);
}

long perm_remove(const Stat& dir, const Stat& victim) {
    if (long r = perm_may(dir, kMayWrite | kMayExec); r < 0)
        return r;
    const uint32_t fsuid = current_process()->cred.fsuid;
    if ((dir.mode & S_ISVTX) && fsuid != victim.uid && fsuid != dir.uid && !capable(CAP_FOWNER))
        return -err::kPerm;
    return 0;
}

}  // namespace lightvm::guest

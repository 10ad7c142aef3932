// capget/capset with Linux's header versions and checks (man 2 capget).
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/proc/task.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

uint64_t caps_all() { return (uint64_t{1} << (CAP_LAST_CAP + 1)) - 1; }
uint64_t caps_effective() { return caps_all() & ~current_process()->attrs.cap_eff_dropped; }
bool capable(unsigned cap) { return cap <= CAP_LAST_CAP && (caps_effective() >> cap) & 1; }

namespace {

// CAP_FS_MASK of Linux: what follows fsuid between 0 and non-0.
constexpr uint64_t kFsCaps = (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_DAC_READ_SEARCH) |
                             (1ull << CAP_FOWNER) | (1ull << CAP_FSETID) | (1ull << CAP_LINUX_IMMUTABLE) |
                             (1ull << CAP_MKNOD) | (1ull << CAP_MAC_OVERRIDE);

void set_effective(uint64_t eff) { current_process()->attrs.cap_eff_dropped = caps_all() & ~eff; }
void set_permitted(uint64_t prm) { current_process()->attrs.cap_prm_dropped = caps_all() & ~prm; }

uint64_t caps_permitted() { return caps_all() & ~current_process()->attrs.cap_prm_dropped; }

// The header: in *words how many 32-bit words each set has (1 for version
// 1, 2 for versions 2 and 3), in *pid its pid; -EINVAL after writing the
// preferred version back.
long check_header(uint64_t user_hdr, int* words, int* pid) {
    __user_cap_header_struct h;
    if (copy_from_user(&h, user_hdr, sizeof h) < 0)
        return -err::kFault;
    switch (h.version) {
    case _LINUX_CAPABILITY_VERSION_1:
        *words = 1;
        break;
    case _LINUX_CAPABILITY_VERSION_2:
    case _LINUX_CAPABILITY_VERSION_3:
        *words = 2;
        break;
    default:
        h.version = _LINUX_CAPABILITY_VERSION_3;
        return copy_to_user(user_hdr, &h, sizeof h) < 0 ? -err::kFault : -err::kInval;
    }
    *pid = h.pid;
    return 0;
}

// The pid in a valid header: 0 or one's own (no other process to ask about).
long check_pid(int pid) {
    if (pid < 0)
        return -err::kInval;
    if (pid != 0 && static_cast<uint32_t>(pid) != current_process()->pid)
        return -err::kSrch;
    return 0;
}

}  // namespace

void caps_fix_setuid(const Credentials& old) {
    const Credentials& c = current_process()->cred;
    const bool was_root = old.uid == 0 || old.euid == 0 || old.suid == 0;
    const bool is_root = c.uid == 0 || c.euid == 0 || c.suid == 0;
    if (was_root && !is_root) {
        if (!current_process()->attrs.keepcaps)
            set_permitted(0);
        set_effective(0);
    }
    if (old.euid == 0 && c.euid != 0)
        set_effective(0);
    if (old.euid != 0 && c.euid == 0)
        set_effective(caps_permitted());
    if (old.fsuid == 0 && c.fsuid != 0)
        set_effective(caps_effective() & ~kFsCaps);
    if (old.fsuid != 0 && c.fsuid == 0)
        set_effective(caps_effective() | (caps_permitted() & kFsCaps));
}

void caps_on_exec() {
    const Credentials& c = current_process()->cred;
    if (c.uid == 0 || c.euid == 0) {
        set_permitted(caps_all());
        set_effective(c.euid == 0 ? caps_all() : 0);
    } else {
        set_permitted(0);
        set_effective(0);
    }
}

long sys_capget(const SyscallArgs& a) {
    int words, pid;
    long r = check_header(a.a0, &words, &pid);
    if (!a.a1)  // a NULL data pointer asks for the preferred version (Linux: then 0)
        return r == -err::kInval ? 0 : r;
    if (r < 0 || (r = check_pid(pid)) < 0)
        return r;
    __user_cap_data_struct d[2] = {};
    const uint64_t sets[3] = {caps_effective(), caps_permitted(), current_process()->attrs.cap_inheritable};
    for (int i = 0; i < words; ++i) {
        d[i].effective = static_cast<uint32_t>(sets[0] >> (32 * i));
        d[i].permitted = static_cast<uint32_t>(sets[1] >> (32 * i));
        d[i].inheritable = static_cast<uint32_t>(sets[2] >> (32 * i));
    }
    return copy_to_user(a.a1, d, words * sizeof d[0]) < 0 ? -err::kFault : 0;
}

long sys_capset(const SyscallArgs& a) {
    int words, pid;
    long r = check_header(a.a0, &words, &pid);
    if (r < 0)
        return r;
    if ((r = check_pid(pid)) < 0)
        return r == -err::kSrch ? -err::kPerm : r;  // only one's own capabilities can be set
    __user_cap_data_struct d[2] = {};
    if (copy_from_user(d, a.a1, words * sizeof d[0]) < 0)
        return -err::kFault;
    uint64_t eff = 0, prm = 0, inh = 0;
    for (int i = 0; i < words; ++i) {
        eff |= uint64_t{d[i].effective} << (32 * i);
        prm |= uint64_t{d[i].permitted} << (32 * i);
        inh |= uint64_t{d[i].inheritable} << (32 * i);
    }
    if (words == 1) {  // version 1 leaves the upper words as they are
        eff |= caps_effective() & ~uint64_t{UINT32_MAX};
        prm |= caps_permitted() & ~uint64_t{UINT32_MAX};
        inh |= current_process()->attrs.cap_inheritable & ~uint64_t{UINT32_MAX};
    }
    eff &= caps_all();
    prm &= caps_all();
    inh &= caps_all();
    ProcAttrs& at = current_process()->attrs;
    // Linux's cap_capset: permitted may only shrink, effective stays within
    // it, inheritable within the old inheritable and permitted (or the
    // bounding set, with CAP_SETPCAP: here the full set).
    if (prm & ~caps_permitted())
        return -err::kPerm;
    if (eff & ~prm)
        return -err::kPerm;
    uint64_t inh_limit = capable(CAP_SETPCAP) ? caps_all() : (at.cap_inheritable | caps_permitted());
    if (inh & ~inh_limit)
        return -err::kPerm;
    at.cap_eff_dropped = caps_all() & ~eff;
    at.cap_prm_dropped = caps_all() & ~prm;
    at.cap_inheritable = inh;
    return 0;
}

}  // namespace lightvm::guest

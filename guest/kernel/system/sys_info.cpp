// System information and randomness: answered from the boot page, no exits.
#include "kernel/errno.hpp"
#include "kernel/kernel.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/mm/uaccess.hpp"
#include "kernel/proc/caps.hpp"
#include "kernel/syscalls/frame.hpp"
#include "kernel/time/clock.hpp"
#include "kernel/uapi.hpp"
#include "lib/chacha20.hpp"

namespace lightvm::guest {

static ChaCha20Rng g_rng;
ChaCha20Rng& kernel_rng();

static void copy_field(char* dst, const char* src) {
    size_t n = strlen(src);
    if (n > __NEW_UTS_LEN)
        n = __NEW_UTS_LEN;
    memcpy(dst, src, n);
    dst[n] = 0;
}

// The VM's UTS names (one namespace per VM): the host name starts as the
// boot page's (--hostname, else "lightvm"), the NIS domain as "(none)", as
// on Linux; sethostname/setdomainname change them for everything in the VM.
struct UtsNames {
    bool ready;
    char nodename[__NEW_UTS_LEN + 1];
    char domainname[__NEW_UTS_LEN + 1];
};
static UtsNames g_uts;

static UtsNames& uts() {
    if (!g_uts.ready) {
        copy_field(g_uts.nodename, boot().hostname[0] ? boot().hostname : "lightvm");
        copy_field(g_uts.domainname, "(none)");
        g_uts.ready = true;
    }
    return g_uts;
}

long sys_uname(const SyscallArgs& a) {
    new_utsname u{};
    copy_field(u.sysname, "Linux");
    copy_field(u.nodename, uts().nodename);
    copy_field(u.release, "6.1.0-lightvm");
    copy_field(u.version, "#1 SMP lightvm guest kernel");
    copy_field(u.machine, "x86_64");
    copy_field(u.domainname, uts().domainname);
    return UserPtr<new_utsname>(a.a0).write(u);
}

// sethostname/setdomainname(name, len): CAP_SYS_ADMIN, len <= 64, the name
// need not be NUL-terminated.
static long set_uts(char* field, uint64_t user_name, uint64_t len) {
    if (!capable(CAP_SYS_ADMIN))
        return -err::kPerm;
    if (static_cast<int64_t>(len) < 0 || len > __NEW_UTS_LEN)
        return -err::kInval;
    char tmp[__NEW_UTS_LEN + 1] = {};
    if (copy_from_user(tmp, user_name, len) < 0)
        return -err::kFault;
    memcpy(field, tmp, sizeof tmp);
    return 0;
}
long sys_sethostname(const SyscallArgs& a) { return set_uts(uts().nodename, a.a0, a.a1); }
long sys_setdomainname(const SyscallArgs& a) { return set_uts(uts().domainname, a.a0, a.a1); }

long sys_sysinfo(const SyscallArgs& a) {
    struct sysinfo s{};
    s.uptime = int64_t(boottime_ns() / 1000000000);
    s.totalram = boot().mem_size;
    uint64_t used = mem_used();
    s.freeram = used < s.totalram ? s.totalram - used : 0;
    s.procs = 1;
    s.mem_unit = 1;
    return UserPtr<struct sysinfo>(a.a0).write(s);
}

long sys_getrandom(const SyscallArgs& a) {
    constexpr uint64_t kValidFlags = GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE;
    if (a.a2 & ~kValidFlags)
        return -err::kInval;
    uint64_t len = a.a1 > 33554431 ? 33554431 : a.a1;  // Linux caps one call at 32 MiB - 1
    if (!access_ok_write(a.a0, len))
        return -err::kFault;
    kernel_rng().fill(reinterpret_cast<void*>(a.a0), len);
    return static_cast<long>(len);
}

// A VM restored from a snapshot continues with the snapshot's generator
// state: every clone of one snapshot would hand out the same "random"
// bytes. The monitor writes a fresh seed and bumps the generation on each
// restore (abi.h), and every user of the generator (getrandom, /dev/urandom,
// AT_RANDOM of later execs, ASLR) goes through here, so the first draw
// after a restore comes from the new seed.
ChaCha20Rng& kernel_rng() {
    static uint32_t seen_generation;
    const uint32_t generation = *static_cast<volatile uint32_t*>(&boot().clone_generation);
    if (generation != seen_generation) {
        seen_generation = generation;
        g_rng.seed(boot().random_seed);
    }
    return g_rng;
}

void random_init() { g_rng.seed(boot().random_seed); }

}  // namespace lightvm::guest

// The monitor's sandbox ("jailer"): entered once the VM is built and before
// the guest's first instruction, it drops everything the vCPU loop and the
// devices will not need again. Irreversible for the calling process.
//
//   1. --uid/--gid: switch to an unprivileged user (root only);
//   2. every capability dropped (effective, permitted, inheritable, ambient,
//      bounding set);
//   3. PR_SET_NO_NEW_PRIVS;
//   4. Landlock (Linux 5.13+, where enabled): files may be opened only below
//      the shares' host directories; no TCP, no signals or abstract sockets
//      outside this process (where the kernel supports those scopes);
//   5. a seccomp-BPF allow-list (allow_list.hpp, compiled at build time):
//      any other system call stops the monitor with one line on stderr and
//      exit status 159 (128 + SIGSYS). Without a host network, socket,
//      bind, listen and connect are not on it.
// See docs/security.md for the threat model and the list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lightvm::sandbox {

struct Policy {
    struct Dir {
        int fd = -1;  // borrowed: an open directory, or a single file (a file share), O_PATH is enough
        bool read_only = false;
    };
    std::vector<Dir> dirs;          // the only host directories files may be opened below
    std::optional<uint32_t> uid;    // switch to these ids (needs root)
    std::optional<uint32_t> gid;
    bool host_network = false;      // --net host, user, ns: sockets may be made (seccomp), TCP bind/connect (Landlock)
    // --user with a root monitor: keep the file capabilities (CAP_CHOWN,
    // CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID) so the
    // guest's users own what they create and the monitor reads their
    // files; still confined to the shares by Landlock. Ignored without
    // root or with uid (a uid change drops every capability).
    bool keep_file_caps = false;
    // Called (async-signal-safe work only) when a violation stops the
    // process: the host terminal's settings go back (HostTty::restore_changed).
    void (*last_words)() = nullptr;
};

// The guest's user is not root and a share passes ownership through to the
// host: a root monitor should keep the file capabilities
// (Policy::keep_file_caps). Mapped shares never change a host owner.
bool wants_file_caps(uint32_t guest_uid, uint32_t guest_gid, bool passthrough_share);

struct Entered {
    int landlock_abi = 0;  // 0: Landlock not available here (paths not confined by it)
    bool ids_changed = false;
};

Result<Entered> enter(const Policy& policy);

// Leaves the host's network, IPC and UTS namespaces for new ones of this
// process's own. ~0.55 ms here (the network namespace ~0.5 ms of it), so
// only where that is off the start path: a lightvmd shell waiting in its
// pool (docs/security.md, "Namespaces"). The process must never need a
// host socket afterwards. False, changing nothing, without CAP_SYS_ADMIN.
Result<bool> leave_host_namespaces();

// The exit status of a monitor stopped by a sandbox violation.
inline constexpr int kViolationStatus = 128 + 31;  // SIGSYS

}  // namespace lightvm::sandbox

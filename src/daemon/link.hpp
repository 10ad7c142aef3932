// Messages between lightvmd and a monitor process: one JSON object per
// SOCK_SEQPACKET message (boundaries kept by the kernel), optionally with
// file descriptors attached (SCM_RIGHTS).
#pragma once

#include <csignal>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace lightvm::daemon {

inline constexpr size_t kMaxMessage = 256 * 1024;
inline constexpr size_t kMaxFds = 8;

// lightvmd -> a running monitor: "a save request is waiting on the link"
// (docs/api.md, snapshots). A realtime signal: no other meaning to clash with.
inline int save_signal() { return SIGRTMIN + 4; }

Result<void> send_message(int sock, const std::string& text, const std::vector<int>& fds = {});

struct Message {
    std::string text;           // empty with eof = true: the peer is gone
    std::vector<UniqueFd> fds;
    bool eof = false;
};
// Blocks (EINTR is retried unless `interruptible`).
Result<Message> recv_message(int sock, bool interruptible = false);

// A background VM's way back to a restarted lightvmd: its monitor listens
// on VMDIR/link.sock (non-blocking, so taking a connection never waits); a
// new daemon connects there, and the monitor takes the newest connection
// as its link before it reads the next save or migrate request
// (daemon/recovery.cpp). Paths go through /proc/self/fd/DIR, so a long
// state directory does not hit sun_path's 108 bytes.
Result<UniqueFd> relink_listen(int vm_dir_fd);
Result<UniqueFd> relink_connect(const std::string& vm_dir);

}  // namespace lightvm::daemon

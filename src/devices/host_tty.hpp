// The host terminal the guest's stdio is on, host half of kHcTty (abi.h):
// the guest's TCSETS* and TIOCSWINSZ reach it, SIGWINCH reads its size, and
// whatever the guest changed is put back when the VM ends.
#pragma once

#include <termios.h>
#include <sys/ioctl.h>

#include <cstdint>

#include "lightvm/abi.h"

namespace lightvm {

class HostTty {
public:
    // The first of the three fds that is a terminal; none: every change is
    // ENOTTY. Nothing is read or changed yet.
    HostTty(int stdin_fd, int stdout_fd, int stderr_fd);
    HostTty(const HostTty&) = delete;
    HostTty& operator=(const HostTty&) = delete;
    ~HostTty() { restore(); }

    bool present() const { return m_fd >= 0; }
    // One kHcTty request, validated field by field: 0 or -errno.
    int64_t apply(const abi::HcTty& req);
    // The terminal's window size now (SIGWINCH) into s.rows..s.ypixel.
    bool window_size(abi::TtyState& s) const;
    // The settings and size as they were before the guest's first change.
    // Idempotent; never blocks on unread output (TCSANOW).
    void restore();
    // restore() of the terminal a running VM changed, if any: for a process
    // about to die (the sandbox's violation handler). Async-signal-safe.
    static void restore_changed();

private:
    int64_t set_attr(uint32_t when, const abi::TtyState& s);
    int64_t set_winsize(const abi::TtyState& s);

    int m_fd = -1;
    bool m_attr_saved = false;  // m_original holds the settings to restore
    termios m_original{};
    bool m_ws_saved = false;
    winsize m_ws_original{}, m_ws_set{};
};

}  // namespace lightvm

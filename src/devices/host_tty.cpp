#include "devices/host_tty.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "common/stop.hpp"

namespace lightvm {

namespace {

// Linux's flag bits must all be inside the masks the guest is held to.
static_assert(((IGNBRK | ICRNL | IXON | IXOFF | IMAXBEL | IUTF8) & ~abi::kTtyIflagMask) == 0);
static_assert(((OPOST | FFDLY | VTDLY | BSDLY | TABDLY | CRDLY | NLDLY) & ~abi::kTtyOflagMask) == 0);
static_assert(((CBAUD | CSIZE | CSTOPB | CREAD | PARENB | PARODD | HUPCL | CLOCAL | CIBAUD | CMSPAR | CRTSCTS) &
               ~abi::kTtyCflagMask) == 0);
static_assert(((ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHONL | NOFLSH | TOSTOP | ECHOCTL | ECHOPRT | ECHOKE |
                FLUSHO | PENDIN | IEXTEN | EXTPROC) & ~abi::kTtyLflagMask) == 0);

// The terminal a VM has changed and not yet restored (one at a time: one
// terminal per process in practice).
std::atomic<HostTty*> g_changed{nullptr};

bool no_winsize(const abi::TtyState& s) { return !s.rows && !s.cols && !s.xpixel && !s.ypixel; }

bool no_termios(const abi::TtyState& s) {
    return !s.iflag && !s.oflag && !s.cflag && !s.lflag && !s.line &&
           std::all_of(s.cc, s.cc + sizeof s.cc, [](uint8_t c) { return c == 0; });
}

bool flags_known(const abi::TtyState& s) {
    return !(s.iflag & ~abi::kTtyIflagMask) && !(s.oflag & ~abi::kTtyOflagMask) &&
           !(s.cflag & ~abi::kTtyCflagMask) && !(s.lflag & ~abi::kTtyLflagMask);
}

// A --save's kick is not the guest's business: only a stop interrupts a
// drain that waits (common/stop.hpp).
int retry_paused(int rc) { return rc < 0 && errno == EINTR && pause_only() ? -2 : rc; }

// SIGTTOU blocked: a lightvm in the background still puts its terminal
// back (Linux lets a job that blocks SIGTTOU change the settings).
class NoTtou {
public:
    NoTtou() {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGTTOU);
        ::pthread_sigmask(SIG_BLOCK, &s, &m_old);
    }
    ~NoTtou() { ::pthread_sigmask(SIG_SETMASK, &m_old, nullptr); }

private:
    sigset_t m_old;
};

}  // namespace

HostTty::HostTty(int stdin_fd, int stdout_fd, int stderr_fd) {
    for (int fd : {stdin_fd, stdout_fd, stderr_fd})
        if (fd >= 0 && ::isatty(fd)) {
            m_fd = fd;
            return;
        }
}

int64_t HostTty::apply(const abi::HcTty& req) {
    if (req.state.reserved)
        return -EINVAL;
    switch (req.op) {
    case abi::kTtySetAttr:
        if (req.when > abi::kTtyFlush || !no_winsize(req.state) || !flags_known(req.state))
            return -EINVAL;
        return set_attr(req.when, req.state);
    case abi::kTtySetWinsize:
        if (req.when || !no_termios(req.state))
            return -EINVAL;
        return set_winsize(req.state);
    default:
        return -EINVAL;
    }
}

int64_t HostTty::set_attr(uint32_t when, const abi::TtyState& s) {
    if (m_fd < 0)
        return -ENOTTY;
    // From the terminal's own settings: glibc's termios has more than
    // Linux's (c_cc beyond 19, speeds), which keep their values.
    termios t{};
    if (::tcgetattr(m_fd, &t) != 0)
        return -errno;
    if (s.line != t.c_line)  // TCSETS never changes the line discipline (TIOCSETD does)
        return -EINVAL;
    if (!m_attr_saved) {
        m_original = t;
        m_attr_saved = true;
        g_changed = this;
    }
    t.c_iflag = s.iflag;
    t.c_oflag = s.oflag;
    t.c_cflag = s.cflag;
    t.c_lflag = s.lflag;
    std::copy(s.cc, s.cc + sizeof s.cc, t.c_cc);
    static constexpr int kWhen[] = {TCSANOW, TCSADRAIN, TCSAFLUSH};
    int rc;
    while ((rc = retry_paused(::tcsetattr(m_fd, kWhen[when], &t))) == -2) {
    }
    return rc < 0 ? -errno : 0;
}

int64_t HostTty::set_winsize(const abi::TtyState& s) {
    if (m_fd < 0)
        return -ENOTTY;
    if (!m_ws_saved) {
        if (::ioctl(m_fd, TIOCGWINSZ, &m_ws_original) != 0)
            return -errno;
        m_ws_saved = true;
        g_changed = this;
    }
    winsize ws{s.rows, s.cols, s.xpixel, s.ypixel};
    if (::ioctl(m_fd, TIOCSWINSZ, &ws) != 0)
        return -errno;
    m_ws_set = ws;
    return 0;
}

bool HostTty::window_size(abi::TtyState& s) const {
    winsize ws{};
    if (m_fd < 0 || ::ioctl(m_fd, TIOCGWINSZ, &ws) != 0)
        return false;
    s.rows = ws.ws_row;
    s.cols = ws.ws_col;
    s.xpixel = ws.ws_xpixel;
    s.ypixel = ws.ws_ypixel;
    return true;
}

void HostTty::restore_changed() {
    if (HostTty* t = g_changed.exchange(nullptr))
        t->restore();
}

void HostTty::restore() {
    if (!m_attr_saved && !m_ws_saved)
        return;
    HostTty* self = this;
    g_changed.compare_exchange_strong(self, nullptr);
    NoTtou no_ttou;
    if (m_attr_saved) {
        while (::tcsetattr(m_fd, TCSANOW, &m_original) != 0 && errno == EINTR) {
        }
        m_attr_saved = false;
    }
    // The size only if it is still the guest's: a resize by the user since
    // is the terminal's real size.
    winsize now{};
    if (m_ws_saved && ::ioctl(m_fd, TIOCGWINSZ, &now) == 0 && now.ws_row == m_ws_set.ws_row &&
        now.ws_col == m_ws_set.ws_col && now.ws_xpixel == m_ws_set.ws_xpixel && now.ws_ypixel == m_ws_set.ws_ypixel)
        (void)::ioctl(m_fd, TIOCSWINSZ, &m_ws_original);
    m_ws_saved = false;
}

}  // namespace lightvm

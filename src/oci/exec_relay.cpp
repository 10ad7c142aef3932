#include "oci/exec_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "monitor/exec_channel.hpp"

namespace lightvm::oci {

namespace {

int g_signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
    const int saved = errno;
    (void)!::write(g_signal_pipe[1], &sig, sizeof sig);
    errno = saved;
}

// Signals that go to the guest process instead of ending the relay.
void forward_signals() {
    if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return;
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGCONT, SIGWINCH})
        ::sigaction(sig, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);  // a closed stdout of ours only drops the output
}

// Our terminal's size, to the guest's terminal (ExecResizeMsg).
void send_size(int control) {
    winsize ws{};
    if (::ioctl(0, TIOCGWINSZ, &ws) != 0 || (!ws.ws_row && !ws.ws_col))
        return;  // no size yet (process.consoleSize gave the first one)
    ExecResizeMsg m;
    m.rows = ws.ws_row;
    m.cols = ws.ws_col;
    (void)::send(control, &m, sizeof m, MSG_NOSIGNAL);
}

int exit_status_of(int wait_status) {
    return (wait_status & 0x7f) ? 128 + (wait_status & 0x7f) : (wait_status >> 8) & 0xff;
}

// One copy step from `from` to `to`; false at end of input (or error).
bool pump(int from, int to) {
    char buf[65536];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0)
        return false;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return true;  // our reader went away: the output is dropped, the process goes on
        off += w;
    }
    return true;
}

}  // namespace

void relay_exec(RelayFds f) {
    forward_signals();
    if (f.tty) {
        // The console's pty as our controlling terminal, so that the
        // shim's resize reaches us (SIGWINCH) and goes on to the guest.
        ::setsid();
        (void)::ioctl(0, TIOCSCTTY, 1);
        send_size(f.control);
    }
    enum { kCtl, kSig, kIn, kOut, kErr, kCount };
    pollfd p[kCount] = {{f.control, POLLIN, 0}, {g_signal_pipe[0], POLLIN, 0}, {0, POLLIN, 0},
                        {f.out, POLLIN, 0},     {f.err, POLLIN, 0}};
    bool have_status = false;
    int status = 137;  // the VM ended under it, as runc's exec of a container that stops
    for (;;) {
        const bool outputs_open = p[kOut].fd >= 0 || p[kErr].fd >= 0;
        if (have_status && !outputs_open)
            break;
        // After the end, output still in flight is drained; a background
        // child holding the sockets open does not keep us.
        int n = ::poll(p, kCount, have_status ? 200 : -1);
        if (n < 0)
            continue;
        if (n == 0 && have_status)
            break;
        if (p[kSig].revents & POLLIN) {
            int sig;
            while (::read(g_signal_pipe[0], &sig, sizeof sig) == sizeof sig) {
                if (sig == SIGWINCH && f.tty)
                    send_size(f.control);  // the guest's terminal sends its own SIGWINCH
                else
                    (void)::send(f.control, &sig, sizeof sig, MSG_NOSIGNAL);
            }
        }
        if (p[kIn].revents && !pump(0, f.in)) {
            ::shutdown(f.in, SHUT_WR);  // the guest reads end of file
            p[kIn].fd = -1;
        }
        for (int i : {kOut, kErr})
            if (p[i].revents && !pump(p[i].fd, i == kOut ? 1 : 2))
                p[i].fd = -1;
        if (p[kCtl].revents) {
            ExecReply r{};
            ssize_t got = ::recv(f.control, &r, sizeof r, 0);
            if (got == sizeof r && r.kind == kExecExited) {
                status = exit_status_of(r.value);
            } else if (got == sizeof r && r.kind == kExecRefused) {
                std::fprintf(stderr, "lightvm-oci: exec: the VM refused the process (%s)\n", std::strerror(r.value));
                status = 255;
            }
            have_status = true;
            p[kCtl].fd = -1;
        }
    }
    ::_exit(status);
}

}  // namespace lightvm::oci

// The terminal ioctls of both ends of a pty (man 2 ioctl_tty): settings,
// window size, foreground group, controlling terminal, queue sizes and
// flushes, and the master's Unix98 requests (TIOCGPTN, TIOCSPTLCK,
// TIOCGPTLCK; TIOCGPTPEER opens a file, so tty/pty.cpp does it).
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct OpenFile;
struct Pty;

long pty_ioctl(OpenFile* f, uint64_t request, uint64_t arg);
// TIOCSWINSZ's effect: a new size, and SIGWINCH for the foreground group
// if it changed (the host's terminal resized, exec/exec_tty.cpp).
void pty_resize(Pty* p, uint16_t rows, uint16_t cols);

}  // namespace lightvm::guest

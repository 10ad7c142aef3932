// The terminal ioctls of both ends of a pty (man 2 ioctl_tty): settings,
// window size, foreground group, controlling terminal, queue sizes and
// flushes, and the master's Unix98 requests (TIOCGPTN, TIOCSPTLCK,
// TIOCGPTLCK; TIOCGPTPEER opens a file, so tty/pty.cpp does it).
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct OpenFile;

long pty_ioctl(OpenFile* f, uint64_t request, uint64_t arg);

}  // namespace lightvm::guest

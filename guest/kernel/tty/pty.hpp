// Pseudo-terminal files: the master (/dev/ptmx) and the slave
// (/dev/pts/N) ends of a pair (tty/pty_pool.hpp), as Linux's Unix98 ptys
// behave: reads and writes block (or EAGAIN) through each end's wait
// queue, which poll, select and epoll use too; closing the master hangs
// the slave up (its reads return 0, writes EIO, its session leader gets
// SIGHUP); once every slave is closed, master reads return EIO.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct OpenFile;
struct Pty;

// open("/dev/ptmx"): a new pair's master (open flags: access mode,
// O_NONBLOCK), not installed as a descriptor.
long pty_open_master(uint32_t flags, OpenFile** out);
// open("/dev/pts/N") and TIOCGPTPEER: a new open file of p's slave. EIO
// while p is locked (TIOCSPTLCK). Without O_NOCTTY it may become the
// caller's controlling terminal (tty/ctty.hpp).
long pty_open_slave(Pty* p, uint32_t flags, OpenFile** out);
// The slave opened as /dev/tty: the same terminal, but fstat and
// /proc/PID/fd show /dev/tty's node (5:0), as Linux does.
inline constexpr uint32_t kPtyAsDevTty = 1;  // OpenFile::device of such a file
// The pair behind a pty file (master or slave), or nullptr.
Pty* pty_of(const OpenFile* f);

}  // namespace lightvm::guest

// The guest's pseudo-terminal pairs (Unix98: /dev/ptmx makes one, its
// slave is /dev/pts/N): the pair's state and the VM-wide table of them.
// Opening and the file operations are in tty/pty.cpp, the ioctls in
// tty/pty_ioctl.cpp, the controlling-terminal rules in tty/ctty.cpp.
#pragma once

#include <stdint.h>

#include <asm/termios.h>  // struct termios, struct winsize

#include "kernel/proc/wait.hpp"
#include "kernel/tty/ctty_types.hpp"
#include "kernel/tty/ldisc.hpp"

namespace lightvm::guest {

// Linux's default /proc/sys/kernel/pty/max is 4096; a VM's programs need
// a handful (a shell's terminal, an exec'd one, script, expect).
inline constexpr uint32_t kMaxPtys = 256;

struct Pty {
    uint32_t index;       // N of /dev/pts/N
    bool locked;          // TIOCSPTLCK: opening the slave is refused (EIO)
    bool master_open;     // the master's open file exists
    bool slave_opened;    // a slave was opened once: when all are closed, master reads are EIO
    uint32_t slaves;      // open slave files
    uint32_t uid, gid;    // the slave node's owner (the opener of /dev/ptmx, group tty)
    Ctty ctty;            // the session it controls and its foreground group
    winsize ws;
    WaitQueue master_wq;  // master readers, writers, poll: its state changed
    WaitQueue slave_wq;   // the same for the slave
    Ldisc ld;             // master writes in, slave reads; slave writes out, master reads
};

// A new pair with the lowest free index (locked, as Linux makes it), or
// nullptr when the table or memory runs out.
Pty* pty_alloc();
// Frees it once neither end is open.
void pty_maybe_free(Pty* p);
// The live pair /dev/pts/index names (its master open), or nullptr.
Pty* pty_find(uint32_t index);
// The i-th live pair in index order (/dev/pts's listing), or nullptr.
Pty* pty_nth(uint32_t i);
// Something changed: every sleeper and poller of both ends re-checks.
void pty_wake(Pty* p);

}  // namespace lightvm::guest

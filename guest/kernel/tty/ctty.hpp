// Controlling terminals (man 4 tty_ioctl, credentials(7) "Sessions"):
// a session has at most one, and a pty is the controlling terminal of at
// most one session, which is all the guest records (Pty::session): a
// process's controlling terminal is its session's. The console stays the
// first process's session's terminal (proc/pgrp.cpp).
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct Pty;

// The pty that is the calling process's controlling terminal, or nullptr
// (/dev/tty, TIOCGPGRP's and TIOCSPGRP's check).
Pty* ctty_of_caller();
// A slave was opened: without O_NOCTTY, by a session leader whose session
// has no terminal, of a pty that is no session's, it becomes the
// session's (Linux's tty_open).
void ctty_on_open(Pty* p, bool noctty);
// TIOCSCTTY (arg 1: steal it from another session, with CAP_SYS_ADMIN).
long ctty_set(Pty* p, uint64_t arg);
// TIOCNOTTY: a session leader gives it up (its foreground group gets
// SIGHUP and SIGCONT); other members only lose it on Linux, which a
// session-wide record cannot express, so for them it is a no-op.
long ctty_drop(Pty* p);
// The master was closed: the session leader gets SIGHUP and SIGCONT and
// the session loses its terminal (Linux's tty_vhangup of the slave).
void ctty_hangup(Pty* p);
// A session leader exits: its terminal's foreground group gets SIGHUP
// and the terminal is free (Linux's disassociate_ctty(1)).
void ctty_session_end(uint32_t sid);
// The job-control check before the caller uses p (proc/pgrp.hpp).
long ctty_job_check(Pty* p, int sig);

}  // namespace lightvm::guest

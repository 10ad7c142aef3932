// Controlling terminals (man 4 tty_ioctl, credentials(7) "Sessions"): a
// session has at most one, and a terminal is the controlling terminal of
// at most one session, which is what each terminal records (Ctty): the
// console once, each pty pair its own. A process's controlling terminal
// is its session's, unless it gave it up (TIOCNOTTY, Process::ctty_gone).
// At boot the console is the first process's session's terminal when the
// host gave one.
#pragma once

#include <stdint.h>

#include "kernel/tty/ctty_types.hpp"

namespace lightvm::guest {

struct Pty;

// The console's record; set up for session sid by the first process.
Ctty& console_ctty();
void ctty_console_init(uint32_t sid);
// Is t the calling process's controlling terminal?
bool ctty_is_callers(const Ctty& t);
// The pty that is the caller's controlling terminal, or nullptr (/dev/tty).
Pty* ctty_pty_of_caller();
// A slave was opened: without O_NOCTTY, by a session leader whose session
// has no terminal, of a pty that is no session's, it becomes the
// session's (Linux's tty_open; never the console's, as /dev/console).
void ctty_on_open(Pty* p, bool noctty);
// TIOCSCTTY (arg 1: steal it from another session, with CAP_SYS_ADMIN).
long ctty_set(Ctty& t, uint64_t arg);
// TIOCNOTTY: a session leader gives it up for the whole session (its
// foreground group gets SIGHUP and SIGCONT); another process only for
// itself (and the children it forks later).
long ctty_drop(Ctty& t);
// TIOCSPGRP: on the caller's controlling terminal, a group of its session.
long ctty_set_pgrp(Ctty& t, int32_t pgrp);
// TIOCGPGRP's answer: the foreground group (0: none).
uint32_t ctty_foreground(const Ctty& t);
// The master was closed: the session leader gets SIGHUP and SIGCONT and
// the session loses its terminal (Linux's tty_vhangup of the slave).
void ctty_hangup(Pty* p);
// A session leader exits: its terminal's foreground group gets SIGHUP
// and the terminal is free (Linux's disassociate_ctty(1)).
void ctty_session_end(uint32_t sid);
// The job-control check before the caller uses t (proc/pgrp.hpp).
long ctty_job_check(const Ctty& t, int sig);

}  // namespace lightvm::guest

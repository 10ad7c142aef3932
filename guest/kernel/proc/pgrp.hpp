// Process groups and the terminal's foreground group (proc/pgrp.cpp).
#pragma once

#include <stdint.h>

#include "kernel/proc/signal_types.hpp"

namespace lightvm::guest {

// The console's foreground process group (tcgetpgrp): the first process's
// group until tcsetpgrp names another. Once one is named, terminal signals
// from the host (Ctrl-C's SIGINT, SIGQUIT, SIGWINCH) go to it.
uint32_t tty_foreground_pgrp();
// The group tcsetpgrp set, 0 while none did (a job-control shell sets it).
uint32_t tty_foreground_set();
// tcsetpgrp (TIOCSPGRP): a group of the caller's session. 0, -EINVAL for a
// negative id, -EPERM for a group that does not exist in the session (as
// Linux).
long tty_set_foreground_pgrp(int32_t pgrp);
// Sends sig to every live process of group pgid; false when it has none.
bool signal_group(uint32_t pgid, int sig, const KSigInfo& info);

// An orphaned process group (POSIX; Linux's will_become_orphaned_pgrp): no
// live member has a live parent in another group of the same session, so no
// job-control shell is there to continue it if it stopped.
bool pgrp_orphaned(uint32_t pgid);
// The job-control check before the caller touches the console (Linux's
// __tty_check_change; POSIX "General Terminal Interface", 11.1.4): a
// process of the terminal's session outside its foreground group gets
// `sig` (SIGTTIN for a read; SIGTTOU for a write with TOSTOP, tcsetattr,
// tcsetpgrp, tcflush, ...) sent to its whole group and -ERESTARTSYS: the
// default action stops the group and the call restarts when continued; a
// handler makes it EINTR (or a restart with SA_RESTART). When the caller
// blocks or ignores sig, 0 (go ahead) for SIGTTOU and -EIO for SIGTTIN;
// an orphaned group gets -EIO (nobody would continue it). 0 otherwise.
long tty_job_check(int sig);
// The same check for any terminal: the controlling terminal of session
// `sid` with foreground group `fg` (tty/ctty.cpp's ptys).
long tty_job_check_for(uint32_t sid, uint32_t fg, int sig);
// Has session sid a live process in group pgid (tcsetpgrp's rule)?
bool group_in_session(uint32_t pgid, uint32_t sid);

}  // namespace lightvm::guest

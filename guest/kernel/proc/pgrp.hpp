// Process groups and the rules of job control that depend on them
// (proc/pgrp.cpp); terminals' records are tty/ctty.hpp.
#pragma once

#include <stdint.h>

#include "kernel/proc/signal_types.hpp"

namespace lightvm::guest {

struct Process;

// Sends sig to every live process of group pgid; false when it has none.
bool signal_group(uint32_t pgid, int sig, const KSigInfo& info);

// An orphaned process group (POSIX; Linux's will_become_orphaned_pgrp): no
// live member has a live parent in another group of the same session, so no
// job-control shell is there to continue it if it stopped.
bool pgrp_orphaned(uint32_t pgid);
// A process exits (POSIX _exit, Linux's kill_orphaned_pgrp): a group its
// exit orphans gets SIGHUP then SIGCONT if a member is stopped, as nobody
// would ever continue it. Checked for each child once it has its new
// parent (gone: the exiting one), then for the exiting process's own
// group, without it.
void pgrp_child_reparented(const Process* child, const Process* gone);
void pgrp_exiting(const Process* p);
// The job-control check before the caller touches its controlling
// terminal (Linux's __tty_check_change; POSIX "General Terminal
// Interface", 11.1.4): a process of the terminal's session outside its
// foreground group gets
// `sig` (SIGTTIN for a read; SIGTTOU for a write with TOSTOP, tcsetattr,
// tcsetpgrp, tcflush, ...) sent to its whole group and -ERESTARTSYS: the
// default action stops the group and the call restarts when continued; a
// handler makes it EINTR (or a restart with SA_RESTART). When the caller
// blocks or ignores sig, 0 (go ahead) for SIGTTOU and -EIO for SIGTTIN;
// an orphaned group gets -EIO (nobody would continue it). 0 otherwise.
// The terminal is the controlling terminal of session `sid` with
// foreground group `fg` (tty/ctty.cpp).
long tty_job_check_for(uint32_t sid, uint32_t fg, int sig);
// Has session sid a live process in group pgid (tcsetpgrp's rule)?
bool group_in_session(uint32_t pgid, uint32_t sid);

}  // namespace lightvm::guest

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

}  // namespace lightvm::guest

// Job control (man 7 signal, "Stop and continue"): the default action of
// SIGSTOP, SIGTSTP, SIGTTIN and SIGTTOU stops every thread of the process
// until SIGCONT (or SIGKILL); the parent gets SIGCHLD (CLD_STOPPED,
// CLD_CONTINUED, unless it set SA_NOCLDSTOP) and wait4/waitid report the
// change with WUNTRACED/WSTOPPED and WCONTINUED.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct Process;

enum JobReport : uint8_t { kJobNone, kJobStopped, kJobContinued };

// Installs the stop/continue hooks of the signal module.
void jobctl_init();

// A change of c that a wait with these wait4/waitid options takes: true
// with *status set (wait4's status word: 0x7f | sig << 8 for stopped,
// 0xffff for continued). Clears it unless keep (WNOWAIT).
bool jobctl_take_report(Process* c, bool stopped, bool continued, bool keep, int* status);

}  // namespace lightvm::guest

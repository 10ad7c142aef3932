// Capabilities: the program runs as root in its VM, as in a container,
// with the full set (effective and permitted); capset can drop some, and
// the calls that need one (sethostname, ...) check it.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

// Every capability this kernel knows (0 .. CAP_LAST_CAP of the headers).
uint64_t caps_all();
uint64_t caps_effective();
bool capable(unsigned cap);

struct Credentials;
// Linux's cap_task_fix_setuid: a process whose uids all leave 0 loses its
// capabilities (permitted too, unless PR_SET_KEEPCAPS), an euid leaving 0
// clears the effective set and one returning to 0 restores it from the
// permitted set, and fsuid moves take the file-system capabilities along.
void caps_fix_setuid(const Credentials& before);
// execve: root (real or effective uid 0) gets the full set again, everyone
// else none (there are no file capabilities).
void caps_on_exec();

}  // namespace lightvm::guest

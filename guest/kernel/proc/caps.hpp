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

}  // namespace lightvm::guest

// A terminal's controlling-terminal record (tty/ctty.hpp): kept by each pty
// pair and once for the console.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct Ctty {
    uint32_t session;  // the session whose controlling terminal this is, 0: none
    // Its foreground process group. 0 on the console: the first process's
    // group, none named yet (host terminal signals go to the first process).
    uint32_t pgrp;
};

}  // namespace lightvm::guest

// Reopening a descriptor's file through /dev/fd/N or /proc/PID/fd/N (see
// reopen.cpp).
#pragma once

#include <stdint.h>

#include "kernel/fs/open_file.hpp"

namespace lightvm::guest {

// A new open file description for f's file with `flags` (O_*): 0 and *out
// (one reference), 1 when f's kind is shared instead (the console, /proc
// text, event files), or -errno.
long reopen_file(OpenFile* f, uint32_t flags, OpenFile** out);

}  // namespace lightvm::guest

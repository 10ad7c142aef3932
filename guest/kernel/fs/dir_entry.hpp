// One entry of a directory the kernel makes up (synthetic_dirs.hpp,
// proc_pid.hpp), as getdents reports it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

struct DirEntry {
    const char* name;
    size_t len;
    uint64_t ino;
    uint8_t type;  // DT_*
};

}  // namespace lightvm::guest

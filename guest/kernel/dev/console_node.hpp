// /dev/console (char 5:1, as Linux's): the VM's stdio as one device node.
// A stdio stream that is a host terminal is this node too (its stat and
// /proc/PID/fd link), so ttyname() and tty(1) find it; a stream that is a
// pipe or file keeps its own identity.
#pragma once

#include <stdint.h>

namespace lightvm::guest {

struct OpenFile;
struct Stat;

// OpenFile::device of a console file opened by the name /dev/console.
inline constexpr uint32_t kConsoleNode = 2;

// Opens /dev/console: stdin for reading, stdout for writing (Linux opens
// the node with noctty: it never becomes a controlling terminal).
long console_node_open(uint32_t flags, OpenFile** out);
long console_node_stat(Stat* out);
// Is f the node (opened by name, or a terminal stdio stream)?
bool console_is_node(const OpenFile* f);

}  // namespace lightvm::guest

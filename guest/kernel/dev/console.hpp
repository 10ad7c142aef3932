// Guest half of the console: stdout/stderr/trace bytes go into the ring in
// guest memory; the monitor drains it at every exit. Writing costs no exit
// unless the ring is full or the stream is a terminal.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

void console_init();
// Append to the ring (flushing through a hypercall when it is full).
// Large writes bypass the ring with one kHcWrite straight from `data`.
// Returns bytes written or -errno.
long console_write(unsigned stream, const void* data, size_t len);
void console_flush();
// The host terminal's size changed (a SIGWINCH forwarded by the monitor,
// which wrote the new size into the boot page first): the copy follows.
void tty_window_changed();

}  // namespace lightvm::guest

// What every terminal of the guest shares, whoever does its line
// discipline (the host terminal for the console, tty/ldisc for ptys):
// Linux's default settings (tty_std_termios) and which requests change a
// terminal (and so are job-control checked).
#pragma once

#include <stdint.h>

struct termios;

namespace lightvm::guest {

// Linux's tty_std_termios: cooked, echoing, ^C/^\/^Z signals, 38400 baud.
void termios_std(termios* t);
// The requests that change the terminal, which a background job may not
// make without SIGTTOU (Linux's tty_check_change callers: set_termios,
// tiocspgrp, tty_perform_flush, TCXONC, and the break/drain prologue of
// tty_ioctl). Reading settings and TIOCSWINSZ are not checked, as Linux.
bool tty_request_changes(uint64_t request);

}  // namespace lightvm::guest

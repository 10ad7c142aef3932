#include "kernel/tty/termios_std.hpp"

#include "kernel/kernel.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

void termios_std(termios* t) {
    memset(t, 0, sizeof *t);
    t->c_iflag = ICRNL | IXON;
    t->c_oflag = OPOST | ONLCR;
    t->c_cflag = B38400 | CS8 | CREAD | HUPCL;
    t->c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
    // Linux's INIT_C_CC.
    static constexpr uint8_t kCc[] = {3, 034, 0177, 025, 4, 0, 1, 0, 021, 023, 032, 0, 022, 017, 027, 026, 0};
    static_assert(sizeof kCc <= sizeof t->c_cc);
    memcpy(t->c_cc, kCc, sizeof kCc);
}

bool tty_request_changes(uint64_t request) {
    switch (request) {
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
    case TCSBRK:
    case TCFLSH:
    case TCXONC:
    case TIOCSPGRP:
        return true;
    default:
        return false;
    }
}

}  // namespace lightvm::guest

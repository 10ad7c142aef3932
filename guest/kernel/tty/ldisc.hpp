// The line discipline of the guest's pseudo-terminals: Linux's N_TTY for
// the bytes typed at a terminal (written to a pty master) on their way to
// the program reading the slave, and for what the program writes on its
// way to the master. Canonical mode (ERASE, KILL, WERASE, LNEXT, EOF, EOL),
// echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOCTL), input mapping (ICRNL,
// INLCR, IGNCR, ISTRIP), flow control (IXON, IXANY), the signal characters
// (ISIG: the caller sends the signal) and output processing (OPOST: ONLCR,
// OCRNL, ONOCR, ONLRET, TAB3). Pure bytes in, bytes out: no user memory,
// no sleeping (tty/pty.cpp does both), so the hosted unit tests run it.
// The console has no ldisc here: the host terminal is its line discipline.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <asm/termbits.h>

namespace lightvm::guest {

inline constexpr uint32_t kLdiscBuf = 4096;  // Linux's N_TTY_BUF_SIZE

struct ByteRing {
    uint8_t data[kLdiscBuf];
    uint32_t head, tail;  // free-running
};

struct Ldisc {
    termios t;
    ByteRing in;                 // typed input the slave reads
    uint32_t canon_head;         // canonical mode: input before here is complete lines
    uint32_t canon_column;       // the output column where the current line began (erasing tabs)
    uint8_t eol[kLdiscBuf / 8];  // positions in `in` that end a line
    uint8_t eof[kLdiscBuf / 8];  // ... with the EOF character, which read() does not return
    bool lnext;                  // the next byte is literal (VLNEXT)
    bool stopped;                // output stopped by VSTOP (IXON) until VSTART
    uint32_t column;             // the output column
    ByteRing out;                // the program's output and the echoes, for the master
};

uint32_t ring_used(const ByteRing& r);
uint32_t ring_room(const ByteRing& r);
// Takes up to len bytes out of r.
size_t ring_take(ByteRing& r, uint8_t* buf, size_t len);

void ldisc_init(Ldisc& l, const termios& t);
// New settings (TCSETS*): switching canonical mode on or off re-cuts the
// pending input as Linux does.
void ldisc_set_termios(Ldisc& l, const termios& t);

// Can the next typed byte be taken? False: the writer waits for the reader
// (a full canonical buffer without a complete line takes a line end still).
bool ldisc_can_receive(const Ldisc& l);
// One typed byte. Returns the signal the foreground group gets (SIGINT,
// SIGQUIT, SIGTSTP from INTR, QUIT, SUSP under ISIG), else 0.
int ldisc_receive(Ldisc& l, uint8_t c);

// Bytes a read may take now: whole lines in canonical mode; otherwise what
// is there, or (poll, VTIME 0) nothing until VMIN bytes are.
uint32_t ldisc_readable(const Ldisc& l, bool poll);
// Takes input for a read: in canonical mode up to the end of one line (an
// EOF character ends it and is not returned: a lone EOF reads 0).
size_t ldisc_read(Ldisc& l, uint8_t* buf, size_t len);
// FIONREAD: canonical mode counts complete lines only.
uint32_t ldisc_inq(const Ldisc& l);

// The program's output through OPOST into `out`: bytes of buf consumed
// (fewer when `out` fills or output is stopped).
size_t ldisc_write(Ldisc& l, const uint8_t* buf, size_t len);

void ldisc_flush_input(Ldisc& l);
void ldisc_flush_output(Ldisc& l);

}  // namespace lightvm::guest

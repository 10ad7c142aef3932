// Linux's n_tty.c, the parts a pseudo-terminal needs (see ldisc.hpp).
#include "kernel/tty/ldisc.hpp"

#include "kernel/kernel.hpp"
#include "kernel/uapi.hpp"

namespace lightvm::guest {

namespace {

constexpr uint32_t kMask = kLdiscBuf - 1;
static_assert((kLdiscBuf & kMask) == 0);

bool lflag(const Ldisc& l, uint32_t f) { return (l.t.c_lflag & f) != 0; }
bool iflag(const Ldisc& l, uint32_t f) { return (l.t.c_iflag & f) != 0; }
bool oflag(const Ldisc& l, uint32_t f) { return (l.t.c_oflag & f) != 0; }
// c is the terminal's special character `which` (not disabled).
bool is_cc(const Ldisc& l, uint8_t c, int which) { return l.t.c_cc[which] != 0 && c == l.t.c_cc[which]; }
bool is_cntrl(uint8_t c) { return c < 0x20 || c == 0x7f; }
bool is_word(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool bit(const uint8_t* map, uint32_t pos) { return map[(pos & kMask) / 8] & (1u << (pos % 8)); }
void set_bit(uint8_t* map, uint32_t pos, bool on) {
    uint8_t m = static_cast<uint8_t>(1u << (pos % 8));
    map[(pos & kMask) / 8] = static_cast<uint8_t>(on ? map[(pos & kMask) / 8] | m : map[(pos & kMask) / 8] & ~m);
}

uint8_t at(const ByteRing& r, uint32_t pos) { return r.data[pos & kMask]; }
void put(ByteRing& r, uint8_t c) { r.data[r.head++ & kMask] = c; }

// The bytes OPOST makes of c, into out (at most 8); the column follows.
size_t opost(Ldisc& l, uint8_t c, uint8_t* out) {
    if (!oflag(l, OPOST)) {
        out[0] = c;
        return 1;
    }
    switch (c) {
    case '\n':
        if (oflag(l, ONLRET))
            l.column = 0;
        if (oflag(l, ONLCR)) {
            l.column = 0;
            out[0] = '\r';
            out[1] = '\n';
            return 2;
        }
        break;
    case '\r':
        if (oflag(l, ONOCR) && l.column == 0)
            return 0;
        if (oflag(l, OCRNL)) {
            if (oflag(l, ONLRET))
                l.column = 0;
            out[0] = '\n';
            return 1;
        }
        l.column = 0;
        break;
    case '\t': {
        uint32_t spaces = 8 - (l.column & 7);
        l.column += spaces;
        if ((l.t.c_oflag & TABDLY) == XTABS) {
            memset(out, ' ', spaces);
            return spaces;
        }
        break;
    }
    case '\b':
        if (l.column > 0)
            l.column--;
        break;
    default:
        if (!is_cntrl(c))
            l.column++;
        break;
    }
    out[0] = c;
    return 1;
}

// Output of one byte if it fits whole; false if it does not.
bool emit(Ldisc& l, uint8_t c) {
    uint8_t buf[8];
    uint32_t column = l.column;
    size_t n = opost(l, c, buf);
    if (n > ring_room(l.out)) {
        l.column = column;
        return false;
    }
    for (size_t i = 0; i < n; ++i)
        put(l.out, buf[i]);
    return true;
}

// Linux's echo_char: a control character as ^X under ECHOCTL (not tab).
void echo_char(Ldisc& l, uint8_t c) {
    if (lflag(l, ECHOCTL) && is_cntrl(c) && c != '\t') {
        if (ring_room(l.out) >= 2) {
            emit(l, '^');
            emit(l, c ^ 0100);
        }
        return;
    }
    emit(l, c);
}

void echo_str(Ldisc& l, const char* s) {
    while (*s)
        emit(l, static_cast<uint8_t>(*s++));
}

// The column a tab at `pos` of the current line started at.
uint32_t column_before(const Ldisc& l, uint32_t pos) {
    uint32_t col = l.canon_column;
    for (uint32_t p = l.canon_head; p != pos; ++p) {
        uint8_t c = at(l.in, p);
        if (c == '\t')
            col = (col | 7) + 1;
        else if (is_cntrl(c))
            col += lflag(l, ECHOCTL) ? 2 : 0;
        else
            col++;
    }
    return col;
}

// Rubs out the last byte of the line on the screen (ECHOE).
void rub_out(Ldisc& l, uint8_t c, uint32_t pos) {
    if (c == '\t') {
        uint32_t from = column_before(l, pos);
        for (uint32_t n = ((from | 7) + 1) - from; n; --n)
            emit(l, '\b');
        return;
    }
    if (is_cntrl(c) && lflag(l, ECHOCTL))
        echo_str(l, "\b \b");
    if (!is_cntrl(c) || lflag(l, ECHOCTL))
        echo_str(l, "\b \b");
}

enum class Kill { Erase, Word, Line };

// Linux's eraser(): ERASE takes one byte, WERASE a word (and the blanks
// after it), KILL the whole line; the screen follows under ECHO.
void erase(Ldisc& l, Kill kind, uint8_t ch) {
    if (l.in.head == l.canon_head)
        return;
    if (kind == Kill::Line && (!lflag(l, ECHO) || !lflag(l, ECHOK) || !lflag(l, ECHOKE) || !lflag(l, ECHOE))) {
        l.in.head = l.canon_head;
        if (lflag(l, ECHO)) {
            echo_char(l, ch);
            if (lflag(l, ECHOK))
                emit(l, '\n');
        }
        return;
    }
    bool seen_word = false;
    while (l.in.head != l.canon_head) {
        uint32_t pos = l.in.head - 1;
        uint8_t c = at(l.in, pos);
        if (kind == Kill::Word) {
            if (is_word(c))
                seen_word = true;
            else if (seen_word)
                break;
        }
        l.in.head = pos;
        if (lflag(l, ECHO)) {
            if (kind == Kill::Erase && !lflag(l, ECHOE))
                echo_char(l, ch);
            else
                rub_out(l, c, pos);
        }
        if (kind == Kill::Erase)
            break;
    }
}

void end_line(Ldisc& l, uint8_t c, bool eof) {
    set_bit(l.eol, l.in.head, true);
    set_bit(l.eof, l.in.head, eof);
    put(l.in, c);
    l.canon_head = l.in.head;
    l.canon_column = l.column;
}

void store(Ldisc& l, uint8_t c) {
    set_bit(l.eol, l.in.head, false);
    set_bit(l.eof, l.in.head, false);
    put(l.in, c);
}

// Room for one more byte (Linux keeps one slot free).
bool has_room(const Ldisc& l) { return ring_used(l.in) < kLdiscBuf - 1; }

// A full buffer takes nothing more but a line's end, which replaces the
// line's last byte (Linux): true if there is room for the end now.
bool room_for_end(Ldisc& l) {
    if (has_room(l))
        return true;
    if (l.in.head == l.canon_head)
        return false;
    l.in.head--;
    return true;
}

// A canonical-mode byte that is not special.
void receive_canon_char(Ldisc& l, uint8_t c, bool line_end) {
    if (line_end ? room_for_end(l) : has_room(l))
        line_end ? end_line(l, c, false) : store(l, c);
}

// Canonical mode's special characters; true if c was one.
bool receive_canon_special(Ldisc& l, uint8_t c) {
    if (is_cc(l, c, VERASE) || is_cc(l, c, VKILL) || (is_cc(l, c, VWERASE) && lflag(l, IEXTEN))) {
        erase(l, is_cc(l, c, VERASE) ? Kill::Erase : is_cc(l, c, VKILL) ? Kill::Line : Kill::Word, c);
        return true;
    }
    if (is_cc(l, c, VLNEXT) && lflag(l, IEXTEN)) {
        l.lnext = true;
        if (lflag(l, ECHO) && lflag(l, ECHOCTL)) {
            emit(l, '^');
            emit(l, '\b');
        }
        return true;
    }
    if (c == '\n') {
        if (lflag(l, ECHO) || lflag(l, ECHONL))
            emit(l, '\n');
        receive_canon_char(l, c, true);
        return true;
    }
    if (is_cc(l, c, VEOF)) {
        if (room_for_end(l))
            end_line(l, 0, true);  // not echoed; read() returns the line without it
        return true;
    }
    if (is_cc(l, c, VEOL) || (is_cc(l, c, VEOL2) && lflag(l, IEXTEN))) {
        if (lflag(l, ECHO))
            echo_char(l, c);
        receive_canon_char(l, c, true);
        return true;
    }
    return false;
}

int signal_of(const Ldisc& l, uint8_t c) {
    if (!lflag(l, ISIG))
        return 0;
    if (is_cc(l, c, VINTR))
        return SIGINT;
    if (is_cc(l, c, VQUIT))
        return SIGQUIT;
    if (is_cc(l, c, VSUSP))
        return SIGTSTP;
    return 0;
}

// Input mapping (ISTRIP, IGNCR, ICRNL, INLCR); false: the byte is dropped.
bool map_input(const Ldisc& l, uint8_t* c) {
    if (iflag(l, ISTRIP))
        *c &= 0x7f;
    if (*c == '\r') {
        if (iflag(l, IGNCR))
            return false;
        if (iflag(l, ICRNL))
            *c = '\n';
    } else if (*c == '\n' && iflag(l, INLCR)) {
        *c = '\r';
    }
    return true;
}

// IXON's stop and start characters; true if c was one.
bool flow_control(Ldisc& l, uint8_t c) {
    if (!iflag(l, IXON))
        return false;
    if (is_cc(l, c, VSTOP)) {
        l.stopped = true;
        return true;
    }
    if (is_cc(l, c, VSTART)) {
        l.stopped = false;
        return true;
    }
    if (l.stopped && iflag(l, IXANY))
        l.stopped = false;
    return false;
}

}  // namespace

uint32_t ring_used(const ByteRing& r) { return r.head - r.tail; }
uint32_t ring_room(const ByteRing& r) { return kLdiscBuf - ring_used(r); }

size_t ring_take(ByteRing& r, uint8_t* buf, size_t len) {
    size_t n = 0;
    for (; n < len && r.tail != r.head; ++n)
        buf[n] = r.data[r.tail++ & kMask];
    return n;
}

void ldisc_init(Ldisc& l, const termios& t) {
    memset(&l, 0, sizeof l);
    l.t = t;
}

void ldisc_set_termios(Ldisc& l, const termios& t) {
    bool was_canon = lflag(l, ICANON);
    l.t = t;
    if (was_canon == lflag(l, ICANON))
        return;
    memset(l.eol, 0, sizeof l.eol);
    memset(l.eof, 0, sizeof l.eof);
    l.canon_head = l.in.tail;
    if (lflag(l, ICANON) && ring_used(l.in)) {
        set_bit(l.eol, l.in.head - 1, true);  // what is pending becomes one line (Linux)
        l.canon_head = l.in.head;
    }
    l.canon_column = l.column;
    l.lnext = false;
}

bool ldisc_can_receive(const Ldisc& l) {
    return has_room(l) || (lflag(l, ICANON) && l.canon_head == l.in.tail);
}

int ldisc_receive(Ldisc& l, uint8_t c) {
    if (l.lnext) {
        l.lnext = false;
        if (lflag(l, ECHO))
            echo_char(l, c);  // over the "^\b" LNEXT showed
        if (lflag(l, ICANON))
            receive_canon_char(l, c, false);
        else if (has_room(l))
            store(l, c);
        return 0;
    }
    if (!map_input(l, &c) || flow_control(l, c))
        return 0;
    if (int sig = signal_of(l, c)) {
        if (iflag(l, IXON))
            l.stopped = false;
        if (!lflag(l, NOFLSH)) {
            ldisc_flush_input(l);
            ldisc_flush_output(l);
        }
        if (lflag(l, ECHO))
            echo_char(l, c);
        return sig;
    }
    if (lflag(l, ICANON) && receive_canon_special(l, c))
        return 0;
    if (lflag(l, ECHO))
        echo_char(l, c);
    if (lflag(l, ICANON))
        receive_canon_char(l, c, false);
    else if (has_room(l))
        store(l, c);
    return 0;
}

uint32_t ldisc_readable(const Ldisc& l, bool poll) {
    if (lflag(l, ICANON))
        return l.canon_head - l.in.tail;
    uint32_t n = ring_used(l.in);
    uint32_t min = l.t.c_cc[VMIN];
    if (poll && !l.t.c_cc[VTIME] && min && n < min)
        return 0;
    return n;
}

size_t ldisc_read(Ldisc& l, uint8_t* buf, size_t len) {
    if (!lflag(l, ICANON))
        return ring_take(l.in, buf, len);
    size_t n = 0;
    while (n < len && l.in.tail != l.canon_head) {
        uint32_t pos = l.in.tail++;
        bool end = bit(l.eol, pos);
        if (!(end && bit(l.eof, pos)))
            buf[n++] = at(l.in, pos);
        if (end)
            break;
    }
    return n;
}

uint32_t ldisc_inq(const Ldisc& l) {
    if (!lflag(l, ICANON))
        return ring_used(l.in);
    uint32_t n = 0;
    for (uint32_t p = l.in.tail; p != l.canon_head; ++p)
        n += !(bit(l.eol, p) && bit(l.eof, p));
    return n;
}

size_t ldisc_write(Ldisc& l, const uint8_t* buf, size_t len) {
    size_t n = 0;
    while (n < len && !l.stopped && emit(l, buf[n]))
        ++n;
    return n;
}

void ldisc_flush_input(Ldisc& l) {
    l.in.tail = l.in.head = l.canon_head = 0;
    l.lnext = false;
}

void ldisc_flush_output(Ldisc& l) { l.out.tail = l.out.head = 0; }

}  // namespace lightvm::guest

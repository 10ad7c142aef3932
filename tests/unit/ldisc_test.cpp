// Hosted tests of the pty line discipline (guest/kernel/tty/ldisc.cpp):
// what a program reading the slave gets for bytes typed at the master,
// and what the master sees (echo, output processing), against the
// behaviour of Linux's n_tty with the same settings.
#include <gtest/gtest.h>

#include <string>

#include "kernel/tty/ldisc.hpp"
#include "kernel/tty/termios_std.hpp"

namespace lightvm::guest {
namespace {

constexpr int kSigInt = 2, kSigTstp = 20;

struct Term {
    Ldisc l;
    Term() {
        termios t;
        termios_std(&t);
        ldisc_init(l, t);
    }
    // Types s; returns the last signal a byte asked for.
    int type(const std::string& s) {
        int sig = 0;
        for (char c : s)
            if (int r = ldisc_receive(l, static_cast<uint8_t>(c)))
                sig = r;
        return sig;
    }
    std::string read(size_t max = 8192) {
        std::string s(max, '\0');
        s.resize(ldisc_read(l, reinterpret_cast<uint8_t*>(s.data()), max));
        return s;
    }
    std::string screen() {
        std::string s(kLdiscBuf, '\0');
        s.resize(ring_take(l.out, reinterpret_cast<uint8_t*>(s.data()), s.size()));
        return s;
    }
    void lflag(uint32_t on, uint32_t off) {
        termios t = l.t;
        t.c_lflag = (t.c_lflag | on) & ~off;
        ldisc_set_termios(l, t);
    }
};

TEST(Ldisc, CanonicalLineEchoesWithCrNl) {
    Term t;
    t.type("ab");
    EXPECT_EQ(ldisc_readable(t.l, false), 0u) << "no line yet";
    t.type("\r");  // ICRNL
    EXPECT_EQ(t.screen(), "ab\r\n");  // ONLCR on the echo
    EXPECT_EQ(ldisc_inq(t.l), 3u);
    EXPECT_EQ(t.read(), "ab\n");
}

TEST(Ldisc, OneLinePerRead) {
    Term t;
    t.type("one\ntwo\n");
    EXPECT_EQ(t.read(), "one\n");
    EXPECT_EQ(t.read(2), "tw");
    EXPECT_EQ(t.read(), "o\n");
}

TEST(Ldisc, EraseKillWordErase) {
    Term t;
    t.type("abc\x7f\n");
    EXPECT_EQ(t.read(), "ab\n");
    EXPECT_EQ(t.screen(), "abc\b \b\r\n");
    t.type("junk\x15x\n");  // ^U with ECHOKE: rubbed out one by one
    EXPECT_EQ(t.read(), "x\n");
    EXPECT_EQ(t.screen(), "junk\b \b\b \b\b \b\b \bx\r\n");
    t.type("foo bar  \x17" "baz\n");  // ^W takes the blanks and the word
    EXPECT_EQ(t.read(), "foo baz\n");
    t.type("\x7f\x7f\n");  // nothing to erase: nothing happens
    EXPECT_EQ(t.read(), "\n");
}

TEST(Ldisc, ControlCharactersEchoAsCaret) {
    Term t;
    t.type("a\x01\x7f\n");  // ^A shown as two columns, erased as two
    EXPECT_EQ(t.screen(), "a^A\b \b\b \b\r\n");
    EXPECT_EQ(t.read(), "a\n");
    t.lflag(0, ICANON);
    t.type("\x02");
    EXPECT_EQ(t.screen(), "^B");
    t.lflag(0, ECHOCTL);
    t.type("\x02");
    EXPECT_EQ(t.screen(), "\x02");
}

TEST(Ldisc, EofEndsALineAndIsNotRead) {
    Term t;
    t.type("ab\x04");
    EXPECT_EQ(t.screen(), "ab");
    EXPECT_EQ(t.read(), "ab");
    t.type("\x04");
    EXPECT_EQ(ldisc_readable(t.l, false), 1u) << "a lone EOF is something to read";
    EXPECT_EQ(t.read(), "");
    EXPECT_EQ(ldisc_readable(t.l, false), 0u);
}

TEST(Ldisc, SignalCharactersFlushAndEcho) {
    Term t;
    t.type("partial");
    t.screen();
    EXPECT_EQ(t.type("\x03"), kSigInt);
    EXPECT_EQ(t.screen(), "^C");
    t.type("\n");
    EXPECT_EQ(t.read(), "\n") << "the partial line was flushed";
    EXPECT_EQ(t.type("\x1a"), kSigTstp);
    t.lflag(0, ISIG);
    EXPECT_EQ(t.type("\x03"), 0);
    t.type("\n");
    EXPECT_EQ(t.read(), "\x03\n");
}

TEST(Ldisc, LiteralNext) {
    Term t;
    EXPECT_EQ(t.type("\x16\x03\n"), 0);
    EXPECT_EQ(t.read(), "\x03\n");
}

TEST(Ldisc, NoEchoAndEchoNl) {
    Term t;
    t.lflag(ECHONL, ECHO);
    t.type("secret\n");
    EXPECT_EQ(t.screen(), "\r\n");
    EXPECT_EQ(t.read(), "secret\n");
}

TEST(Ldisc, RawModeAndVmin) {
    Term t;
    t.lflag(0, ICANON | ECHO);
    t.l.t.c_cc[VMIN] = 3;
    t.type("ab");
    EXPECT_EQ(ldisc_readable(t.l, false), 2u);
    EXPECT_EQ(ldisc_readable(t.l, true), 0u) << "poll waits for VMIN bytes";
    t.type("c");
    EXPECT_EQ(ldisc_readable(t.l, true), 3u);
    EXPECT_EQ(t.read(), "abc");
    EXPECT_EQ(t.screen(), "");
}

TEST(Ldisc, SwitchingModesRecutsInput) {
    Term t;
    t.type("half");
    t.lflag(0, ICANON);
    EXPECT_EQ(t.read(), "half") << "raw mode: pending input readable";
    t.lflag(ICANON, 0);
    t.type("x");
    EXPECT_EQ(ldisc_readable(t.l, false), 0u);
    t.lflag(0, ICANON);
    t.lflag(ICANON, 0);
    EXPECT_EQ(t.read(), "x") << "back to canonical: pending input is one line";
}

TEST(Ldisc, OutputProcessing) {
    Term t;
    const std::string s = "a\nb\tc";
    EXPECT_EQ(ldisc_write(t.l, reinterpret_cast<const uint8_t*>(s.data()), s.size()), s.size());
    EXPECT_EQ(t.screen(), "a\r\nb\tc");
    t.l.t.c_oflag |= XTABS;
    ldisc_write(t.l, reinterpret_cast<const uint8_t*>("\t|"), 2);
    EXPECT_EQ(t.screen(), "       |") << "column 9 to 16";
    t.l.t.c_oflag &= ~OPOST;
    ldisc_write(t.l, reinterpret_cast<const uint8_t*>("\n"), 1);
    EXPECT_EQ(t.screen(), "\n");
}

TEST(Ldisc, FullOutputTakesWhatFits) {
    Term t;
    std::string big(kLdiscBuf + 100, 'x');
    EXPECT_EQ(ldisc_write(t.l, reinterpret_cast<const uint8_t*>(big.data()), big.size()), kLdiscBuf);
}

TEST(Ldisc, FullCanonicalLineStillTakesItsEnd) {
    Term t;
    t.lflag(0, ECHO);
    t.type(std::string(kLdiscBuf + 10, 'y'));
    EXPECT_EQ(ring_used(t.l.in), kLdiscBuf - 1);
    EXPECT_TRUE(ldisc_can_receive(t.l)) << "a writer must not wait for a line that cannot end";
    t.type("\n");
    std::string line = t.read();
    EXPECT_EQ(line.size(), kLdiscBuf - 1);
    EXPECT_EQ(line.back(), '\n');
}

TEST(Ldisc, FlowControl) {
    Term t;
    t.type("\x13");  // ^S
    EXPECT_EQ(ldisc_write(t.l, reinterpret_cast<const uint8_t*>("a"), 1), 0u);
    t.type("\x11");  // ^Q
    EXPECT_EQ(ldisc_write(t.l, reinterpret_cast<const uint8_t*>("a"), 1), 1u);
    t.type("\n");
    EXPECT_EQ(t.read(), "\n") << "^S and ^Q are not input";
}

}  // namespace
}  // namespace lightvm::guest

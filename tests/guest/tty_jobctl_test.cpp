// Terminal job control (issue 9): SIGTTIN for a background job's read of the
// terminal, SIGTTOU for its writes with TOSTOP and for its changes of the
// terminal (tcsetattr, tcflush, tcsetpgrp), EIO when the signal is ignored
// or blocked (reads) or the group is orphaned; stop signals discarded and
// SIGHUP for orphaned groups; taking and giving up the controlling
// terminal (TIOCSCTTY, TIOCNOTTY, /dev/tty). tests/guests/ttyjobs.c runs
// in a VM and natively with a pseudo-terminal as its stdin, stdout and
// (natively) controlling terminal: its report and what reached the
// terminal must be the same.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "guest_test_util.hpp"
#include "pty.hpp"

namespace lightvm::test {
namespace {

struct Native {
    std::string err, screen;
    int status = -1;
};

// Runs path natively as the leader of a new session whose controlling
// terminal is the pty (as a login shell's child is), stdin and stdout on
// it, stderr captured.
Native run_native_on_ctty(const std::string& path) {
    Native out;
    Pty pty;
    int p[2];
    if (pty.slave < 0 || !pty.type("typed\n") || ::pipe(p) != 0)
        return out;
    pid_t pid = ::fork();
    if (pid == 0) {
        ::setsid();
        ::ioctl(pty.slave, TIOCSCTTY, 0);
        ::dup2(pty.slave, 0);
        ::dup2(pty.slave, 1);
        ::dup2(p[1], 2);
        ::execl(path.c_str(), path.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(p[1]);
    char buf[4096];
    for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;)
        out.err.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    ::waitpid(pid, &out.status, 0);
    out.status = WIFEXITED(out.status) ? WEXITSTATUS(out.status) : 128 + WTERMSIG(out.status);
    out.screen = pty.screen();
    return out;
}

class TtyJobControl : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override { REQUIRE_KVM(); }
    std::string prog() const { return "ttyjobs." + GetParam(); }
};

TEST_P(TtyJobControl, BackgroundJobsAsNatively) {
    Pty pty;
    if (pty.slave < 0)
        GTEST_SKIP() << "SKIPPED: no pseudo-terminals here";
    Native native = run_native_on_ctty(guest_path(prog()));
    ASSERT_EQ(native.status, 0) << native.err;
    ASSERT_TRUE(pty.type("typed\n"));
    RunOptions o;
    o.stdin_fd = pty.slave;
    o.stdout_fd = pty.slave;
    o.timeout_seconds = 30;  // a job stopped for ever (no SIGTTIN/EIO) must not hang the suite
    auto r = run_guest(prog(), {}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.err, native.err);
    EXPECT_EQ(pty.screen(), native.screen);
    // The points, spelled out (the native run is the reference above).
    for (const char* line : {
             "background read, SIGTTIN handled                 -1 EINTR; signal SIGTTIN (SI_KERNEL)\n",
             "  sibling in the group got SIGTTIN: yes\n",
             "background read, SIGTTIN ignored                 -1 EIO; signal none\n",
             "background write, TOSTOP, SIGTTOU handled        -1 EINTR; signal SIGTTOU (SI_KERNEL)\n",
             "background tcsetpgrp, SIGTTOU blocked            0 ; signal none\n",
             "job reading in the background: stopped 1 by SIGTTIN\n",
             "orphaned background read                         -1 EIO; signal none\n",
             "job continued in the foreground: read 6 typed\n",
             "orphaned group: past SIGTSTP, SIGTTIN, SIGTTOU\n",
             "stopped job of an orphaned group: killed by SIGHUP\n",
             "new session:                         /dev/tty ENXIO, foreground ENOTTY\n",
             "  TIOCSCTTY of a terminal held                   -1 EPERM; signal none\n",
             "leader after the member's TIOCNOTTY: /dev/tty opens, foreground ours\n",
             "new session TIOCSCTTY of a free terminal         0 ; signal none\n",
         })
        EXPECT_NE(r.err.find(line), std::string::npos) << "missing: " << line << r.err;
}

// The console is Linux's /dev/console (char 5:1): a terminal stdio stream
// is that node (its /proc link and stat), so ttyname() and tty(1) find it;
// a stream that is a pipe is not, and /dev/console opens without a
// terminal too (its output is the VM's stdout).
TEST(ConsoleNode, TerminalStdioIsDevConsole) {
    REQUIRE_KVM();
    if (auto why = busybox_missing(); !why.empty())
        GTEST_SKIP() << why;
    Pty pty;
    if (pty.slave < 0)
        GTEST_SKIP() << "SKIPPED: no pseudo-terminals here";
    RunOptions o;
    o.stdin_fd = pty.slave;
    o.timeout_seconds = 30;
    auto r = run_guest(kBusybox,
                       {"sh", "-c",
                        "tty; stat -c '%F %t:%T %a' /dev/console; readlink /proc/self/fd/0; readlink /proc/self/fd/1; "
                        "[ /proc/self/fd/0 -ef /dev/console ] && echo same; echo via-node > /dev/console"},
                       "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, "/dev/console\ncharacter special file 5:1 600\n/dev/console\npipe:[2]\nsame\nvia-node\n")
        << describe(r);
    auto no_tty = run_guest(kBusybox, {"sh", "-c", "tty; echo via-node > /dev/console"}, "", {});
    ASSERT_TRUE(no_tty.ok) << no_tty.error;
    EXPECT_EQ(no_tty.out, "not a tty\nvia-node\n") << describe(no_tty);
}

INSTANTIATE_TEST_SUITE_P(Libc, TtyJobControl, ::testing::Values("glibc", "musl"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace lightvm::test

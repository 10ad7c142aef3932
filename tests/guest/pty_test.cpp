// Pseudo-terminals inside the guest (guest/kernel/tty, docs/design.md
// "Pseudo-terminals"): tests/guests/ptys.c, Python's pty module and
// util-linux's script run in a VM and natively; the outputs (what went
// through the terminals, echo and \r\n included) must be the same.
#include <unistd.h>

#include <string>
#include <vector>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {

constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kScript = "/usr/bin/script";

#define REQUIRE_HOST_PROGRAM(path)                                                      \
    do {                                                                                \
        REQUIRE_KVM();                                                                  \
        if (::access(path, X_OK) != 0)                                                  \
            GTEST_SKIP() << "SKIPPED: " << path << " missing (scripts/install-deps.sh)"; \
    } while (0)

// A program of the host's root file system (the host's / shared
// read-only), in a VM and natively with the same environment.
void expect_rootfs_program_as_native(const std::vector<std::string>& argv, const std::string& must_contain) {
    RunOptions o;
    o.shares.push_back({"/", "/", true});
    o.env = {"PATH=/usr/bin:/bin", "LC_ALL=C"};
    o.timeout_seconds = 60;
    std::vector<std::string> args(argv.begin() + 1, argv.end());
    auto r = run_guest(argv[0], args, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    std::vector<std::string> native = {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "LC_ALL=C"};
    native.insert(native.end(), argv.begin(), argv.end());
    auto n = run_host(native);
    EXPECT_EQ(r.status, n.status) << describe(r);
    EXPECT_EQ(r.out, n.out);
    EXPECT_EQ(r.err, n.err);
    EXPECT_NE(r.out.find(must_contain), std::string::npos) << r.out << r.err;
}

class PtyProgram : public ::testing::TestWithParam<std::string> {};

// ptys.c: the Unix98 calls of glibc and musl, the line discipline,
// readiness, ^C, SIGWINCH, hang-up and EIO, as natively.
TEST_P(PtyProgram, SameAsNative) {
    REQUIRE_KVM();
    const std::string p = "ptys." + GetParam();
    auto n = run_host({guest_path(p)});
    RunOptions o;
    o.timeout_seconds = 60;
    auto r = run_guest(p, {}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(n.status, 0) << n.err;
    EXPECT_EQ(r.out, n.out);
    EXPECT_NE(r.out.find("ctrl-c: killed by Interrupt\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("master closed: killed by Hangup\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("winch: 30x100\n"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Libc, PtyProgram, ::testing::Values("glibc", "musl"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// pty.fork (forkpty: openpty, setsid, TIOCSCTTY) and a shell on the slave:
// tty, stty and a line typed at the master, echoed.
TEST(PtyPython, ForkReadsAndEchoesAsNatively) {
    REQUIRE_HOST_PROGRAM(kPython);
    const std::string script =
        "import os, pty\n"
        "m, s = os.openpty()\n"
        "print('openpty', os.isatty(m), os.isatty(s), os.ttyname(s).startswith('/dev/pts/'))\n"
        "os.close(m); os.close(s)\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        "    os.execv('/bin/sh', ['sh', '-c', 'tty | sed \"s/[0-9][0-9]*$/N/\"; stty size; "
        "test -t 0 && echo stdin-tty; echo ready; read x; echo \"got $x\"'])\n"
        "out = b''\n"
        "while b'ready' not in out:\n"
        "    out += os.read(fd, 1024)\n"
        "os.write(fd, b'hello\\n')\n"
        "while True:\n"
        "    try:\n"
        "        d = os.read(fd, 1024)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not d:\n"
        "        break\n"
        "    out += d\n"
        "_, st = os.waitpid(pid, 0)\n"
        "print(repr(out), os.waitstatus_to_exitcode(st))\n";
    expect_rootfs_program_as_native({kPython, "-c", script}, "got hello\\r\\n");
}

// pty.spawn copies the child's terminal to stdout (stdin here is not a
// terminal: it is left as it is).
TEST(PtyPython, SpawnAsNatively) {
    REQUIRE_HOST_PROGRAM(kPython);
    const std::string script =
        "import pty\n"
        "st = pty.spawn(['/bin/sh', '-c', 'echo spawned; tty >/dev/null && echo on-a-tty; exit 3'])\n"
        "print('status', st >> 8)\n";
    expect_rootfs_program_as_native({kPython, "-c", script}, "on-a-tty\r\n");
}

// An interactive busybox sh on a pty (job control: its own process group
// in the foreground, a background job, jobs, kill %1; stty -echo), driven
// as a user types: each line once the shell has gone quiet.
TEST(PtyPython, InteractiveShellWithJobsAsNatively) {
    REQUIRE_HOST_PROGRAM(kPython);
    REQUIRE_HOST_PROGRAM(kBusybox);
    const std::string script =
        "import os, pty, time, select\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        "    os.execve('/usr/bin/busybox', ['sh', '-i'], {'PATH': '/usr/bin:/bin', 'PS1': '$ '})\n"
        "out = b''\n"
        "def more(t):\n"
        "    global out\n"
        "    if not select.select([fd], [], [], t)[0]:\n"
        "        return False\n"
        "    try:\n"
        "        d = os.read(fd, 1024)\n"
        "    except OSError:\n"
        "        return False\n"
        "    out += d\n"
        "    return bool(d)\n"
        "def until(needle):\n"
        "    end = time.time() + 10\n"
        "    while needle not in out[-200:] and time.time() < end and more(0.5):\n"
        "        pass\n"
        "    while more(0.3):\n"
        "        pass\n"
        "until(b'$ ')\n"
        "for cmd, wait in [(b'echo hi; tty | sed \"s/[0-9]*$/N/\"\\n', b'/dev/pts/N'), (b'sleep 5 &\\n', b'$ '),\n"
        "                  (b'jobs\\n', b'Running'), (b'kill %1; wait\\n', b'Terminated'),\n"
        "                  (b'stty -echo; echo quiet\\n', b'quiet'), (b'exit 3\\n', b'')]:\n"
        "    os.write(fd, cmd)\n"
        "    until(wait)\n"
        "_, st = os.waitpid(pid, 0)\n"
        "print(repr(out))\n"
        "print(os.waitstatus_to_exitcode(st))\n";
    expect_rootfs_program_as_native({kPython, "-c", script}, "Terminated");
}

// util-linux's script: openpty, the child on the slave, the output copied.
TEST(PtyScript, RecordsACommandAsNatively) {
    REQUIRE_HOST_PROGRAM(kScript);
    expect_rootfs_program_as_native(
        {kScript, "-q", "-c", "tty | sed 's/[0-9][0-9]*$/N/'; stty size; echo hi", "/dev/null"}, "/dev/pts/N\r\n");
}

}  // namespace
}  // namespace lightvm::test

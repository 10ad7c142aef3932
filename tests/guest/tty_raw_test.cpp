// The guest's terminal settings reach the host terminal (issue 11,
// terminal ioctls): a program in raw mode reads single bytes with no echo,
// the window size follows SIGWINCH, and lightvm puts the terminal back as
// it found it however the VM ends. tests/guests/ttyraw.c runs in a lightvm
// process (signals and --timeout are per process) with its stdin, stdout
// and stderr on a pseudo-terminal the test holds.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "guest_test_util.hpp"
#include "lightvm/abi.h"
#include "pty.hpp"

extern char** environ;

namespace lightvm::test {
namespace {

const std::string kLightvm = std::string(LIGHTVM_GUEST_DIR) + "/../src/lightvm";

// A fresh directory under /tmp, removed with everything in it.
struct ScratchDir {
    std::string path;
    ScratchDir() {
        char tmpl[] = "/tmp/lightvm-tty-test.XXXXXX";
        path = ::mkdtemp(tmpl) ? tmpl : "";
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool same_termios(const termios& a, const termios& b) {
    return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag &&
           a.c_line == b.c_line && std::memcmp(a.c_cc, b.c_cc, sizeof a.c_cc) == 0;
}

std::string flags_of(const termios& t) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "iflag %o oflag %o cflag %o lflag %o", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag);
    return buf;
}

// A lightvm (or native) process with its stdio on a pseudo-terminal the
// test holds.
class TtySession : public ::testing::Test {
protected:
    void SetUp() override {
        REQUIRE_KVM();
        struct stat st;
        if (::stat(kLightvm.c_str(), &st) != 0)
            GTEST_SKIP() << "SKIPPED: lightvm binary not found at " << kLightvm << " (build the lightvm target)";
        if (m_pty.slave < 0)
            GTEST_SKIP() << "SKIPPED: no pseudo-terminals here";
        const winsize ws{24, 80, 0, 0};
        ASSERT_EQ(::ioctl(m_pty.master, TIOCSWINSZ, &ws), 0);
        ASSERT_EQ(::tcgetattr(m_pty.slave, &m_before), 0);
        ASSERT_TRUE(m_before.c_lflag & ICANON) << "a fresh pty is cooked";
    }
    void TearDown() override {
        if (m_pid > 0) {
            ::kill(m_pid, SIGKILL);
            wait_exit();
        }
    }

    // lightvm run [opts] app args..., stdio on the pty slave.
    void start_app(std::vector<std::string> opts, const std::string& app, std::vector<std::string> args) {
        std::vector<std::string> argv = {kLightvm, "run"};
        argv.insert(argv.end(), opts.begin(), opts.end());
        argv.push_back(app);
        argv.insert(argv.end(), args.begin(), args.end());
        spawn(argv);
    }
    // The same program natively, on the same pty: what the VM must match.
    void start_native_app(const std::string& app, std::vector<std::string> args) {
        std::vector<std::string> argv = {app};
        argv.insert(argv.end(), args.begin(), args.end());
        spawn(argv);
    }
    void spawn(std::vector<std::string> argv) {
        std::vector<char*> cargv;
        for (auto& a : argv)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        for (int fd : {0, 1, 2})
            posix_spawn_file_actions_adddup2(&fa, m_pty.slave, fd);
        ASSERT_EQ(posix_spawn(&m_pid, cargv[0], &fa, nullptr, cargv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&fa);
    }

    // Reads the master until `needle` has appeared (up to 20 s).
    bool wait_for(const std::string& needle) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (m_screen.find(needle) == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return false;
            pollfd p{m_pty.master, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) != 1)
                return false;
            char buf[256];
            const ssize_t n = ::read(m_pty.master, buf, sizeof buf);
            if (n <= 0)
                return false;
            m_screen.append(buf, static_cast<size_t>(n));
        }
        return true;
    }

    // The exit status (128 + N for a signal); -1 after 30 s.
    int wait_exit() {
        for (int i = 0; i < 3000; ++i) {
            int ws = 0;
            const pid_t r = ::waitpid(m_pid, &ws, WNOHANG);
            if (r == m_pid) {
                m_pid = -1;
                m_screen += m_pty.screen();
                return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            }
            ::usleep(10000);
        }
        return -1;
    }

    void expect_raw_now() {
        termios now{};
        ASSERT_EQ(::tcgetattr(m_pty.slave, &now), 0);
        EXPECT_FALSE(now.c_lflag & ICANON) << "raw mode did not reach the terminal: " << flags_of(now);
        EXPECT_FALSE(now.c_lflag & ECHO) << flags_of(now);
    }

    void expect_restored() {
        termios after{};
        ASSERT_EQ(::tcgetattr(m_pty.slave, &after), 0);
        EXPECT_TRUE(same_termios(after, m_before))
            << "terminal left changed: " << flags_of(after) << ", was " << flags_of(m_before);
    }

    Pty m_pty;
    termios m_before{};
    pid_t m_pid = -1;
    std::string m_screen;
};

// tests/guests/ttyraw.c, built with each libc.
class TtyRaw : public TtySession, public ::testing::WithParamInterface<std::string> {
protected:
    std::string prog() const { return "ttyraw." + GetParam(); }
    void start(std::vector<std::string> opts, std::vector<std::string> args) {
        start_app(std::move(opts), guest_path(prog()), std::move(args));
    }
    void start_native(std::vector<std::string> args) { start_native_app(guest_path(prog()), std::move(args)); }
};

// Bytes typed without a newline reach a raw-mode program one at a time
// (canonical mode would hold them for a whole line), with no echo; the
// program exits without restoring and lightvm does.
TEST_P(TtyRaw, RawModeReadsSingleBytesWithoutEcho) {
    start({"--timeout", "30"}, {"raw", "3"});
    ASSERT_TRUE(wait_for("ready")) << m_screen;
    expect_raw_now();
    for (const char* c : {"q", "w", "z"}) {  // letters not in the guest's own output
        ASSERT_TRUE(m_pty.type(c));
        char want[16];
        std::snprintf(want, sizeof want, "got %02x", *c);
        ASSERT_TRUE(wait_for(want)) << "byte '" << c << "' not read on its own: " << m_screen;
    }
    EXPECT_EQ(wait_exit(), 0) << m_screen;
    EXPECT_EQ(m_screen.find_first_of("qwz"), std::string::npos) << "echoed: " << m_screen;
    expect_restored();
}

TEST_P(TtyRaw, RestoredAfterTimeout) {
    start({"--timeout", "1"}, {"hang"});
    ASSERT_TRUE(wait_for("ready")) << m_screen;
    expect_raw_now();
    EXPECT_EQ(wait_exit(), 124) << m_screen;
    expect_restored();
}

TEST_P(TtyRaw, RestoredAfterSigterm) {
    start({"--timeout", "30"}, {"hang"});
    ASSERT_TRUE(wait_for("ready")) << m_screen;
    expect_raw_now();
    ::kill(m_pid, SIGTERM);
    EXPECT_EQ(wait_exit(), 128 + SIGTERM) << m_screen;
    expect_restored();
}

TEST_P(TtyRaw, RestoredAfterGuestFault) {
    start({"--timeout", "30"}, {"crash"});
    ASSERT_TRUE(wait_for("ready")) << m_screen;
    EXPECT_EQ(wait_exit(), 128 + SIGSEGV) << m_screen;
    expect_restored();
}

// SIGWINCH to lightvm: the new size reaches the guest's copy before the
// signal reaches the program.
TEST_P(TtyRaw, WindowSizeFollowsSigwinch) {
    start({"--timeout", "30"}, {"winch"});
    ASSERT_TRUE(wait_for("ready 24 80")) << m_screen;
    const winsize ws{50, 132, 0, 0};
    ASSERT_EQ(::ioctl(m_pty.master, TIOCSWINSZ, &ws), 0);
    ::kill(m_pid, SIGWINCH);
    EXPECT_TRUE(wait_for("winch 50 132")) << m_screen;
    EXPECT_EQ(wait_exit(), 0) << m_screen;
}

// The guest's TIOCSWINSZ changes the host terminal's size; it is put back
// at the end (nobody resized the terminal meanwhile).
TEST_P(TtyRaw, GuestSetsTheWindowSize) {
    start({"--timeout", "30"}, {"setsize"});
    ASSERT_TRUE(wait_for("set")) << m_screen;
    winsize now{};
    ASSERT_EQ(::ioctl(m_pty.master, TIOCGWINSZ, &now), 0);
    EXPECT_EQ(now.ws_row, 40);
    EXPECT_EQ(now.ws_col, 100);
    ASSERT_TRUE(m_pty.type("\n"));
    EXPECT_EQ(wait_exit(), 0) << m_screen;
    ASSERT_EQ(::ioctl(m_pty.master, TIOCGWINSZ, &now), 0);
    EXPECT_EQ(now.ws_row, 24);
    EXPECT_EQ(now.ws_col, 80);
}

// Input readiness (issue 11): poll, select and epoll see the terminal's
// input only when a key was typed, and a non-blocking read with nothing
// typed is EAGAIN, as natively (the same program first runs natively on
// the same pty). Before, stdin was always "ready" and the read blocked.
TEST_P(TtyRaw, InputReadinessAsNatively) {
    for (bool native : {true, false}) {
        SCOPED_TRACE(native ? "native" : "lightvm");
        m_screen.clear();
        if (native)
            start_native({"ready"});
        else
            start({"--timeout", "30"}, {"ready"});
        ASSERT_TRUE(wait_for("poll0 0")) << "poll saw input nobody typed: " << m_screen;
        ASSERT_TRUE(m_pty.type("a"));
        ASSERT_TRUE(wait_for("poll1 1\r\ngot 61")) << m_screen;
        ASSERT_TRUE(wait_for("select 0\r\nnonblock EAGAIN\r\nepoll0 0")) << m_screen;
        ASSERT_TRUE(m_pty.type("b"));
        ASSERT_TRUE(wait_for("epoll1 1\r\ngot 62")) << m_screen;
        EXPECT_EQ(wait_exit(), 0) << m_screen;
        ASSERT_EQ(::tcsetattr(m_pty.slave, TCSANOW, &m_before), 0);  // the native run leaves it raw
    }
}

// A VM saved while its program had the terminal in raw mode, restored on
// a cooked terminal: the terminal is made raw for it (the program goes on
// believing so), and cooked again when the restored VM ends.
TEST_P(TtyRaw, RestoredSnapshotGetsItsTerminalSettings) {
    ScratchDir dir;
    ASSERT_FALSE(dir.path.empty());
    const std::string snap = dir.path + "/raw.snap";
    start({"--timeout", "30", "--save", snap, "--save-after", "1", "--save-stop"}, {"hang"});
    ASSERT_TRUE(wait_for("ready")) << m_screen;
    EXPECT_EQ(wait_exit(), 0) << m_screen;
    expect_restored();  // the saved VM ended: the terminal is cooked again
    std::vector<std::string> argv = {kLightvm, "run", "--timeout", "30", "--restore", snap};
    spawn(argv);
    bool raw = false;
    for (int i = 0; i < 1000 && !raw; ++i) {
        termios now{};
        raw = ::tcgetattr(m_pty.slave, &now) == 0 && !(now.c_lflag & ICANON);
        if (!raw)
            ::usleep(10000);
    }
    ::kill(m_pid, SIGTERM);
    EXPECT_EQ(wait_exit(), 128 + SIGTERM) << m_screen;
    EXPECT_TRUE(raw) << "the restored VM's raw mode did not reach the terminal: " << m_screen;
    expect_restored();
}

// A child keeps running while its parent blocks reading the terminal: the
// read waits in the guest, not in the monitor (where it held the only vCPU).
TEST_P(TtyRaw, ChildRunsWhileParentReadsTheTerminal) {
    start({"--timeout", "30"}, {"bg"});
    ASSERT_TRUE(wait_for("ready")) << m_screen;
    ASSERT_TRUE(wait_for("child done")) << "the child waited for a key: " << m_screen;
    ASSERT_TRUE(m_pty.type("c"));
    ASSERT_TRUE(wait_for("got 63")) << m_screen;
    EXPECT_EQ(wait_exit(), 0) << m_screen;
    expect_restored();
}

// Debian's busybox vi edits a file on a share as it does natively: insert
// mode, Escape (its escape-sequence timeout needs a stdin poll that can
// say "nothing yet"), a deletion, write and quit.
using TtyVi = TtySession;
TEST_F(TtyVi, EditsAFileAsNatively) {
    struct stat st;
    if (::stat(kBusybox, &st) != 0)
        GTEST_SKIP() << "SKIPPED: " << kBusybox << " not installed (busybox-static)";
    for (bool native : {true, false}) {
        SCOPED_TRACE(native ? "native" : "lightvm");
        ScratchDir dir;
        ASSERT_FALSE(dir.path.empty());
        const std::string file = dir.path + "/f.txt";
        std::ofstream(file) << "first line\n";
        m_screen.clear();
        if (native)
            start_native_app(kBusybox, {"vi", file});
        else
            start_app({"--timeout", "60", "--fs", dir.path + ":/w"}, kBusybox, {"vi", "/w/f.txt"});
        ASSERT_TRUE(wait_for("first line")) << m_screen;
        for (const char* keys : {"Ohello", "\x1b", "x", ":wq\r"}) {
            ASSERT_TRUE(m_pty.type(keys));
            std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a person typing
        }
        EXPECT_EQ(wait_exit(), 0) << m_screen;
        EXPECT_EQ(slurp(file), "hell\nfirst line\n");
        ASSERT_EQ(::tcsetattr(m_pty.slave, TCSANOW, &m_before), 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Libc, TtyRaw, ::testing::Values("glibc", "musl"));

// In process (exit counts): setting the same settings again costs no exit,
// reading them never does.
TEST(TtyExits, SameSettingsTwiceIsOneExit) {
    REQUIRE_KVM();
    Pty pty;
    if (pty.slave < 0)
        GTEST_SKIP() << "SKIPPED: no pseudo-terminals here";
    termios before{}, after{};
    ASSERT_EQ(::tcgetattr(pty.slave, &before), 0);
    RunOptions o;
    o.stdin_fd = pty.slave;
    o.stats = true;
    auto r = run_guest("ttyraw.musl", {"same"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, "done\n");
    // Raw once (the second is the same), the first settings back once.
    EXPECT_EQ(r.stats.exits.hypercalls[abi::kHcTty], 2u);
    ASSERT_EQ(::tcgetattr(pty.slave, &after), 0);
    EXPECT_TRUE(same_termios(after, before)) << flags_of(after);
}

// A hostile guest's kHcTty with garbage in one field at a time: EINVAL
// each time, never a crash, and the terminal untouched.
TEST(TtyExits, GarbageRequestsAreEinval) {
    REQUIRE_KVM();
    Pty pty;
    if (pty.slave < 0)
        GTEST_SKIP() << "SKIPPED: no pseudo-terminals here";
    termios before{}, after{};
    ASSERT_EQ(::tcgetattr(pty.slave, &before), 0);
    RunOptions o;
    o.stdin_fd = pty.slave;
    auto r = run_guest("hostile.musl", {"ttygarbage"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    std::string want;
    for (int i = 0; i < 12; ++i)
        want += "case " + std::to_string(i) + ": -22\n";
    EXPECT_EQ(r.out, want);
    ASSERT_EQ(::tcgetattr(pty.slave, &after), 0);
    EXPECT_TRUE(same_termios(after, before)) << flags_of(after);
}

// The same readiness on a pipe stdin: the writer sends one byte after
// 1.5 s and another after 3 s, so each timed wait sees none (poll0, epoll0)
// and each untimed one is woken by the byte.
TEST(StdinPipe, ReadinessOfAPipe) {
    REQUIRE_KVM();
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    std::thread writer([w = p[1]] {
        for (const char* c : {"a", "b"}) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1500));
            (void)!::write(w, c, 1);
        }
        ::close(w);
    });
    RunOptions o;
    o.stdin_fd = p[0];
    auto r = run_guest("ttyraw.musl", {"ready"}, "", o);
    writer.join();
    ::close(p[0]);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out,
              "ready\r\npoll0 0\r\npoll1 1\r\ngot 61\r\nselect 0\r\nnonblock EAGAIN\r\nepoll0 0\r\n"
              "epoll1 1\r\ngot 62\r\n");
}

}  // namespace
}  // namespace lightvm::test

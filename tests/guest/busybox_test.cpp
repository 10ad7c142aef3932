// A real-world unmodified static binary: Debian's busybox-static. Each applet
// runs inside a VM and natively; stdout and exit status must agree.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ostream>

#include "guest_test_util.hpp"

namespace lightvm::test {
namespace {


struct Applet {
    const char* name;  // test name
    std::vector<std::string> args;
    std::string stdin_data;
    // Optional literal expectation on top of "same as native".
    const char* expect_out = nullptr;
    int expect_status = 0;
};

void PrintTo(const Applet& a, std::ostream* os) { *os << a.name; }

std::string lines(int n) {
    std::string s;
    for (int i = 0; i < n; ++i)
        s += "line " + std::to_string((i * 7919) % n) + "\n";
    return s;
}

std::vector<Applet> applets() {
    return {
        {"echo", {"echo", "hello", "world"}, "", "hello world\n", 0},
        {"true", {"true"}, "", "", 0},
        {"false", {"false"}, "", "", 1},
        {"uname", {"uname", "-s"}, "", "Linux\n", 0},
        {"sha256sum", {"sha256sum"}, random_bytes(1 << 20, 42), nullptr, 0},
        {"wc_l", {"wc", "-l"}, lines(1000), nullptr, 0},
        {"sort", {"sort"}, lines(2000), nullptr, 0},
        {"sort_n_r", {"sort", "-n", "-r"}, "3\n10\n2\n", "10\n3\n2\n", 0},
        {"tr", {"tr", "a-z", "A-Z"}, "hello, lightvm\n", "HELLO, LIGHTVM\n", 0},
        {"head", {"head", "-n", "3"}, lines(100), nullptr, 0},
        {"base64", {"base64"}, random_bytes(3000, 7), nullptr, 0},
        {"seq", {"seq", "1", "1000"}, "", nullptr, 0},
        {"printf", {"printf", "%s-%d\\n", "a", "5"}, "", "a-5\n", 0},
        {"expr", {"expr", "6", "*", "7"}, "", "42\n", 0},
        {"expr_false", {"expr", "0", "+", "0"}, "", "0\n", 1},
        {"od", {"od", "-An", "-tx1"}, "lightvm\x01\xff", nullptr, 0},
        {"md5sum", {"md5sum"}, random_bytes(100000, 9), nullptr, 0},
        {"cat", {"cat"}, random_bytes(300000, 11), nullptr, 0},
        {"uniq_c", {"uniq", "-c"}, "a\na\nb\nc\nc\nc\n", nullptr, 0},
        {"cut", {"cut", "-d:", "-f2"}, "a:b:c\n1:2:3\n", "b\n2\n", 0},
        {"basename", {"basename", "/usr/bin/busybox"}, "", "busybox\n", 0},
        {"test_fails", {"test", "1", "-eq", "2"}, "", "", 1},
    };
}



class BusyboxTest : public ::testing::TestWithParam<Applet> {
protected:
    void SetUp() override { REQUIRE_BUSYBOX(); }
};

TEST_P(BusyboxTest, SameAsNative) {
    const Applet& a = GetParam();
    auto r = run_guest(kBusybox, a.args, a.stdin_data);
    std::vector<std::string> argv{kBusybox};
    argv.insert(argv.end(), a.args.begin(), a.args.end());
    auto native = run_host(argv, a.stdin_data);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.report, "");
    EXPECT_EQ(r.status, native.status) << describe(r);
    EXPECT_EQ(r.out, native.out);
    EXPECT_EQ(r.status, a.expect_status) << describe(r);
    if (a.expect_out) {
        EXPECT_EQ(r.out, a.expect_out);
    }
    EXPECT_EQ(r.err, native.err);
}

INSTANTIATE_TEST_SUITE_P(Applets, BusyboxTest, ::testing::ValuesIn(applets()),
                         [](const ::testing::TestParamInfo<Applet>& info) { return std::string(info.param.name); });

// Debian's busybox is linked against glibc, whose stdio asks tcgetattr()
// about character devices such as /dev/null.
TEST(Busybox, StdinFromDevNull) {
    REQUIRE_BUSYBOX();
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    RunOptions o;
    o.stdin_fd = fd;
    auto r = run_guest(kBusybox, {"sort"}, "", o);
    ::close(fd);
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.err.find("stack smashing"), std::string::npos)
        << "regression: ioctl(TCGETS) must write exactly the kernel's 36-byte struct termios";
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, "");
}

TEST(Busybox, DevNullIsNotATerminal) {
    REQUIRE_BUSYBOX();
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    RunOptions o;
    o.stdin_fd = fd;
    auto r = run_guest(kBusybox, {"test", "-t", "0"}, "", o);
    ::close(fd);
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.err.find("stack smashing"), std::string::npos) << "regression: TCGETS overflow";
    EXPECT_EQ(r.status, 1) << describe(r);
}

}  // namespace
}  // namespace lightvm::test

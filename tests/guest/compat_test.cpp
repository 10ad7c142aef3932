// Linux compatibility of what the kernel makes up itself (issue 11): file
// identity of synthetic directories and devices, getcwd by walking `..`
// (zsh without PWD), the device files, and the process attributes a
// program sets and reads back. Real programs, compared with native runs.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "guest_test_util.hpp"
#include "pty.hpp"

namespace lightvm::test {
namespace {

namespace fsys = std::filesystem;

constexpr const char* kZsh = "/bin/zsh-static";
constexpr const char* kBash = "/bin/bash-static";

std::string prog(const std::string& name, const std::string& libc) { return name + "." + libc; }

// A temp directory tree, removed at the end.
struct TempTree {
    std::string root;
    TempTree() {
        char buf[] = "/tmp/lightvm-compat-XXXXXX";
        if (::mkdtemp(buf))
            root = buf;
    }
    ~TempTree() {
        std::error_code ec;
        if (!root.empty())
            fsys::remove_all(root, ec);
    }
};

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

// Runs program p natively in a fresh host directory, then in a VM in each
// of `wheres` (the host directory shared at /work, or the tmpfs /tmp): the
// outputs must be the same, and the program must leave the share empty.
// Returns the native output for further checks.
std::string expect_same_as_native(const std::string& p, std::initializer_list<const char*> wheres) {
    TempTree t;
    fsys::create_directories(t.root + "/vm");
    fsys::create_directories(t.root + "/native");
    std::string here = fsys::current_path().string();
    fsys::current_path(t.root + "/native");
    auto n = run_host({guest_path(p)});
    fsys::current_path(here);
    for (const char* where : wheres) {
        RunOptions o;
        o.shares.push_back({t.root + "/vm", "/work", false});
        o.cwd = where;
        auto r = run_guest(p, {}, "", o);
        EXPECT_TRUE(r.ok) << where << ": " << r.error;
        EXPECT_EQ(r.status, 0) << where << ": " << describe(r);
        EXPECT_EQ(r.out, n.out) << where;
    }
    EXPECT_TRUE(fsys::is_empty(t.root + "/vm")) << "the program removes what it made";
    return n.out;
}

// Whether the file system of the test's temp directories keeps user.*
// extended attributes (the share's attributes are the host file's).
bool host_has_user_xattrs() {
    TempTree t;
    std::string probe = t.root + "/probe";
    { std::ofstream(probe) << "x"; }
    return ::setxattr(probe.c_str(), "user.probe", "1", 1, 0) == 0;
}

#define REQUIRE_FILE(path)                                                              \
    do {                                                                                \
        REQUIRE_KVM();                                                                  \
        if (::access(path, X_OK) != 0)                                                  \
            GTEST_SKIP() << "SKIPPED: " << path << " missing (scripts/install-deps.sh)"; \
    } while (0)

class CompatProgram : public ::testing::TestWithParam<std::string> {};

// /dev/null, zero, full, random, urandom, tty nodes; /dev/full's ENOSPC;
// /dev/fd/N, /dev/stdout, /proc/self/fd/N; pipe identities.
TEST_P(CompatProgram, DevicesAsNatively) {
    REQUIRE_KVM();
    std::string p = prog("devices", GetParam());
    auto r = run_guest(p, {});
    auto n = run_host({guest_path(p)});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, n.out);
    EXPECT_NE(r.out.find("full: write -1 No space left on device"), std::string::npos) << r.out;
}

// Nice values, I/O priorities, policies, affinity, personality, prctl.
TEST_P(CompatProgram, SchedulingAttributesAsNatively) {
    REQUIRE_KVM();
    if (::geteuid() != 0)
        GTEST_SKIP() << "SKIPPED: the native run must be root (it lowers its nice value back)";
    std::string p = prog("sched_attrs", GetParam());
    auto r = run_guest(p, {});
    auto n = run_host({guest_path(p)});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, n.out);
}

// The clock is read-only in the VM: the query works, changes are EPERM.
TEST_P(CompatProgram, ClockAdjtimeIsReadOnly) {
    REQUIRE_KVM();
    auto r = run_guest(prog("sched_attrs", GetParam()), {"guest"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_NE(r.out.find("adjtimex query: state 5 unsync 1 tick 10000 time-now 1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("adjtimex(&tx)                                              = -1 Operation not permitted"),
              std::string::npos) << r.out;
    EXPECT_NE(r.out.find("clock_adjtime(CLOCK_REALTIME, &tx)                         = 5"), std::string::npos);
    // EOPNOTSUPP: "Operation not supported" (glibc), "Not supported" (musl).
    EXPECT_NE(r.out.find("clock_adjtime(CLOCK_MONOTONIC, &tx)                        = -1 "), std::string::npos);
    EXPECT_NE(r.out.find("ot supported\n"), std::string::npos);
}

// FIFOs (mkfifo, mknod S_IFIFO) in a share with their data in the guest,
// mknod of regular files, fallocate, chown: the same results as natively
// in the same kind of directory.
TEST_P(CompatProgram, NamedPipesFallocateChownAsNatively) {
    REQUIRE_KVM();
    TempTree t;
    fsys::create_directories(t.root + "/vm");
    fsys::create_directories(t.root + "/native");
    std::string p = prog("fsnodes", GetParam());
    RunOptions o;
    o.shares.push_back({t.root + "/vm", "/work", false});
    o.cwd = "/work";
    auto r = run_guest(p, {}, "", o);
    std::string here = fsys::current_path().string();
    fsys::current_path(t.root + "/native");
    auto n = run_host({guest_path(p)});
    fsys::current_path(here);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, n.out);
    EXPECT_TRUE(fsys::is_empty(t.root + "/vm")) << "the program removes what it made";
}

// Device nodes are refused; a chown to another owner either happens on the
// host or fails with EPERM, never "succeeds" without effect.
TEST_P(CompatProgram, ChownIsRealOrAnError) {
    REQUIRE_KVM();
    TempTree t;
    fsys::create_directories(t.root + "/vm");
    RunOptions o;
    o.shares.push_back({t.root + "/vm", "/work", false});
    o.cwd = "/work";
    auto r = run_guest(prog("fsnodes", GetParam()), {"guest"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_NE(r.out.find("mknod(\"node-chr\", S_IFCHR | 0600, makedev(1, 3)) -1 "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("mknod(\"node-blk\", S_IFBLK | 0600, makedev(8, 0)) -1 "), std::string::npos) << r.out;
    EXPECT_FALSE(fsys::exists(t.root + "/vm/node-chr"));
    struct stat st{};
    ASSERT_EQ(::stat((t.root + "/vm/owned").c_str(), &st), 0);
    bool changed = st.st_uid == 4242 && st.st_gid == 4243;
    long said = 1;
    for (const std::string& line : split_lines(r.out))
        if (line.rfind("fchown(fd, 4242, 4243)", 0) == 0)
            said = std::stol(line.substr(40));
    EXPECT_EQ(said, changed ? 0 : -1) << "the host file " << (changed ? "changed" : "did not change") << ": " << r.out;
}

// The same program in /tmp: a tmpfs in guest RAM, where FIFOs, mknod,
// fallocate (and hole punching) and chown behave as in a directory on Linux.
TEST_P(CompatProgram, TmpfsAsNatively) {
    REQUIRE_KVM();
    TempTree t;
    std::string p = prog("fsnodes", GetParam());
    RunOptions o;
    o.cwd = "/tmp";
    auto r = run_guest(p, {}, "", o);
    std::string here = fsys::current_path().string();
    fsys::current_path(t.root);
    auto n = run_host({guest_path(p)});
    fsys::current_path(here);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, n.out);
}

// flock, POSIX and OFD record locks, sync and I/O hints, preadv2/pwritev2,
// utime/utimes/futimesat, mlockall, capget's version probe: the same as a
// native run, in a share and in the tmpfs.
TEST_P(CompatProgram, LocksHintsAndTimesAsNatively) {
    REQUIRE_KVM();
    if (::geteuid() != 0)
        GTEST_SKIP() << "SKIPPED: the native run must be root (mlockall without RLIMIT_MEMLOCK)";
    std::string native = expect_same_as_native(prog("filecalls", GetParam()), {"/work", "/tmp"});
    EXPECT_NE(native.find("OFD_GETLK b wr [2,3)"), std::string::npos) << native;
}

// Extended attributes (user.*): in a share they are the host file's, in
// the tmpfs the guest keeps them; both give what a native run gives in a
// host directory (the test needs a host file system with user.* support).
TEST_P(CompatProgram, XattrsAsNatively) {
    REQUIRE_KVM();
    if (!host_has_user_xattrs())
        GTEST_SKIP() << "SKIPPED: the host file system has no user.* attributes";
    std::string native = expect_same_as_native(prog("xattrs", GetParam()), {"/work", "/tmp"});
    EXPECT_NE(native.find("get xf user.a: 5 \"hello\""), std::string::npos) << native;
}

// inotify: the events of the program's own changes to a directory and a
// file, in a share and in the tmpfs, as natively in a host directory.
TEST_P(CompatProgram, InotifyAsNatively) {
    REQUIRE_KVM();
    std::string native = expect_same_as_native(prog("inotify", GetParam()), {"/work", "/tmp"});
    EXPECT_NE(native.find("   dir MOVED_TO len 16 g cookie same\n"), std::string::npos) << native;
}

// linkat(AT_SYMLINK_FOLLOW) links the symlink's target, without the flag
// the link itself (as link() does): in a share, as natively.
TEST_P(CompatProgram, LinkatFollowsAsNatively) {
    REQUIRE_KVM();
    std::string native = expect_same_as_native(prog("links", GetParam()), {"/work"});
    EXPECT_NE(native.find("target and followed: same inode, not a symlink"), std::string::npos) << native;
}

// A share's attributes are the host file's; only user.* passes (trusted.*,
// security.* and ACLs are the host's business); kernel files have none.
TEST(Xattrs, ShareAttributesAreTheHostFiles) {
    REQUIRE_KVM();
    if (!host_has_user_xattrs())
        GTEST_SKIP() << "SKIPPED: the host file system has no user.* attributes";
    TempTree t;
    RunOptions o;
    o.shares.push_back({t.root, "/work", false});
    o.cwd = "/work";
    auto r = run_guest(prog("xattrs", "glibc"), {"guest"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    char value[64] = {};
    ssize_t n = ::getxattr((t.root + "/kept").c_str(), "user.kept", value, sizeof value);
    EXPECT_EQ(std::string(value, n > 0 ? static_cast<size_t>(n) : 0), "from the guest") << r.out;
    for (const char* call : {"fsetxattr(k, \"trusted.t\"", "fsetxattr(k, \"security.s\"",
                             "fgetxattr(k, \"system.posix_acl_access\"", "getxattr(\"/dev/null\""}) {
        auto at = r.out.find(call);
        ASSERT_NE(at, std::string::npos) << call << ": " << r.out;
        std::string line = r.out.substr(at, r.out.find('\n', at) - at);
        EXPECT_TRUE(line.ends_with(" -1 Operation not supported")) << line;
    }
    EXPECT_EQ(::getxattr((t.root + "/kept").c_str(), "trusted.t", value, sizeof value), -1);
    auto list = r.out.find("listxattr(\"/proc/self/status\"");
    ASSERT_NE(list, std::string::npos) << r.out;
    EXPECT_TRUE(r.out.substr(list, r.out.find('\n', list) - list).ends_with(" 0 ")) << "an empty list: " << r.out;
}

// memfd_create and seals, copy_file_range/splice/tee/vmsplice/sendfile,
// /dev/fd/N reopened as a new open file, path calls through /proc/self/fd,
// chroot: the same output as a native run, in a share and in the tmpfs.
TEST_P(CompatProgram, MemfdSpliceReopenChrootAsNatively) {
    REQUIRE_KVM();
    if (::geteuid() != 0)
        GTEST_SKIP() << "SKIPPED: the native run must be root (chroot)";
    std::string native = expect_same_as_native(prog("fdcalls", GetParam()), {"/work", "/tmp"});
    EXPECT_NE(native.find("memfd link: /memfd:test (deleted)"), std::string::npos) << native;
    EXPECT_NE(native.find("cat /../../sub/f: 7 \"in jail\""), std::string::npos) << native;
}

// Root in its VM: every capability, which capset can only give up; the
// VM's own host and domain names (sethostname needs CAP_SYS_ADMIN).
TEST_P(CompatProgram, CapabilitiesAndHostnamePerVm) {
    REQUIRE_KVM();
    RunOptions o;
    o.cwd = "/tmp";
    auto r = run_guest(prog("filecalls", GetParam()), {"guest"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_NE(r.out.find("caps eff 000001ffffffffff prm 000001ffffffffff inh 0000000000000000"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("uname: myvm example.org\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("gethostname: myvm\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sethostname(\"other\", 5)                                      -1 "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sethostname(\"again\", 5)                                      0 "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sethostname(\"never\", 5)                                      -1 "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("uname: again example.org\n"), std::string::npos) << r.out;
    // Each VM has its own names: a new one starts from the default again.
    auto u = run_guest(kBusybox, {"uname", "-n"});
    EXPECT_EQ(u.out, "lightvm\n");
}


// Runs path natively with stdin on `tty`, stdout captured.
std::string run_host_on_tty(const std::string& path, int tty) {
    int p[2];
    if (::pipe(p) != 0)
        return "pipe failed";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(tty, 0);
        ::dup2(p[1], 1);
        ::execl(path.c_str(), path.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(p[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return out;
}

// Terminal ioctls with stdin on a terminal: the VM starts from the host
// terminal's settings and size, keeps what TCSETS*/TIOCSWINSZ set and gives
// it back, as natively (where they change the terminal itself).
TEST_P(CompatProgram, TerminalSettingsAsNatively) {
    REQUIRE_KVM();
    Pty pty;
    if (pty.slave < 0)
        GTEST_SKIP() << "SKIPPED: no pseudo-terminals here";
    const winsize ws{33, 77, 0, 0};
    ASSERT_EQ(::ioctl(pty.master, TIOCSWINSZ, &ws), 0);
    std::string p = prog("tty", GetParam());
    std::string native = run_host_on_tty(guest_path(p), pty.slave);
    RunOptions o;
    o.stdin_fd = pty.slave;
    auto r = run_guest(p, {}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, native);
    EXPECT_NE(r.out.find("winsize 33 x 77\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("raw reflected 1 (icanon 0 echo 0)\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("winsize now 40 x 100\n"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Libc, CompatProgram, ::testing::Values("glibc", "musl"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// rename() between file systems (two shares, a share and the tmpfs, /tmp
// and /dev/shm) is EXDEV, so mv falls back to copy and unlink, as natively
// between mounts: the files arrive, the sources are gone.
TEST(FileNames, MoveAcrossFileSystemsCopies) {
    REQUIRE_BUSYBOX();
    TempTree t;
    fsys::create_directories(t.root + "/a/dir");
    fsys::create_directories(t.root + "/b");
    { std::ofstream(t.root + "/a/f") << "share a"; }
    { std::ofstream(t.root + "/a/dir/inner") << "tree"; }
    RunOptions o;
    o.shares.push_back({t.root + "/a", "/a", false});
    o.shares.push_back({t.root + "/b", "/b", false});
    auto r = run_guest(kBusybox,
                       {"sh", "-c",
                        "mv /a/f /b/f && mv /a/dir /b/dir && cp /b/f /tmp/t && mv /tmp/t /dev/shm/t && "
                        "mv /dev/shm/t /a/back && cat /b/f /b/dir/inner /a/back && ls /a /tmp /dev/shm"},
                       "", o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, "share atreeshare a/a:\nback\n\n/dev/shm:\n\n/tmp:\n");
    EXPECT_FALSE(fsys::exists(t.root + "/a/f"));
    EXPECT_FALSE(fsys::exists(t.root + "/a/dir"));
    EXPECT_TRUE(fsys::exists(t.root + "/b/dir/inner"));
    EXPECT_TRUE(fsys::exists(t.root + "/a/back"));
}

// Every file the guest can name has its own (st_dev, st_ino), stable over
// the run; a share keeps the host's identity, including for hard links.
TEST(FileIdentity, DistinctStableAndHostIdentityInShares) {
    REQUIRE_BUSYBOX();
    TempTree t;
    ASSERT_FALSE(t.root.empty());
    std::string share = t.root + "/share";
    fsys::create_directories(share + "/sub");
    { std::ofstream(share + "/file") << "x"; }
    ASSERT_EQ(::link((share + "/file").c_str(), (share + "/hardlink").c_str()), 0);
    RunOptions o;
    o.shares.push_back({share, "/work/app", false});
    const std::vector<std::string> paths = {
        "/", "/work", "/work/app", "/work/app/sub", "/work/app/file", "/dev", "/dev/fd", "/proc", "/proc/self",
        "/proc/self/fd", "/proc/mounts", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
        "/dev/tty"};
    std::vector<std::string> args = {"stat", "-c", "%d:%i %h %n"};
    args.insert(args.end(), paths.begin(), paths.end());
    args.insert(args.end(), paths.begin(), paths.end());  // twice: stable
    auto r = run_guest(kBusybox, args, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.status, 0) << describe(r);
    auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 2 * paths.size()) << r.out;
    std::map<std::string, std::string> id_of;  // path -> dev:ino
    std::set<std::string> ids;
    for (size_t i = 0; i < paths.size(); ++i) {
        std::istringstream first(lines[i]), again(lines[i + paths.size()]);
        std::string id, id2, nlink, name;
        first >> id >> nlink >> name;
        again >> id2;
        EXPECT_EQ(name, paths[i]);
        EXPECT_EQ(id, id2) << name << ": identity changed between two stats";
        EXPECT_TRUE(ids.insert(id).second) << name << " has the identity of another file: " << id;
        id_of[name] = id;
    }
    struct stat host{};
    ASSERT_EQ(::stat(share.c_str(), &host), 0);
    EXPECT_EQ(id_of["/work/app"], std::to_string(host.st_dev) + ":" + std::to_string(host.st_ino));
    ASSERT_EQ(::stat((share + "/file").c_str(), &host), 0);
    EXPECT_EQ(id_of["/work/app/file"], std::to_string(host.st_dev) + ":" + std::to_string(host.st_ino));

    auto ef = run_guest(kBusybox, {"test", "/work/app/file", "-ef", "/work/app/hardlink"}, "", o);
    EXPECT_EQ(ef.status, 0) << "hard links must compare equal with -ef: " << describe(ef);
    auto nef = run_guest(kBusybox, {"test", "/dev/zero", "-ef", "/dev/null"}, "", o);
    EXPECT_EQ(nef.status, 1) << describe(nef);
}

// A directory's link count is 2 + its subdirectories, as on Linux.
TEST(FileIdentity, DirectoryLinkCounts) {
    REQUIRE_BUSYBOX();
    TempTree t;
    fsys::create_directories(t.root + "/a");
    RunOptions o;
    o.shares.push_back({t.root + "/a", "/srv/one", false});
    o.shares.push_back({t.root + "/a", "/srv/two", true});
    auto r = run_guest(kBusybox, {"stat", "-c", "%h %n", "/", "/srv", "/dev", "/proc", "/proc/self", "/dev/fd"}, "", o);
    ASSERT_TRUE(r.ok) << r.error;
    // "/": dev, proc, srv, tmp. /srv: one, two. /dev: fd, pts, shm. /proc: the one
    // process's directory. /proc/self: a link (busybox stat does not follow).
    EXPECT_EQ(r.out, "6 /\n4 /srv\n5 /dev\n3 /proc\n1 /proc/self\n2 /dev/fd\n");
}

// zsh finds its directory by walking `..` and comparing identities when
// PWD is not set (the guest gets no host environment): it must agree with
// getcwd inside shares, in synthetic directories and at mount points.
TEST(ShellCwd, ZshWithoutPwdWalksDotDot) {
    REQUIRE_FILE(kZsh);
    TempTree t;
    std::string share = t.root + "/share";
    fsys::create_directories(share + "/d1/d2");
    RunOptions o;
    o.shares.push_back({share, "/work/app", false});
    struct Case {
        std::string cwd, expect;
    };
    for (const Case& c : std::vector<Case>{{"/work/app/d1/d2", "/work/app/d1/d2"},
                                           {"/work/app", "/work/app"},
                                           {"/work", "/work"},
                                           {"/dev/fd", "/dev/fd"},
                                           {"/", "/"}}) {
        o.cwd = c.cwd;
        auto r = run_guest(kZsh, {"-f", "-c", "print -r -- $PWD; cd ..; print -r -- $PWD; pwd -P"}, "", o);
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(r.status, 0) << describe(r);
        std::string parent = c.expect == "/" ? "/" : fsys::path(c.expect).parent_path().string();
        EXPECT_EQ(r.out, c.expect + "\n" + parent + "\n" + parent + "\n") << "cwd " << c.cwd << ": " << r.err;
    }
}

// A script with cd, pwd -P, globbing and here documents (no fork: builtins
// only), the same in bash and zsh inside a VM and natively.
TEST(ShellCwd, ScriptsAsNatively) {
    REQUIRE_FILE(kZsh);
    REQUIRE_FILE(kBash);
    TempTree t;
    for (const char* d : {"/vm", "/native"}) {
        fsys::create_directories(t.root + d + "/d1/d2");
        fsys::create_directories(t.root + d + "/zsh-tmp");
        for (const char* f : {"/b.txt", "/a.txt", "/c.log"})
            std::ofstream(t.root + d + f) << f;
    }
    const std::string script =
        "cd d1/d2; pwd -P; cd ../..; for f in *.txt; do echo \"glob $f\"; done\n"
        "while read -r a b; do echo \"hd $a|$b\"; done <<EOF\n"
        "one two\nthree $((6 * 7))\nEOF\n"
        "cd ..; cd -; echo \"back ${PWD##*/}\"\n";
    for (const char* shell : {kBash, kZsh}) {
        RunOptions o;
        o.shares.push_back({t.root + "/vm", t.root + "/native", false});  // the same path in the VM
        o.cwd = t.root + "/native";
        o.env = {"TMPPREFIX=" + t.root + "/native/zsh-tmp/zsh"};  // zsh's here-document files
        std::vector<std::string> args = {"-c", script};
        if (std::string(shell) == kZsh)
            args.insert(args.begin(), "-f");
        auto r = run_guest(shell, args, "", o);
        ASSERT_TRUE(r.ok) << r.error;
        std::vector<std::string> argv = {"/usr/bin/env", "-i", "TMPPREFIX=" + t.root + "/native/zsh-tmp/zsh", shell};
        argv.insert(argv.end(), args.begin(), args.end());
        std::string here = fsys::current_path().string();
        fsys::current_path(t.root + "/native");
        auto n = run_host(argv);
        fsys::current_path(here);
        EXPECT_EQ(r.status, n.status) << shell << ": " << describe(r);
        EXPECT_EQ(r.out, n.out) << shell;
        EXPECT_EQ(r.err, n.err) << shell;
        EXPECT_NE(r.out.find("hd three|42"), std::string::npos) << shell << ": " << r.out << r.err;
    }
}

// /tmp and /dev/shm exist, are writable, are listed, and keep to their size.
TEST(Tmpfs, WritableListedAndLimited) {
    REQUIRE_BUSYBOX();
    auto r = run_guest(kBusybox, {"stat", "-c", "%a %F %n", "/tmp", "/dev/shm"});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.out, "1777 directory /tmp\n1777 directory /dev/shm\n") << r.err;
    auto ls = run_guest(kBusybox, {"ls", "/", "/dev"});
    EXPECT_NE(ls.out.find("tmp"), std::string::npos) << ls.out;
    EXPECT_NE(ls.out.find("shm"), std::string::npos) << ls.out;

    RunOptions o;
    o.tmpfs.push_back({"/scratch", 1u << 20});
    auto full = run_guest(kBusybox, {"dd", "if=/dev/zero", "of=/scratch/f", "bs=64k", "count=100"}, "", o);
    ASSERT_TRUE(full.ok) << full.error;
    EXPECT_EQ(full.status, 1) << describe(full);
    EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;
    EXPECT_NE(full.err.find("16+0 records out"), std::string::npos) << "1 MiB fits, no more: " << full.err;
    auto df = run_guest(kBusybox, {"df", "-k", "/scratch"}, "", o);
    EXPECT_NE(df.out.find("tmpfs                     1024"), std::string::npos) << df.out;

    // Its pages are guest RAM frames: a tmpfs allowed more than --mem stops
    // when the frames run out, before its own limit.
    RunOptions small;
    small.mem_size = 32ull << 20;
    small.tmpfs.push_back({"/scratch", 64ull << 20});
    auto oom = run_guest(kBusybox, {"dd", "if=/dev/zero", "of=/scratch/f", "bs=1M", "count=64"}, "", small);
    ASSERT_TRUE(oom.ok) << oom.error;
    EXPECT_EQ(oom.status, 1) << describe(oom);
    EXPECT_NE(oom.err.find("No space left on device"), std::string::npos) << oom.err;
    EXPECT_EQ(oom.err.find("32+0 records out"), std::string::npos) << "more than --mem written: " << oom.err;

    auto tmp = run_guest(kBusybox, {"mktemp"});
    EXPECT_EQ(tmp.status, 0) << describe(tmp);
    EXPECT_EQ(tmp.out.rfind("/tmp/tmp.", 0), 0u) << tmp.out;
}

// The shell script: cd, pwd -P, globbing and here documents in
// /tmp, without PWD (zsh writes here-documents to /tmp/zsh*).
TEST(Tmpfs, ShellScriptsInTmp) {
    REQUIRE_FILE(kZsh);
    REQUIRE_FILE(kBash);
    const std::string script =
        "cd /tmp; echo one > b.txt; echo two > a.txt; : > c.log\n"
        "for f in *.txt; do read -r line < $f; echo \"$f $line\"; done\n"
        "while read -r a b; do echo \"hd $a|$b\"; done <<EOF\n"
        "x $((6 * 7))\nEOF\n"
        "cd /dev/shm; pwd -P; cd /tmp; pwd -P; echo \"$PWD\"\n";
    for (const char* shell : {kBash, kZsh}) {
        std::vector<std::string> args = {"-c", script};
        if (std::string(shell) == kZsh)
            args.insert(args.begin(), "-f");
        auto r = run_guest(shell, args);
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(r.status, 0) << shell << ": " << describe(r);
        EXPECT_EQ(r.out, "a.txt two\nb.txt one\nhd x|42\n/dev/shm\n/tmp\n/tmp\n") << shell << ": " << r.err;
    }
}

}  // namespace
}  // namespace lightvm::test

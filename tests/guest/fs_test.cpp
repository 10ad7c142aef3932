// File and storage features through a real, unmodified static binary
// (Debian's busybox-static): host directory shares (--fs, --rootfs), their
// confinement, block devices (--disk) and stdio as real streams.
//
// Most commands run twice: inside a VM on one copy of a temp tree (shared at
// its host path, guest cwd = the tree) and natively on an identical copy;
// stdout, stderr, exit status and (for commands that change things) the
// resulting trees must agree.
//
// Every test builds its own tree under a dedicated temp parent:
//   PARENT/share    what the guest gets
//   PARENT/native   the identical copy for native runs
//   PARENT/outside  a secret the guest must never reach
// and after an escape attempt checks that nothing in PARENT outside the share
// changed (or was read: atime, where the host file system updates it).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "guest_test_util.hpp"

extern char** environ;

namespace lightvm::test {
namespace {

// 2020-01-02 03:04:05 UTC: every entry of a fresh tree gets this mtime, so
// that two copies list identically.
constexpr time_t kFixedTime = 1577934245;
const std::string kLightvmBinary = std::string(LIGHTVM_GUEST_DIR) + "/../src/lightvm";

// ---------------------------------------------------------------------------
// Host-side helpers
// ---------------------------------------------------------------------------



bool write_file(const std::string& path, const std::string& data, mode_t mode = 0644) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return false;
    size_t done = 0;
    while (done < data.size()) {
        ssize_t w = ::write(fd, data.data() + done, data.size() - done);
        if (w <= 0) {
            ::close(fd);
            return false;
        }
        done += static_cast<size_t>(w);
    }
    ::fchmod(fd, mode);
    return ::close(fd) == 0;
}

// Contents of a file, or "<missing: strerror>". Without touching its atime
// where allowed (so that reads by the guest stay detectable).
std::string read_file(const std::string& path, bool noatime = true) {
    int fd = noatime ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME) : -1;
    if (fd < 0)
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::string("<missing: ") + std::strerror(errno) + ">";
    std::string s;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        s.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return s;
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

struct stat lstat_of(const std::string& path) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0)
        st.st_mode = 0;
    return st;
}

void set_fixed_time(const std::string& path) {
    timespec ts[2] = {{kFixedTime, 0}, {kFixedTime, 0}};
    ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

uint64_t fnv_update(uint64_t h, const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        h ^= static_cast<unsigned char>(data[i]);
        h *= 0x100000001b3ull;
    }
    return h;
}
uint64_t fnv1a(const std::string& s) { return fnv_update(0xcbf29ce484222325ull, s.data(), s.size()); }

// Printable form of a name that may hold any byte.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        }
    }
    return out;
}

enum Mtimes { kNoMtimes, kFileMtimes, kAllMtimes };

void walk(const std::string& dir, const std::string& rel, Mtimes mtimes, const std::vector<std::string>& skip,
          std::vector<std::string>& out) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        out.push_back(printable(rel) + " <unreadable: " + std::strerror(errno) + ">");
        return;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != ".." && (!rel.empty() || std::find(skip.begin(), skip.end(), n) == skip.end()))
            names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        std::string full = dir + "/" + n, r = rel.empty() ? n : rel + "/" + n;
        struct stat st{};
        if (::lstat(full.c_str(), &st) != 0)
            continue;
        std::ostringstream line;
        line << printable(r) << " mode=" << std::oct << (st.st_mode & 07777) << std::dec;
        if (S_ISDIR(st.st_mode)) {
            line << " dir nlink=" << st.st_nlink;
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n2 = ::readlink(full.c_str(), target, sizeof target);
            line << " link -> " << printable(std::string(target, n2 > 0 ? static_cast<size_t>(n2) : 0));
        } else if (S_ISREG(st.st_mode)) {
            line << " file size=" << st.st_size << " nlink=" << st.st_nlink << " fnv=" << std::hex
                 << fnv1a(read_file(full)) << std::dec;
        } else {
            line << " other";
        }
        if (mtimes == kAllMtimes || (mtimes == kFileMtimes && S_ISREG(st.st_mode)))
            line << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
        out.push_back(line.str());
        if (S_ISDIR(st.st_mode))
            walk(full, r, mtimes, skip, out);
    }
}

// One line per entry below root, sorted: name, mode, type, size, link count,
// content hash or link target (and mtimes when asked). Top-level names in
// `skip` are left out.
std::string snapshot(const std::string& root, Mtimes mtimes = kNoMtimes, const std::vector<std::string>& skip = {}) {
    std::vector<std::string> lines;
    walk(root, "", mtimes, skip, lines);
    std::string s;
    for (const auto& l : lines)
        s += l + "\n";
    return s;
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> v;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);)
        v.push_back(l);
    return v;
}

std::string sorted_lines(const std::string& s) {
    auto v = split_lines(s);
    std::sort(v.begin(), v.end());
    std::string out;
    for (const auto& l : v)
        out += l + "\n";
    return out;
}


bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

UniqueFd memfd_with(const char* name, const std::string& data) {
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
    if (fd.valid() && !data.empty()) {
        size_t done = 0;
        while (done < data.size()) {
            ssize_t w = ::write(fd.get(), data.data() + done, data.size() - done);
            if (w <= 0)
                break;
            done += static_cast<size_t>(w);
        }
        ::lseek(fd.get(), 0, SEEK_SET);
    }
    return fd;
}

std::string drain(int fd) {
    std::string s;
    ::lseek(fd, 0, SEEK_SET);
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        s.append(buf, static_cast<size_t>(n));
    return s;
}

// argv natively with cwd, a fixed small environment (UTC, C locale) and
// stdin from stdin_data; stdout/stderr captured.
HostRun run_native(const std::vector<std::string>& argv, const std::string& cwd, const std::string& stdin_data = "") {
    HostRun h;
    UniqueFd in = memfd_with("native-stdin", stdin_data);
    UniqueFd out = memfd_with("native-stdout", "");
    UniqueFd err = memfd_with("native-stderr", "");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, out.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err.get(), 2);
    posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    std::vector<char*> cargv;
    for (const auto& a : argv)
        cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    std::string e1 = "TZ=UTC0", e2 = "LC_ALL=C", e3 = "PATH=/usr/bin:/bin";
    char* envp[] = {e1.data(), e2.data(), e3.data(), nullptr};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv.at(0).c_str(), &fa, nullptr, cargv.data(), envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        h.status = 127;
        h.err = std::string("posix_spawn: ") + std::strerror(rc);
        return h;
    }
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    h.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
    h.out = drain(out.get());
    h.err = drain(err.get());
    return h;
}

// ---------------------------------------------------------------------------
// The temp tree
// ---------------------------------------------------------------------------

std::string lines_text(int n) {
    std::string s;
    for (int i = 0; i < n; ++i)
        s += "line " + std::to_string((i * 7919) % n) + "\n";
    return s;
}

// Same tree every time: files, nested directories, an empty directory, a
// symlink, a hard link, checksum files; every mtime kFixedTime.
void build_tree(const std::string& root) {
    for (const char* d : {"docs", "docs/deep", "docs/deep/er", "src", "empty"})
        ::mkdir((root + "/" + d).c_str(), 0755);
    ::chmod(root.c_str(), 0755);
    write_file(root + "/a.txt", "alpha\nbeta\ngamma\n");
    write_file(root + "/b.txt", "alpha\nBETA\ngamma\ndelta\n");
    write_file(root + "/copy-of-a.txt", "alpha\nbeta\ngamma\n");
    write_file(root + "/lines.txt", lines_text(1000));
    write_file(root + "/numbers.txt", "10\n9\n100\n-3\n42\n42\n7\n");
    write_file(root + "/big.bin", random_bytes(300000, 1234));
    write_file(root + "/docs/readme.md", "# Readme\nThe beta release.\n");
    write_file(root + "/docs/notes.txt", "a note about alpha\n");
    write_file(root + "/docs/deep/er/leaf.bin", random_bytes(70001, 99));
    write_file(root + "/src/main.sh", "#!/bin/sh\necho beta\n", 0755);
    write_file(root + "/src/private.key", "not for everyone\n", 0600);
    ::symlink("a.txt", (root + "/link-to-a").c_str());
    ::symlink("docs", (root + "/docs-link").c_str());
    ::symlink("docs/deep", (root + "/deeplink").c_str());
    ::symlink("../a.txt", (root + "/docs/up").c_str());
    ::link((root + "/b.txt").c_str(), (root + "/hard-b").c_str());
    // Checksums computed natively, so a wrong guest read shows up as FAILED.
    HostRun sums = run_native({kBusybox, "md5sum", "a.txt", "big.bin", "docs/deep/er/leaf.bin"}, root);
    write_file(root + "/sums.md5", sums.out);
    write_file(root + "/bad.md5", sums.out + "00000000000000000000000000000000  b.txt\n");
    // Bottom-up so directory mtimes stick.
    std::vector<std::string> all = {"sums.md5", "bad.md5", "link-to-a", "docs-link", "deeplink", "docs/up", "a.txt", "b.txt", "hard-b",
                                    "copy-of-a.txt", "lines.txt", "numbers.txt", "big.bin", "docs/readme.md",
                                    "docs/notes.txt", "docs/deep/er/leaf.bin", "src/main.sh", "src/private.key",
                                    "docs/deep/er", "docs/deep", "docs", "src", "empty"};
    for (const auto& p : all)
        set_fixed_time(root + "/" + p);
    set_fixed_time(root);
}

void remove_tree(const std::string& path) {
    // Make everything writable again (tests chmod things), then remove.
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             path, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory(ec) && !it->is_symlink(ec))
            ::chmod(it->path().c_str(), 0755);
    }
    std::filesystem::remove_all(path, ec);
}

class Sandbox {
public:
    Sandbox() {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lightvm-fs-test.XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (!::mkdtemp(buf.data()))
            throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
        m_parent = buf.data();
        // The share's parent must be searchable for the monitor (and for
        // getcwd-style checks), whatever mkdtemp chose.
        ::chmod(m_parent.c_str(), 0755);
        ::mkdir(share().c_str(), 0755);
        ::mkdir(native().c_str(), 0755);
        ::mkdir((m_parent + "/outside").c_str(), 0755);
        write_file(secret(), "TOP SECRET: outside the share\n");
        write_file(m_parent + "/sibling.txt", "a sibling of the share\n");
        // An old atime: any read of the secret (relatime) moves it.
        timespec ts[2] = {{946684800, 0}, {0, UTIME_OMIT}};
        ::utimensat(AT_FDCWD, secret().c_str(), ts, 0);
        m_atime_works = probe_atime();
        m_escape_token = "lightvm-escaped-" + std::to_string(::getpid()) + "-" + std::to_string(++s_counter);
    }
    ~Sandbox() { remove_tree(m_parent); }
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    const std::string& parent() const { return m_parent; }
    std::string share() const { return m_parent + "/share"; }
    std::string native() const { return m_parent + "/native"; }
    std::string secret() const { return m_parent + "/outside/secret"; }
    // A name attacks try to create outside; must never appear anywhere.
    const std::string& token() const { return m_escape_token; }

    // Everything in PARENT except the share and the native copy, with
    // mtimes, plus the secret's atime when reads are detectable.
    std::string outside_state() const {
        std::string s = snapshot(m_parent, kAllMtimes, {"share", "native"});
        if (m_atime_works) {
            struct stat st = lstat_of(secret());
            s += "secret atime " + std::to_string(st.st_atim.tv_sec) + "\n";
        }
        return s;
    }
    // No trace of the escape token in the usual places an escape would land.
    std::string escaped_files() const {
        std::string found;
        std::string tmpdir = std::filesystem::path(m_parent).parent_path();
        for (const std::string& dir : {std::string("/"), std::string("/tmp"), tmpdir, m_parent,
                                       m_parent + "/outside"}) {
            if (exists(dir + "/" + m_escape_token))
                found += dir + "/" + m_escape_token + " ";
        }
        return found;
    }
    bool atime_works() const { return m_atime_works; }

private:
    bool probe_atime() {
        // relatime updates atime when it is older than mtime: read a probe
        // file whose atime is old and see whether it moves.
        std::string probe = m_parent + "/atime-probe";
        write_file(probe, "x");
        timespec ts[2] = {{946684800, 0}, {0, UTIME_OMIT}};
        ::utimensat(AT_FDCWD, probe.c_str(), ts, 0);
        (void)read_file(probe, false);
        bool works = lstat_of(probe).st_atim.tv_sec != 946684800;
        ::unlink(probe.c_str());
        return works;
    }
    std::string m_parent;
    bool m_atime_works = false;
    std::string m_escape_token;
    static inline int s_counter = 0;
};

// ---------------------------------------------------------------------------
// Running busybox in a VM
// ---------------------------------------------------------------------------

GuestRun bb(std::vector<std::string> args, RunOptions o = {}, const std::string& stdin_data = "") {
    return run_guest(kBusybox, std::move(args), stdin_data, o);
}

RunOptions share_at(const std::string& host, const std::string& guest, bool ro = false, const std::string& cwd = "") {
    RunOptions o;
    o.shares.push_back(ShareSpec{host, guest, ro});
    o.cwd = cwd;
    return o;
}

// A sandbox with the same tree in share/ (for the guest, shared at its host
// path, cwd there) and native/ (for native runs).
class Twin : public ::testing::Test {
protected:
    void SetUp() override {
        REQUIRE_BUSYBOX();
        ::umask(022);  // the guest's default; host-side masks must not differ
        m_sb = std::make_unique<Sandbox>();
        build_tree(m_sb->share());
        build_tree(m_sb->native());
        ASSERT_EQ(snapshot(A(), kAllMtimes), snapshot(B(), kAllMtimes)) << "the two copies must start identical";
    }
    void TearDown() override { m_sb.reset(); }

    std::string A() const { return m_sb->share(); }
    std::string B() const { return m_sb->native(); }

    // Fresh, identical trees again.
    void reset_trees() {
        for (const std::string& root : {A(), B()}) {
            remove_tree(root);
            ::mkdir(root.c_str(), 0755);
            build_tree(root);
        }
    }

    // Runs args in the guest (on A) and natively (on B), from fresh trees:
    // "" if status, stdout, stderr and the resulting trees agree, else what differs.
    std::string mismatch(const std::vector<std::string>& args, const std::string& sub = "") {
        reset_trees();
        auto g = guest(args, sub);
        auto n = native(args, sub);
        std::string what = "'busybox";
        for (const auto& a : args)
            what += " " + a;
        what += "'";
        if (!sub.empty())
            what += " (in " + sub + ")";
        if (!g.ok)
            return what + ": run_vm failed: " + g.error;
        std::string d;
        if (g.status != n.status || g.out != n.out || g.err != n.err)
            d = what + ": guest status " + std::to_string(g.status) + " out '" + printable(g.out.substr(0, 200)) +
                "' err '" + printable(g.err.substr(0, 200)) + "'; native status " + std::to_string(n.status) +
                " out '" + printable(n.out.substr(0, 200)) + "' err '" + printable(n.err.substr(0, 200)) + "'";
        std::string ta = snapshot(A()), tb = snapshot(B());
        if (ta != tb) {
            auto la = split_lines(ta), lb = split_lines(tb);
            std::string only_a, only_b;
            for (const auto& l : la)
                if (std::find(lb.begin(), lb.end(), l) == lb.end())
                    only_a += " [" + l + "]";
            for (const auto& l : lb)
                if (std::find(la.begin(), la.end(), l) == la.end())
                    only_b += " [" + l + "]";
            d += (d.empty() ? what + ":" : ";") + std::string(" trees differ: guest has") + only_a +
                 ", native has" + only_b;
        }
        return d;
    }

    RunOptions opts(const std::string& sub = "") const {
        return share_at(A(), A(), false, sub.empty() ? A() : A() + "/" + sub);
    }
    GuestRun guest(std::vector<std::string> args, const std::string& sub = "", const std::string& in = "") {
        return bb(std::move(args), opts(sub), in);
    }
    HostRun native(std::vector<std::string> args, const std::string& sub = "", const std::string& in = "") {
        args.insert(args.begin(), kBusybox);
        return run_native(args, sub.empty() ? B() : B() + "/" + sub, in);
    }

    std::unique_ptr<Sandbox> m_sb;
};

// ---------------------------------------------------------------------------
// Same as native: one parameter per command
// ---------------------------------------------------------------------------

struct FsCmd {
    const char* name;
    std::vector<std::string> args;
    std::vector<std::string> native_args;  // empty: the same as args
    std::string sub;                       // cwd below the tree root
    int expect_status = 0;
    bool sort_output = false;  // readdir order is the file system's
    bool compare_stderr = true;
    bool compare_trees = false;  // the command changes the tree
    bool tree_mtimes = false;    // ... and preserves mtimes (cp -a)
};

void PrintTo(const FsCmd& c, std::ostream* os) { *os << c.name; }

std::vector<FsCmd> fs_commands() {
    using V = std::vector<std::string>;
    // The guest has no /etc/passwd: busybox prints numeric ids, as -n does natively.
    return {
        {"ls_l", V{"ls", "-l"}, V{"ls", "-ln"}},
        {"ls_la_subdir", V{"ls", "-la"}, V{"ls", "-lan"}, "docs"},
        {"ls_lR", V{"ls", "-lR", "docs", "src", "empty"}, V{"ls", "-lnR", "docs", "src", "empty"}},
        {"ls_1A", V{"ls", "-1A"}},
        {"ls_missing", V{"ls", "nope"}, V{}, "", 1},
        {"cat", V{"cat", "a.txt", "b.txt", "docs/readme.md", "link-to-a", "docs/up"}},
        {"cat_relative_up", V{"cat", "../../a.txt", "./er/leaf.bin"}, V{}, "docs/deep"},
        {"cat_missing", V{"cat", "nope"}, V{}, "", 1},
        {"cat_directory", V{"cat", "docs"}, V{}, "", 1},
        {"find", V{"find", "."}, V{}, "", 0, true},
        {"find_files", V{"find", ".", "-type", "f", "-name", "*.txt"}, V{}, "", 0, true},
        {"find_links", V{"find", ".", "-type", "l"}, V{}, "", 0, true},
        {"find_size", V{"find", ".", "-size", "+100k"}, V{}, "", 0, true},
        {"grep_r", V{"grep", "-r", "beta", "."}, V{}, "", 0, true},
        {"grep_rn_i", V{"grep", "-rni", "ALPHA", "."}, V{}, "", 0, true},
        {"grep_rl", V{"grep", "-rl", "a", "docs"}, V{}, "", 0, true},
        {"grep_none", V{"grep", "-r", "no-such-text", "."}, V{}, "", 1},
        {"sha256sum", V{"sha256sum", "a.txt", "big.bin", "docs/deep/er/leaf.bin", "lines.txt"}},
        {"md5sum_c", V{"md5sum", "-c", "sums.md5"}},
        {"md5sum_c_bad", V{"md5sum", "-c", "bad.md5"}, V{}, "", 1},
        {"wc", V{"wc", "a.txt", "lines.txt", "big.bin"}},
        {"wc_l", V{"wc", "-l", "lines.txt"}},
        {"sort", V{"sort", "lines.txt"}},
        {"sort_rn", V{"sort", "-rn", "numbers.txt"}},
        {"sort_u", V{"sort", "-u", "numbers.txt"}},
        {"head_n", V{"head", "-n", "5", "lines.txt"}},
        {"head_c", V{"head", "-c", "1000", "big.bin"}},
        {"tail_n", V{"tail", "-n", "7", "lines.txt"}},
        {"tail_c", V{"tail", "-c", "100", "big.bin"}},
        {"tail_c_large", V{"tail", "-c", "70000", "docs/deep/er/leaf.bin"}},
        {"stat", V{"stat", "-c", "%n %s %a %h %F %Y", "a.txt", "docs", "link-to-a", "hard-b", "empty"}},
        {"stat_L", V{"stat", "-L", "-c", "%n %s %F", "link-to-a", "docs/up"}},
        {"du_s", V{"du", "-s", "."}},
        {"du_sk", V{"du", "-sk", "docs", "src"}},
        {"du_a", V{"du", "-a", "docs"}, V{}, "", 0, true},
        {"cmp_same", V{"cmp", "a.txt", "copy-of-a.txt"}},
        {"cmp_differ", V{"cmp", "a.txt", "b.txt"}, V{}, "", 1},
        {"cmp_l", V{"cmp", "-l", "a.txt", "b.txt"}, V{}, "", 1},
        {"diff", V{"diff", "a.txt", "b.txt"}, V{}, "", 1},
        {"diff_same", V{"diff", "a.txt", "copy-of-a.txt"}},
        {"diff_r", V{"diff", "-r", "docs", "docs"}},
        {"readlink", V{"readlink", "link-to-a"}},
        {"readlink_sub", V{"readlink", "up"}, V{}, "docs"},
        {"readlink_not_link", V{"readlink", "a.txt"}, V{}, "", 1},
        {"od", V{"od", "-Ax", "-tx1", "-N", "64", "-j", "1000", "big.bin"}},
        {"dd_read", V{"dd", "if=big.bin", "bs=1000", "skip=3", "count=5"}, V{}, "", 0, false, false},
        {"dd_read_odd", V{"dd", "if=big.bin", "bs=777", "skip=11", "count=3"}, V{}, "", 0, false, false},
        {"test_builtins",
         V{"sh", "-c",
           "[ -f a.txt ] && echo file; [ -d docs ] && echo dir; [ -f nope ] || echo nofile; "
           "[ -L link-to-a ] && echo link; [ -s empty ] || echo x; [ -x src/main.sh ] && echo exec"}},
        {"for_glob", V{"sh", "-c", "for f in *; do echo \"$f\"; done; for f in docs/*; do echo \"$f\"; done"}},
        {"while_read", V{"sh", "-c", "n=0; while read l; do n=$((n+1)); echo \"$n:$l\"; done < a.txt"}},
        {"read_builtin", V{"sh", "-c", "read x < b.txt; echo \"first=$x\"; read y < nope || echo failed"}},
        {"cd_builtin", V{"sh", "-c", "cd docs/deep && cd er && cd .. && for f in *; do echo $f; done"}},
        // Changing the tree.
        {"redirect", V{"sh", "-c", "echo hello > out.txt; echo more >> out.txt; echo x > docs/new; read l < out.txt; echo $l"},
         V{}, "", 0, false, true, true},
        {"cp_r", V{"cp", "-r", "docs", "docs2"}, V{}, "", 0, false, true, true},
        {"cp_a", V{"cp", "-a", "src", "src2"}, V{}, "", 0, false, true, true, true},
        {"cp_files", V{"cp", "a.txt", "big.bin", "empty"}, V{}, "", 0, false, true, true},
        {"mv", V{"mv", "a.txt", "docs/moved.txt"}, V{}, "", 0, false, true, true},
        {"mv_dir", V{"mv", "docs", "renamed"}, V{}, "", 0, false, true, true},
        {"mv_onto", V{"mv", "-f", "copy-of-a.txt", "b.txt"}, V{}, "", 0, false, true, true},
        {"rm_r", V{"rm", "-r", "docs"}, V{}, "", 0, false, true, true},
        {"rm_f", V{"rm", "-f", "a.txt", "nope", "link-to-a"}, V{}, "", 0, false, true, true},
        {"rmdir", V{"rmdir", "empty"}, V{}, "", 0, false, true, true},
        {"rmdir_not_empty", V{"rmdir", "docs"}, V{}, "", 1, false, true, true},
        {"mkdir_p", V{"mkdir", "-p", "x/y/z", "docs/deep/more"}, V{}, "", 0, false, true, true},
        {"mkdir_exists", V{"mkdir", "docs"}, V{}, "", 1, false, true, true},
        {"sed_i", V{"sed", "-i", "s/beta/BETA/", "a.txt"}, V{}, "", 0, false, true, true},
        {"sed_i_multi", V{"sed", "-i", "-e", "1d", "-e", "$d", "lines.txt", "docs/readme.md"}, V{}, "", 0, false,
         true, true},
        {"dd_copy", V{"dd", "if=big.bin", "of=out.bin", "bs=777", "skip=3", "seek=5", "count=7"}, V{}, "", 0,
         false, false, true},
        {"dd_notrunc", V{"dd", "if=a.txt", "of=big.bin", "bs=1", "seek=1001", "conv=notrunc"}, V{}, "", 0, false,
         false, true},
        {"dd_truncates", V{"dd", "if=a.txt", "of=big.bin", "bs=3", "seek=10"}, V{}, "", 0, false, false, true},
        {"dd_small_blocks", V{"dd", "if=big.bin", "of=out.bin", "bs=100"}, V{}, "", 0, false, false, true},
        {"dd_big_blocks", V{"dd", "if=big.bin", "of=out.bin", "bs=70000"}, V{}, "", 0, false, false, true},
        {"dd_small_notrunc", V{"dd", "if=big.bin", "of=lines.txt", "bs=13", "skip=7", "seek=3", "count=300",
                               "conv=notrunc"},
         V{}, "", 0, false, false, true},
        {"dd_zero", V{"dd", "if=/dev/zero", "of=zeros", "bs=4096", "count=3"}, V{}, "", 0, false, false, true},
        {"dd_sparse_seek", V{"dd", "if=a.txt", "of=sparse", "bs=4096", "seek=100"}, V{}, "", 0, false, false, true},
        {"truncate_shrink", V{"truncate", "-s", "1234", "big.bin"}, V{}, "", 0, false, true, true},
        {"truncate_grow", V{"truncate", "-s", "100000", "a.txt"}, V{}, "", 0, false, true, true},
        {"truncate_create", V{"truncate", "-s", "10", "newfile"}, V{}, "", 0, false, true, true},
        {"chmod", V{"chmod", "640", "a.txt"}, V{}, "", 0, false, true, true},
        {"chmod_R", V{"chmod", "-R", "go-rwx", "docs"}, V{}, "", 0, false, true, true},
        {"chmod_x", V{"chmod", "a+x", "b.txt"}, V{}, "", 0, false, true, true},
        {"ln_s", V{"ln", "-s", "docs/readme.md", "s2"}, V{}, "", 0, false, true, true},
        {"ln_hard", V{"ln", "a.txt", "h2"}, V{}, "", 0, false, true, true},
        {"ln_sf", V{"ln", "-sf", "b.txt", "link-to-a"}, V{}, "", 0, false, true, true},
        {"touch_new", V{"touch", "fresh", "docs/fresh2"}, V{}, "", 0, false, true, true},
        {"tar_c", V{"tar", "cf", "t.tar", "docs", "src"}, V{}, "", 0, false, true, false},
    };
}

class FsSameAsNative : public Twin, public ::testing::WithParamInterface<FsCmd> {};

TEST_P(FsSameAsNative, Busybox) {
    const FsCmd& c = GetParam();
    auto r = guest(c.args, c.sub);
    auto n = native(c.native_args.empty() ? c.args : c.native_args, c.sub);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.report, "");
    EXPECT_EQ(r.status, c.expect_status) << describe(r);
    EXPECT_EQ(n.status, c.expect_status) << "native: " << n.err;
    if (c.sort_output) {
        EXPECT_EQ(sorted_lines(r.out), sorted_lines(n.out));
    } else {
        EXPECT_EQ(r.out.size(), n.out.size());
        EXPECT_TRUE(r.out == n.out) << "guest:\n" << r.out.substr(0, 2000) << "\nnative:\n" << n.out.substr(0, 2000);
    }
    if (c.compare_stderr) {
        EXPECT_EQ(r.err, n.err);
    }
    if (c.compare_trees) {
        Mtimes m = c.tree_mtimes ? kAllMtimes : kNoMtimes;
        EXPECT_EQ(snapshot(A(), m), snapshot(B(), m));
    } else if (std::string(c.name) != "tar_c") {
        // Read-only commands leave the tree as it was (mtimes included).
        EXPECT_EQ(snapshot(A(), kAllMtimes), snapshot(B(), kAllMtimes));
    }
    if (std::string(c.name) == "tar_c") {
        // busybox tar stores user names, which the guest (no /etc/passwd)
        // cannot know: the archives differ there. Same names in the same
        // order, and the guest's archive lists the same in and out of the VM.
        auto gl = guest({"tar", "tf", "t.tar"});
        auto nl = native({"tar", "tf", "t.tar"});
        EXPECT_EQ(gl.status, 0) << describe(gl);
        EXPECT_EQ(gl.out, nl.out);
        EXPECT_FALSE(gl.out.empty());
        auto gv = guest({"tar", "tvf", "t.tar"});
        auto nv = run_native({kBusybox, "tar", "tvf", "t.tar"}, A());
        EXPECT_EQ(gv.out, nv.out);
    }
}

INSTANTIATE_TEST_SUITE_P(Fs, FsSameAsNative, ::testing::ValuesIn(fs_commands()),
                         [](const ::testing::TestParamInfo<FsCmd>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// Individual behaviours
// ---------------------------------------------------------------------------

using FsTree = Twin;

TEST_F(FsTree, TarRoundTripIsByteExact) {
    auto c = guest({"tar", "cf", "t.tar", "docs", "src", "a.txt", "big.bin", "link-to-a"});
    ASSERT_EQ(c.status, 0) << describe(c);
    auto m = guest({"mkdir", "x"});
    ASSERT_EQ(m.status, 0) << describe(m);
    auto x = guest({"tar", "xf", "../t.tar"}, "x");
    ASSERT_EQ(x.status, 0) << describe(x);
    // Extracted tree == original: contents, modes, link targets and file
    // mtimes (busybox tar restores no directory or symlink mtimes, natively
    // neither).
    for (const char* d : {"docs", "src"})
        EXPECT_EQ(snapshot(A() + "/x/" + d, kFileMtimes), snapshot(A() + "/" + d, kFileMtimes)) << d;
    EXPECT_EQ(read_file(A() + "/x/big.bin"), read_file(A() + "/big.bin"));
    EXPECT_EQ(read_file(A() + "/x/a.txt"), read_file(A() + "/a.txt"));
    char target[64] = {};
    EXPECT_GT(::readlink((A() + "/x/link-to-a").c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "a.txt");
    // And the guest's archive extracts natively to the same tree.
    auto nx = run_native({kBusybox, "tar", "xf", A() + "/t.tar"}, B() + "/empty");
    EXPECT_EQ(nx.status, 0) << nx.err;
    EXPECT_EQ(snapshot(B() + "/empty/docs", kFileMtimes), snapshot(A() + "/docs", kFileMtimes));
    // A native archive extracts in the guest.
    auto nc = run_native({kBusybox, "tar", "cf", A() + "/n.tar", "docs"}, B());
    ASSERT_EQ(nc.status, 0) << nc.err;
    auto gx = guest({"tar", "xf", "../n.tar"}, "empty");
    EXPECT_EQ(gx.status, 0) << describe(gx);
    EXPECT_EQ(snapshot(A() + "/empty/docs", kFileMtimes), snapshot(B() + "/docs", kFileMtimes));
}

TEST_F(FsTree, TarThroughStdio) {
    // tar c to stdout in one VM, tar x from stdin in another.
    auto c = guest({"tar", "c", "docs"});
    ASSERT_EQ(c.status, 0) << describe(c);
    ASSERT_GT(c.out.size(), 70000u);
    ASSERT_EQ(guest({"mkdir", "y"}).status, 0);
    auto x = guest({"tar", "x"}, "y", c.out);
    ASSERT_EQ(x.status, 0) << describe(x);
    EXPECT_EQ(snapshot(A() + "/y/docs", kFileMtimes), snapshot(A() + "/docs", kFileMtimes));
}

TEST_F(FsTree, TouchChangesMtime) {
    time_t before = ::time(nullptr);
    auto r = guest({"touch", "a.txt"});
    ASSERT_EQ(r.status, 0) << describe(r);
    struct stat st = lstat_of(A() + "/a.txt");
    EXPECT_GE(st.st_mtim.tv_sec, before - 2) << "touch must set the host file's mtime to now";
    EXPECT_LE(st.st_mtim.tv_sec, ::time(nullptr) + 2);
    EXPECT_EQ(read_file(A() + "/a.txt"), "alpha\nbeta\ngamma\n");

    r = guest({"touch", "-d", "2001-02-03 04:05:06", "b.txt"});
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(lstat_of(A() + "/b.txt").st_mtim.tv_sec, 981173106);
    auto s = guest({"stat", "-c", "%Y", "b.txt"});
    EXPECT_EQ(s.out, "981173106\n");

    // -h: the link itself, not its target.
    r = guest({"touch", "-h", "-d", "2002-01-01 00:00:00", "link-to-a"});
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(lstat_of(A() + "/link-to-a").st_mtim.tv_sec, 1009843200);
    EXPECT_EQ(lstat_of(A() + "/a.txt").st_mtim.tv_sec, st.st_mtim.tv_sec);

    // touch -c on a missing file creates nothing.
    r = guest({"touch", "-c", "ghost"});
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_FALSE(exists(A() + "/ghost"));
}

TEST_F(FsTree, ChmodChangesHostMode) {
    auto r = guest({"chmod", "600", "a.txt"});
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(lstat_of(A() + "/a.txt").st_mode & 07777, 0600u);
    r = guest({"chmod", "-R", "u=rwx,go=", "docs"});
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(lstat_of(A() + "/docs").st_mode & 07777, 0700u);
    EXPECT_EQ(lstat_of(A() + "/docs/deep/er/leaf.bin").st_mode & 07777, 0700u);
    auto s = guest({"stat", "-c", "%a", "a.txt", "docs"});
    EXPECT_EQ(s.out, "600\n700\n");
    // Set-user-ID never reaches the host (the monitor strips it).
    r = guest({"chmod", "4755", "b.txt"});
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(lstat_of(A() + "/b.txt").st_mode & 07777, 0755u) << "a guest must not create set-user-ID files";
    r = guest({"chmod", "2755", "b.txt"});
    EXPECT_EQ(lstat_of(A() + "/b.txt").st_mode & S_ISGID, 0u) << "nor set-group-ID files";
}

TEST_F(FsTree, SymlinkAndReadlink) {
    auto r = guest({"ln", "-s", "docs/readme.md", "rl"});
    ASSERT_EQ(r.status, 0) << describe(r);
    char target[256] = {};
    ASSERT_GT(::readlink((A() + "/rl").c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "docs/readme.md");
    EXPECT_EQ(guest({"readlink", "rl"}).out, "docs/readme.md\n");
    EXPECT_EQ(guest({"cat", "rl"}).out, read_file(A() + "/docs/readme.md"));
    // readlink -f resolves inside the share, at the share's guest path.
    EXPECT_EQ(guest({"readlink", "-f", "rl"}).out, A() + "/docs/readme.md\n");
    // A dangling link: readlink works, cat fails.
    ASSERT_EQ(guest({"ln", "-s", "no/such/thing", "dangling"}).status, 0);
    EXPECT_EQ(guest({"readlink", "dangling"}).out, "no/such/thing\n");
    EXPECT_EQ(guest({"cat", "dangling"}).status, 1);
    // ls -l shows the link.
    auto l = guest({"ls", "-l", "rl"});
    EXPECT_TRUE(contains(l.out, "rl -> docs/readme.md")) << l.out;
}

// A listing brings the directory's link targets along (kFsOptLinks): a
// readlink after it needs no exit, and a link replaced since is read anew.
TEST_F(FsTree, ListedLinksReadTheirCurrentTarget) {
    ASSERT_EQ(::symlink("docs/readme.md", (A() + "/la").c_str()), 0);
    ASSERT_EQ(::symlink(std::string(200, 'x').c_str(), (A() + "/lb").c_str()), 0);  // too long to keep
    auto r = guest({"sh", "-c",
                    "ls -l >/dev/null; readlink la; readlink lb | wc -c; rm la; ln -s other la; readlink la; "
                    "ls -l >/dev/null; readlink la; ls -l la | sed 's/.* la/la/'"});
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, "docs/readme.md\n201\nother\nother\nla -> other\n");
}

TEST_F(FsTree, HardLinkCount) {
    auto r = guest({"ln", "a.txt", "a2"});
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(lstat_of(A() + "/a.txt").st_nlink, 2u);
    EXPECT_EQ(lstat_of(A() + "/a.txt").st_ino, lstat_of(A() + "/a2").st_ino);
    EXPECT_EQ(guest({"stat", "-c", "%h", "a.txt", "a2"}).out, "2\n2\n");
    // Writing through one name shows through the other.
    ASSERT_EQ(guest({"sh", "-c", "echo appended >> a2"}).status, 0);
    EXPECT_EQ(read_file(A() + "/a.txt"), "alpha\nbeta\ngamma\nappended\n");
    // Hard links to directories are refused.
    EXPECT_NE(guest({"ln", "docs", "dir-hardlink"}).status, 0);
    EXPECT_FALSE(exists(A() + "/dir-hardlink"));
}

TEST_F(FsTree, BigDirectory) {
    // More entries than one getdents buffer holds.
    for (const std::string& root : {A(), B()}) {
        ::mkdir((root + "/many").c_str(), 0755);
        for (int i = 0; i < 3000; ++i)
            write_file(root + "/many/entry-with-a-fairly-long-name-" + std::to_string(i), std::to_string(i));
    }
    auto r = guest({"ls", "many"});
    auto n = native({"ls", "many"});
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3000);
    EXPECT_TRUE(r.out == n.out);
    r = guest({"find", "many", "-type", "f"});
    n = native({"find", "many", "-type", "f"});
    EXPECT_EQ(sorted_lines(r.out), sorted_lines(n.out));
    r = guest({"grep", "-rl", "2999", "many"});
    EXPECT_EQ(r.out, "many/entry-with-a-fairly-long-name-2999\n");
    r = guest({"rm", "-r", "many"});
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_FALSE(exists(A() + "/many"));
}

// A walk is listed ahead (kFsListTree, docs/design.md "Listing ahead"):
// find, du and ls -R print what they print natively, with a handful of
// share requests for 120 directories (before: an open, two getdents and a
// stat miss or two for each), and what the guest changes mid-walk shows.
TEST_F(FsTree, WalksAreListedAhead) {
    for (const std::string& root : {A(), B()}) {
        for (int d = 0; d < 40; ++d) {
            std::string dir = root + "/walk/d" + std::to_string(d);
            std::filesystem::create_directories(dir + "/sub/leaf");
            for (int f = 0; f < 5; ++f)
                write_file(dir + "/f" + std::to_string(f), std::string(static_cast<size_t>(f) * 3000, 'x'));
            write_file(dir + "/sub/leaf/g", "y");
            ASSERT_EQ(::symlink("../f1", (dir + "/sub/link").c_str()), 0);
        }
    }
    using V = std::vector<std::string>;
    for (const V& args : {V{"find", "walk"}, V{"du", "-a", "walk"}, V{"ls", "-R", "walk"},
                          V{"find", "walk", "-type", "l"}}) {
        RunOptions o = opts();
        o.stats = true;
        auto r = bb(args, o);
        auto n = native(args);
        ASSERT_EQ(r.status, 0) << describe(r);
        EXPECT_EQ(sorted_lines(r.out), sorted_lines(n.out)) << args[0];
        uint64_t requests = 0;
        for (uint64_t k : r.stats.fs_requests)
            requests += k;
        std::string kinds;
        for (size_t k = 0; k < r.stats.fs_requests.size(); ++k)
            if (r.stats.fs_requests[k])
                kinds += " op" + std::to_string(k) + "=" + std::to_string(r.stats.fs_requests[k]);
        EXPECT_LT(requests, 25u) << args[0] << ": 120 directories should cost a few requests;" << kinds;
        EXPECT_GE(r.stats.fs_requests[abi::kFsListTree], 1u);
    }
    // Changes made in the guest during a walk are seen by the next listing.
    auto c = guest({"sh", "-c",
                    "ls walk/d1; rm walk/d1/f0; ls walk/d1; mkdir walk/d1/new; ls walk/d1; touch walk/d1/t; "
                    "ls walk/d1; rmdir walk/d1/new; rm -r walk/d2; ls walk | wc -l; find walk/d1 | sort"});
    auto cn = native({"sh", "-c",
                      "ls walk/d1; rm walk/d1/f0; ls walk/d1; mkdir walk/d1/new; ls walk/d1; touch walk/d1/t; "
                      "ls walk/d1; rmdir walk/d1/new; rm -r walk/d2; ls walk | wc -l; find walk/d1 | sort"});
    EXPECT_EQ(c.status, 0) << describe(c);
    EXPECT_EQ(c.out, cn.out);
    // A directory opened from the listing is usable for everything a
    // directory descriptor does (fchdir, openat, fstat, fsync: cd and
    // find -exec, stat -L through it).
    auto d = guest({"sh", "-c", "find walk/d3 >/dev/null; cd walk/d3/sub && ls && cat leaf/g && stat -c %F . leaf"});
    EXPECT_EQ(d.status, 0) << describe(d);
    EXPECT_EQ(d.out, "leaf\nlink\nydirectory\ndirectory\n");
}

// Changes made on the host show in the guest once a cached listing is
// older than its trust time (2 s, attr_cache.hpp kTrustNs), as with NFS.
TEST_F(FsTree, HostChangesShowAfterTheTrustTime) {
    ASSERT_EQ(::mkdir((A() + "/watch").c_str(), 0755), 0);
    write_file(A() + "/watch/one", "1");
    std::thread host([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        write_file(A() + "/watch/two", "2");
    });
    auto r = guest({"sh", "-c", "ls watch; sleep 3; ls watch"});
    host.join();
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, "one\none\ntwo\n");
}

TEST_F(FsTree, DfDoesNotCrash) {
    for (auto args : {std::vector<std::string>{"df"}, std::vector<std::string>{"df", "."},
                      std::vector<std::string>{"df", "-k", A()}}) {
        auto r = guest(args);
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(r.report, "") << "df must not fault";
        EXPECT_EQ(r.signal, 0) << describe(r);
        EXPECT_TRUE(r.status == 0 || r.status == 1) << describe(r);
    }
    // statfs itself works on a share: stat -f.
    auto s = guest({"stat", "-f", "-c", "%b %S", "."});
    auto n = native({"stat", "-f", "-c", "%b %S", "."});
    EXPECT_EQ(s.status, 0) << describe(s);
    EXPECT_EQ(s.out, n.out);
}

TEST_F(FsTree, BasenameDirnameRealpath) {
    EXPECT_EQ(guest({"basename", A() + "/docs/readme.md", ".md"}).out, "readme\n");
    EXPECT_EQ(guest({"dirname", A() + "/docs/readme.md"}).out, A() + "/docs\n");
    // realpath goes through the guest's getcwd and readlink: the same
    // answers as natively on the very same tree.
    std::vector<std::string> args = {"realpath", "../../link-to-a", "../up", "../deep/../deep/er/leaf.bin", ".", ".."};
    auto r = guest(args, "docs/deep");
    args.insert(args.begin(), kBusybox);
    auto n = run_native(args, A() + "/docs/deep");
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, n.out);
    EXPECT_EQ(split_lines(r.out).at(0), A() + "/a.txt");
}

TEST_F(FsTree, ShellBuiltinsWithRedirection) {
    const std::string script =
        "cd docs && pwd; cd ..; pwd; echo one > f1; echo two >> f1; read first < f1; echo \"first=$first\"; "
        "while read l; do echo \"<$l>\"; done < f1; for f in d*; do [ -d \"$f\" ] && echo \"dir $f\"; done; "
        "[ -f f1 ] && echo exists; printf '%s\\n' x y > f2; echo done";
    auto r = guest({"sh", "-c", script});
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, A() + "/docs\n" + A() + "\nfirst=one\n<one>\n<two>\ndir deeplink\ndir docs\ndir docs-link\nexists\ndone\n");
    EXPECT_EQ(read_file(A() + "/f1"), "one\ntwo\n");
    EXPECT_EQ(read_file(A() + "/f2"), "x\ny\n");
    // cd into a missing directory fails like natively.
    auto c = guest({"sh", "-c", "cd nope"});
    auto n = native({"sh", "-c", "cd nope"});
    EXPECT_EQ(c.status, n.status);
    EXPECT_EQ(c.err, n.err);
}

// ---------------------------------------------------------------------------
// Shares: working directory, guest paths, several shares, read-only, rootfs
// ---------------------------------------------------------------------------

using FsShareTest = Twin;

TEST_F(FsShareTest, WorkingDirectoryFollowsTheHost) {
    // As the CLI does when the host's cwd is inside a share: relative paths
    // mean what they mean on the host.
    auto r = guest({"pwd"}, "docs/deep");
    EXPECT_EQ(r.out, A() + "/docs/deep\n");
    r = guest({"cat", "../readme.md", "../../a.txt"}, "docs/deep");
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, read_file(A() + "/docs/readme.md") + read_file(A() + "/a.txt"));
    r = guest({"ls"}, "docs");
    EXPECT_EQ(r.out, "deep\nnotes.txt\nreadme.md\nup\n");
    // Created relative to the cwd.
    r = guest({"mkdir", "-p", "made/here"}, "docs/deep");
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(exists(A() + "/docs/deep/made/here"));
    // A share's parent directories exist in the guest (the way to the mount).
    r = guest({"sh", "-c", "cd ..; pwd; cd " + A() + "; pwd"});
    EXPECT_EQ(r.out, m_sb->parent() + "\n" + A() + "\n") << describe(r);
    // The default cwd with a share is "/".
    RunOptions o = share_at(A(), A());
    EXPECT_EQ(bb({"pwd"}, o).out, "/\n");
}

TEST_F(FsShareTest, CustomGuestPath) {
    RunOptions o = share_at(A(), "/data", false, "/data");
    auto r = bb({"ls", "/data"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    auto n = run_native({kBusybox, "ls", A()}, A());
    EXPECT_EQ(r.out, n.out);
    EXPECT_EQ(bb({"pwd"}, o).out, "/data\n");
    EXPECT_EQ(bb({"cat", "a.txt"}, o).out, "alpha\nbeta\ngamma\n");
    EXPECT_EQ(bb({"cat", "/data/docs/../a.txt"}, o).out, "alpha\nbeta\ngamma\n");
    // The host path means nothing in the guest now.
    EXPECT_EQ(bb({"cat", A() + "/a.txt"}, o).status, 1);
    // "/" lists the mount point.
    auto root = bb({"ls", "/"}, o);
    EXPECT_TRUE(contains(root.out, "data\n")) << describe(root);
    // Writes land in the host directory.
    r = bb({"sh", "-c", "echo written > /data/new.txt"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(read_file(A() + "/new.txt"), "written\n");
    // A deeper guest path.
    RunOptions deep = share_at(A(), "/mnt/x/y", false, "/mnt/x/y/docs");
    r = bb({"cat", "readme.md", "/mnt/x/y/a.txt"}, deep);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(bb({"ls", "/mnt/x"}, deep).out, "y\n");
}

TEST_F(FsShareTest, TwoSharesAtOnce) {
    RunOptions o;
    o.shares = {ShareSpec{A(), "/data", false}, ShareSpec{B(), "/other", false}};
    o.cwd = "/data";
    auto r = bb({"cp", "a.txt", "/other/from-a"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(read_file(B() + "/from-a"), "alpha\nbeta\ngamma\n");
    // mv across shares: rename fails with EXDEV, mv falls back to copy + unlink.
    r = bb({"mv", "big.bin", "/other/moved.bin"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_FALSE(exists(A() + "/big.bin"));
    EXPECT_EQ(read_file(B() + "/moved.bin"), random_bytes(300000, 1234));
    r = bb({"cmp", "/data/lines.txt", "/other/lines.txt"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    // Hard links cannot cross shares.
    r = bb({"ln", "/data/b.txt", "/other/hl"}, o);
    EXPECT_NE(r.status, 0);
    EXPECT_FALSE(exists(B() + "/hl"));
    auto root = bb({"ls", "/"}, o);
    EXPECT_TRUE(contains(root.out, "data\n") && contains(root.out, "other\n")) << root.out;
}

TEST_F(FsShareTest, NestedShareWinsForItsSubtree) {
    RunOptions o;
    o.shares = {ShareSpec{A(), "/data", false}, ShareSpec{B() + "/docs", "/data/src", false}};
    auto r = bb({"ls", "/data/src"}, o);
    EXPECT_EQ(r.out, "deep\nnotes.txt\nreadme.md\nup\n") << describe(r);
    r = bb({"cat", "/data/a.txt", "/data/src/readme.md"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
}

TEST_F(FsShareTest, ReadOnlyShareRefusesWrites) {
    const std::string before = snapshot(A(), kAllMtimes);
    RunOptions o = share_at(A(), "/data", true, "/data");
    // Reading works.
    auto r = bb({"sha256sum", "big.bin"}, o);
    auto n = native({"sha256sum", "big.bin"});
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, n.out);
    EXPECT_EQ(bb({"ls", "-l"}, o).out, native({"ls", "-ln"}).out);
    // Every kind of write fails with EROFS.
    const std::vector<std::vector<std::string>> writes = {
        {"touch", "new"},
        {"touch", "a.txt"},
        {"sh", "-c", "echo x > a.txt"},
        {"sh", "-c", "echo x >> a.txt"},
        {"sh", "-c", "echo x > brand-new"},
        {"rm", "a.txt"},
        {"rm", "-r", "docs"},
        {"rmdir", "empty"},
        {"mkdir", "d"},
        {"mv", "a.txt", "z.txt"},
        {"chmod", "777", "a.txt"},
        {"ln", "-s", "a.txt", "s"},
        {"ln", "a.txt", "h"},
        {"truncate", "-s", "0", "a.txt"},
        {"sed", "-i", "s/a/b/", "a.txt"},
        {"cp", "a.txt", "a-copy"},
        {"dd", "if=/dev/zero", "of=big.bin", "bs=1", "count=1", "conv=notrunc"},
        {"tar", "xf", "nope.tar"},
    };
    for (const auto& w : writes) {
        std::string what;
        for (const auto& a : w)
            what += a + " ";
        auto g = bb(w, o);
        ASSERT_TRUE(g.ok) << g.error;
        EXPECT_NE(g.status, 0) << what << ": " << describe(g);
        if (w[0] != "tar") {
            EXPECT_TRUE(contains(g.err, "Read-only file system")) << what << ": stderr '" << g.err << "'";
        }
        EXPECT_EQ(snapshot(A(), kAllMtimes), before) << what << " changed the read-only share";
    }
    // A read-only share next to a writable one.
    RunOptions both;
    both.shares = {ShareSpec{A(), "/ro", true}, ShareSpec{B(), "/rw", false}};
    r = bb({"cp", "/ro/a.txt", "/rw/copied"}, both);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(read_file(B() + "/copied"), "alpha\nbeta\ngamma\n");
    r = bb({"cp", "/rw/b.txt", "/ro/copied"}, both);
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.err, "Read-only file system")) << r.err;
    EXPECT_EQ(snapshot(A(), kAllMtimes), before);
}

TEST_F(FsShareTest, RootfsIsSlash) {
    RunOptions o = share_at(A(), "/");
    auto r = bb({"ls", "/"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, run_native({kBusybox, "ls", A()}, A()).out);
    EXPECT_EQ(bb({"pwd"}, o).out, "/\n");
    EXPECT_EQ(bb({"cat", "/a.txt", "/docs/../b.txt"}, o).out, read_file(A() + "/a.txt") + read_file(A() + "/b.txt"));
    // ".." of "/" is "/".
    EXPECT_EQ(bb({"cat", "/../../a.txt"}, o).out, "alpha\nbeta\ngamma\n");
    r = bb({"sh", "-c", "cd /docs; cd ../..; pwd; cd /; cd ..; pwd"}, o);
    EXPECT_EQ(r.out, "/\n/\n") << describe(r);
    // With a working directory.
    o.cwd = "/docs/deep";
    r = bb({"cat", "er/leaf.bin"}, o);
    EXPECT_EQ(r.out, read_file(A() + "/docs/deep/er/leaf.bin"));
    EXPECT_EQ(bb({"pwd"}, o).out, "/docs/deep\n");
    // The kernel's own files still work under a rootfs.
    r = bb({"sh", "-c", "echo x > /dev/null; read z < /dev/null || echo eof; echo ok"}, o);
    EXPECT_EQ(r.out, "eof\nok\n") << describe(r);
    r = bb({"head", "-c", "16", "/dev/zero"}, o);
    EXPECT_EQ(r.out, std::string(16, '\0')) << describe(r);
    // find over the whole guest file system = the tree.
    o.cwd = "/";
    r = bb({"find", "/docs", "/src"}, o);
    auto n = run_native({kBusybox, "find", "docs", "src"}, A());
    std::string expected;
    for (const auto& l : split_lines(n.out))
        expected += "/" + l + "\n";
    EXPECT_EQ(sorted_lines(r.out), sorted_lines(expected));
    // Writes at the root.
    r = bb({"mkdir", "/newdir"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(exists(A() + "/newdir"));
    // And a share mounted below the rootfs.
    o.shares.push_back(ShareSpec{B() + "/src", "/opt/src", true});
    r = bb({"cat", "/opt/src/main.sh", "/src/main.sh"}, o);
    EXPECT_EQ(r.out, read_file(B() + "/src/main.sh") + read_file(A() + "/src/main.sh")) << describe(r);
}

TEST_F(FsShareTest, NonUtf8NamesWork) {
    const std::string name = "bad\xff\xfe\x80name";
    const std::string name2 = "\xc3\x28\x01x";
    RunOptions o = share_at(A(), "/data", false, "/data");
    auto r = bb({"touch", name}, o);
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(exists(A() + "/" + name)) << "the exact bytes reach the host";
    r = bb({"sh", "-c", "echo payload > '" + name2 + "'"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(read_file(A() + "/" + name2), "payload\n");
    r = bb({"mv", name2, "docs/" + name2}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(read_file(A() + "/docs/" + name2), "payload\n");
    // ls lists the bytes (busybox -1 with output not a tty: raw names? it
    // escapes unprintable bytes as '?', same as natively).
    auto l = bb({"ls", "-1", "docs"}, o);
    auto nl = run_native({kBusybox, "ls", "-1", "docs"}, A());
    EXPECT_EQ(l.out, nl.out);
    auto f = bb({"find", ".", "-name", "bad*name"}, o);
    EXPECT_EQ(f.out, "./" + name + "\n");
    EXPECT_EQ(bb({"rm", name}, o).status, 0);
    EXPECT_FALSE(exists(A() + "/" + name));
}

// ---------------------------------------------------------------------------
// Path semantics: trailing slashes, "." and "..", symlinks, the cwd
// ---------------------------------------------------------------------------

using FsPathSemantics = Twin;

TEST_F(FsPathSemantics, TrailingSlashesMatchNative) {
    using V = std::vector<std::string>;
    for (const V& args : {V{"cat", "a.txt/"}, V{"ls", "a.txt/"}, V{"stat", "-c", "%F", "a.txt/"},
                          V{"mkdir", "a.txt/"}, V{"rm", "a.txt/"}, V{"rmdir", "a.txt/"}, V{"chmod", "600", "a.txt/"},
                          V{"rm", "link-to-a/"}, V{"ls", "-d", "docs-link/"}, V{"ls", "docs-link/"},
                          V{"mkdir", "new/"}, V{"rmdir", "empty/"}, V{"mv", "empty/", "moved"},
                          V{"cat", "link-to-a/"}, V{"rm", "-r", "docs/"}, V{"cp", "-r", "docs/", "copy"}}) {
        EXPECT_EQ(mismatch(args), "");
    }
}

TEST_F(FsPathSemantics, TrailingSlashOnNonDirectories) {
    // A trailing slash demands a directory (and follows a final symlink);
    // the guest drops it for everything but open/stat.
    using V = std::vector<std::string>;
    std::string bugs;
    for (const V& args : {V{"touch", "a.txt/"}, V{"touch", "link-to-a/"}, V{"touch", "nofile/"}, V{"mv", "a.txt/", "g"},
                          V{"mv", "a.txt", "g/"}, V{"mv", "docs-link/", "x"}, V{"ln", "-s", "a.txt", "g/"},
                          V{"ln", "a.txt", "g/"}, V{"readlink", "link-to-a/"}, V{"stat", "-c", "%F", "docs-link/"},
                          V{"cp", "a.txt", "g/"}, V{"truncate", "-s", "0", "a.txt/"}}) {
        std::string m = mismatch(args);
        if (!m.empty())
            bugs += "\n  " + m;
    }
    if (!bugs.empty())
        FAIL() << "regression of a fixed bug: trailing slash handling differs from Linux:" << bugs;
}

TEST_F(FsPathSemantics, DotAndDotDotMatchNative) {
    using V = std::vector<std::string>;
    for (const V& args : {V{"cat", "docs/deep/../readme.md"}, V{"cat", "./docs/./notes.txt"}, V{"ls", "docs/.."},
                          V{"cat", "docs-link/../a.txt"}, V{"mkdir", "empty/./new"}, V{"rm", "-r", "."},
                          V{"rm", "-r", ".."}, V{"mkdir", "."}, V{"ln", "-s", "a.txt", "."}}) {
        EXPECT_EQ(mismatch(args), "");
    }
    EXPECT_EQ(mismatch({"cat", "../readme.md", "../../a.txt"}, "docs/deep"), "");
}

TEST_F(FsPathSemantics, DotDotIsResolvedAfterSymlinks) {
    // Linux resolves ".." against where the path got to (after symlinks),
    // and "x/.." needs x to be a directory. The guest normalises paths
    // lexically before the host sees them.
    using V = std::vector<std::string>;
    std::string bugs;
    for (const V& args : {V{"cat", "deeplink/../notes.txt"}, V{"ls", "deeplink/.."}, V{"cat", "a.txt/../b.txt"},
                          V{"ls", "link-to-a/.."}, V{"rmdir", "empty/."}, V{"rmdir", "."}, V{"rmdir", "docs/."},
                          V{"rmdir", "docs/.."}}) {
        std::string m = mismatch(args);
        if (!m.empty())
            bugs += "\n  " + m;
    }
    std::string m = mismatch({"cat", "../notes.txt"}, "deeplink");
    if (!m.empty())
        bugs += "\n  " + m;
    if (!bugs.empty())
        FAIL() << "regression of a fixed bug: '.' and '..' are resolved lexically, not like Linux:" << bugs;
}

TEST_F(FsPathSemantics, PhysicalWorkingDirectoryAfterCdThroughASymlink) {
    // getcwd() is the physical directory; "pwd -P" prints it, "pwd" the logical one.
    auto r = guest({"sh", "-c", "cd deeplink && pwd && pwd -P && cd .. && pwd -P"});
    auto n = run_native({kBusybox, "sh", "-c", "cd deeplink && pwd && pwd -P && cd .. && pwd -P"}, A());
    ASSERT_EQ(r.status, 0) << describe(r);
    ASSERT_EQ(n.status, 0) << n.err;
    if (r.out != n.out)
        FAIL() << "regression of a fixed bug: after chdir through a symlink getcwd() returns the symlink path: "
                     << "busybox sh -c 'cd deeplink && pwd && pwd -P && cd .. && pwd -P' (in " << A()
                     << ", deeplink -> docs/deep) prints '" << r.out << "', natively '" << n.out << "'";
    EXPECT_EQ(r.out, n.out);
}

TEST_F(FsPathSemantics, AbsoluteSymlinksResolveInTheGuestNamespace) {
    // A share at its host path holding an absolute symlink to a file in the
    // same share (by host path), and a link into another share: on Linux
    // both resolve through the guest's mount table.
    ASSERT_EQ(::symlink((A() + "/a.txt").c_str(), (A() + "/abs-a").c_str()), 0);
    ASSERT_EQ(::symlink("/other/b.txt", (A() + "/to-other").c_str()), 0);
    RunOptions o = opts();
    o.shares.push_back(ShareSpec{B(), "/other", false});
    auto n = run_native({kBusybox, "cat", "abs-a"}, A());
    ASSERT_EQ(n.status, 0);
    auto r1 = bb({"cat", "abs-a"}, o);
    auto r2 = bb({"cat", "to-other"}, o);
    std::string bugs;
    if (r1.status != 0 || r1.out != n.out)
        bugs += "\n  'busybox cat abs-a' (share " + A() + " at its host path, abs-a -> " + A() +
                "/a.txt): status " + std::to_string(r1.status) + ", stderr '" + r1.err + "'; expected a.txt's content";
    if (r2.status != 0 || r2.out != read_file(B() + "/b.txt"))
        bugs += "\n  'busybox cat to-other' (to-other -> /other/b.txt, " + B() + " shared at /other): status " +
                std::to_string(r2.status) + ", stderr '" + r2.err + "'; expected /other/b.txt's content";
    if (!bugs.empty())
        FAIL() << "regression of a fixed bug: absolute symlink targets resolve against the share's own root, not the guest's /:"
                     << bugs;
}

TEST_F(FsPathSemantics, LongChainOfAbsoluteSymlinksFromALongWorkingDirectory) {
    // Regression: every absolute-symlink hop used to recurse with an 8 KiB
    // frame, so 8 hops plus a 1,013-character working directory overflowed
    // the 64 KiB kernel stack and getcwd returned garbage. Hops are now a
    // loop, so Linux's limit (40 links) holds; the 41st is ELOOP.
    std::string deep = A();
    while (deep.size() < 1013) {
        size_t n = std::min<size_t>(200, 1013 - deep.size() - 1);
        deep.append("/").append(n, 'd');  // not "/" + string: GCC 12's bogus -Wrestrict (bug 105329)
        ASSERT_EQ(::mkdir(deep.c_str(), 0755), 0) << deep;
    }
    ASSERT_EQ(deep.size(), 1013u);
    for (int i = 1; i <= 41; ++i) {
        std::string target = i == 41 ? A() + "/a.txt" : A() + "/l" + std::to_string(i + 1);
        ASSERT_EQ(::symlink(target.c_str(), (A() + "/l" + std::to_string(i)).c_str()), 0);
    }
    // Shell builtins only (no fork yet): read through 40 links, then getcwd.
    auto r = bb({"sh", "-c", "cd " + deep + " && read x < " + A() + "/l2 && echo $x && pwd -P && read y < " + A() + "/l1"},
                opts());
    EXPECT_EQ(r.out, "alpha\n" + deep + "\n") << describe(r);
    EXPECT_NE(r.err.find("Too many levels of symbolic links"), std::string::npos) << describe(r);  // l1: 41 links
    EXPECT_EQ(r.status, 1) << describe(r);
    EXPECT_EQ(r.report, "");
}

// ---------------------------------------------------------------------------
// One file through several open file descriptions in one VM
// ---------------------------------------------------------------------------

using FsCoherence = Twin;

TEST_F(FsCoherence, DupSharesTheOffset) {
    EXPECT_EQ(mismatch({"sh", "-c", "exec 3<lines.txt; read a <&3; exec 4<&3; read b <&4; read c <&3; echo $a/$b/$c"}),
              "");
    EXPECT_EQ(mismatch({"sh", "-c", "exec 3<>a.txt; echo XY >&3; read x <&3; echo x=$x; exec 4>&3; echo Z >&4"}), "");
    EXPECT_EQ(mismatch({"sh", "-c", "echo 1 > f; echo 22 >> f; exec 3>>f; echo 333 >&3; while read l; do echo $l; done < f"}),
              "");
}

TEST_F(FsCoherence, TwoAppendersKeepTheOrderOfWrites) {
    std::string m = mismatch({"sh", "-c", "exec 3>>a.txt 4>>a.txt; echo c >&3; echo d >&4; echo e >&3"});
    if (!m.empty())
        FAIL() << "regression of a fixed bug: writes through two O_APPEND descriptions of one file land out of order "
                        "(write-behind per open file): "
                     << m;
}

TEST_F(FsCoherence, TwoWritersOnOneFile) {
    std::string m = mismatch({"sh", "-c", "exec 3<>numbers.txt 4<>numbers.txt; echo 1 >&3; echo AB >&4; echo 2 >&3"});
    if (!m.empty())
        FAIL() << "regression of a fixed bug: interleaved writes through two descriptions of one file are reordered "
                        "(write-behind per open file): "
                     << m;
}

TEST_F(FsCoherence, ReadSeesAWriteThroughAnotherDescription) {
    std::string m =
        mismatch({"sh", "-c", "exec 4<a.txt 3<>a.txt; read x <&4; read y <&3; echo WRITTEN >&3; read z <&4; echo $x/$y/$z"});
    if (!m.empty())
        FAIL() << "regression of a fixed bug: a read returns data older than a write the guest made through another description "
                        "(stale read-ahead window): "
                     << m;
}

TEST_F(FsCoherence, WritesOfAKilledVmReachTheShare) {
    // Write-behind must not lose what the guest wrote when the VM dies.
    RunOptions o = opts();
    o.timeout_seconds = 1.0;
    auto r = bb({"sh", "-c", "echo first > k1; echo second >> k1; printf abc > k2; echo ok; while :; do :; done"}, o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.timed_out) << describe(r);
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_EQ(read_file(A() + "/k1"), "first\nsecond\n");
    EXPECT_EQ(read_file(A() + "/k2"), "abc");
    // dd blocked on a stdin that never ends, after writing two blocks.
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    std::string chunk = random_bytes(8192, 4243);
    ASSERT_EQ(::write(p[1], chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
    o.stdin_fd = p[0];
    r = bb({"dd", "of=k3", "bs=4096"}, o);
    ::close(p[0]);
    ::close(p[1]);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.timed_out) << describe(r);
    EXPECT_TRUE(read_file(A() + "/k3") == chunk) << "blocks written before the kill are lost";
}

// ---------------------------------------------------------------------------
// Escape attempts from inside the guest
// ---------------------------------------------------------------------------

class FsEscape : public ::testing::Test {
protected:
    void SetUp() override {
        REQUIRE_BUSYBOX();
        ::umask(022);
        m_sb = std::make_unique<Sandbox>();
        build_tree(m_sb->share());
        // A decoy /etc/passwd for when the share is the guest's /.
        ::mkdir((share() + "/etc").c_str(), 0755);
        write_file(share() + "/etc/passwd", "decoy:x:0:0:inside the share:/:/bin/sh\n");
        m_host_passwd = read_file("/etc/passwd");
        m_outside = m_sb->outside_state();
    }
    void TearDown() override {
        if (m_sb) {
            EXPECT_EQ(m_sb->outside_state(), m_outside) << "something outside the share was created, changed or read";
            EXPECT_EQ(m_sb->escaped_files(), "");
        }
        m_sb.reset();
    }
    std::string share() const { return m_sb->share(); }
    RunOptions data() const { return share_at(share(), "/data", false, "/data"); }
    RunOptions rootfs() const { return share_at(share(), "/", false, "/"); }

    // The run produced nothing secret.
    void expect_nothing_leaked(const GuestRun& r, const std::string& what) {
        EXPECT_TRUE(r.ok) << what << ": " << r.error;
        EXPECT_EQ(r.report, "") << what;
        EXPECT_FALSE(contains(r.out, "TOP SECRET")) << what << " read the secret: " << r.out;
        EXPECT_FALSE(contains(r.out, "root:x:0:0")) << what << " read the host's /etc/passwd";
        if (!m_host_passwd.empty()) {
            EXPECT_FALSE(contains(r.out, m_host_passwd.substr(0, std::min<size_t>(m_host_passwd.size(), 40))))
                << what << " read the host's /etc/passwd";
        }
        EXPECT_EQ(m_sb->outside_state(), m_outside) << what;
        EXPECT_EQ(m_sb->escaped_files(), "") << what;
    }

    std::unique_ptr<Sandbox> m_sb;
    std::string m_host_passwd, m_outside;
};

TEST_F(FsEscape, DotDotAboveTheShare) {
    for (const char* p : {"/data/../../etc/passwd", "/data/../../../../etc/shadow", "/data/../outside/secret",
                          "/data/../../../../../../../../../../etc/passwd", "/data/docs/../../outside/secret"}) {
        auto r = bb({"cat", p}, data());
        expect_nothing_leaked(r, std::string("cat ") + p);
        EXPECT_EQ(r.status, 1) << p;
        EXPECT_EQ(r.out, "") << p;
    }
    // Relative, from the share root as cwd.
    auto r = bb({"cat", "../outside/secret", "../../../etc/passwd"}, data());
    expect_nothing_leaked(r, "relative ..");
    EXPECT_EQ(r.out, "");
    // As the rootfs, .. stops at /: the decoy, never the host's file.
    r = bb({"cat", "/../../etc/passwd", "../../../../etc/passwd"}, rootfs());
    expect_nothing_leaked(r, "rootfs ..");
    EXPECT_EQ(r.out, read_file(share() + "/etc/passwd") + read_file(share() + "/etc/passwd"));
    r = bb({"cat", "/../outside/secret"}, rootfs());
    expect_nothing_leaked(r, "rootfs ../outside");
    EXPECT_EQ(r.status, 1);
    r = bb({"ls", "-a", "/.."}, rootfs());
    EXPECT_EQ(r.out, run_native({kBusybox, "ls", "-a", share()}, share()).out);
}

TEST_F(FsEscape, GuestSymlinkToAbsolutePath) {
    auto r = bb({"ln", "-s", "/etc/passwd", "pw"}, data());
    ASSERT_EQ(r.status, 0) << describe(r);
    r = bb({"ln", "-s", m_sb->secret(), "sec"}, data());
    ASSERT_EQ(r.status, 0) << describe(r);
    // Absolute symlink targets never leave the share. On Linux /etc/passwd
    // would be the guest's (none: ENOENT); lightvm currently resolves it
    // against the share root (the decoy); see AbsoluteSymlinksResolveInTheGuestNamespace.
    r = bb({"cat", "/data/pw"}, data());
    expect_nothing_leaked(r, "cat symlink -> /etc/passwd");
    EXPECT_TRUE(r.out.empty() || r.out == read_file(share() + "/etc/passwd")) << r.out;
    r = bb({"cat", "/data/sec"}, data());
    expect_nothing_leaked(r, "cat symlink -> secret");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "No such file or directory")) << r.err;
    // Without a decoy: ENOENT.
    ASSERT_EQ(::unlink((share() + "/etc/passwd").c_str()), 0);
    r = bb({"cat", "/data/pw"}, data());
    expect_nothing_leaked(r, "cat symlink -> /etc/passwd, no decoy");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "No such file or directory")) << r.err;
    // cp through the link, and writing through it.
    r = bb({"cp", "/data/pw", "/data/stolen"}, data());
    expect_nothing_leaked(r, "cp symlink");
    EXPECT_NE(r.status, 0);
    r = bb({"sh", "-c", "echo pwned > /data/pw"}, data());
    expect_nothing_leaked(r, "write through symlink");
    // It may create etc/passwd inside the share, never outside.
    EXPECT_NE(read_file("/etc/passwd"), "pwned\n");
    // As rootfs.
    write_file(share() + "/etc/passwd", "decoy:x:0:0:inside the share:/:/bin/sh\n");
    r = bb({"cat", "/pw"}, rootfs());
    expect_nothing_leaked(r, "rootfs symlink -> /etc/passwd");
    EXPECT_EQ(r.out, "decoy:x:0:0:inside the share:/:/bin/sh\n");
}

TEST_F(FsEscape, SymlinkToDotDotChain) {
    ASSERT_EQ(bb({"ln", "-s", "../../..", "up"}, data()).status, 0);
    ASSERT_EQ(bb({"ln", "-s", "../outside/secret", "sec"}, data()).status, 0);
    ASSERT_EQ(bb({"ln", "-s", "../../../../../../../../../../etc/passwd", "deep"}, data()).status, 0);
    // The link's .. stops at the share root: up/ is the share itself.
    auto r = bb({"ls", "/data/up/"}, data());
    expect_nothing_leaked(r, "ls up/");
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, bb({"ls", "/data/"}, data()).out);
    r = bb({"cat", "/data/up/etc/passwd"}, data());
    expect_nothing_leaked(r, "cat up/etc/passwd");
    EXPECT_EQ(r.out, read_file(share() + "/etc/passwd"));
    r = bb({"cat", "/data/deep"}, data());
    expect_nothing_leaked(r, "cat deep");
    EXPECT_TRUE(r.out.empty() || r.out == read_file(share() + "/etc/passwd")) << r.out;
    r = bb({"cat", "/data/sec", "/data/up/outside/secret", "/data/up/../outside/secret"}, data());
    expect_nothing_leaked(r, "cat up/../outside/secret");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    // Creating through the link lands inside.
    r = bb({"sh", "-c", "echo x > /data/up/" + m_sb->token()}, data());
    expect_nothing_leaked(r, "create through up/");
    EXPECT_TRUE(exists(share() + "/" + m_sb->token()) || r.status != 0);
    r = bb({"mkdir", "-p", "/data/up/up/up/" + m_sb->token() + "-dir"}, data());
    expect_nothing_leaked(r, "mkdir through up/up/up");
    r = bb({"find", "/data/up/"}, data());  // must terminate, and see only the share
    expect_nothing_leaked(r, "find through up");
}

TEST_F(FsEscape, HostSymlinksPointingOutside) {
    // Links planted on the host (a share's existing content) get the same
    // confinement as links the guest makes.
    ::symlink(m_sb->secret().c_str(), (share() + "/abs-secret").c_str());
    ::symlink("../outside/secret", (share() + "/rel-secret").c_str());
    ::symlink("../outside", (share() + "/outdir").c_str());
    ::symlink("/", (share() + "/hostroot").c_str());
    ::symlink("/proc/self/cwd", (share() + "/proccwd").c_str());
    m_outside = m_sb->outside_state();
    for (const char* p : {"/data/abs-secret", "/data/rel-secret", "/data/outdir/secret"}) {
        auto r = bb({"cat", p}, data());
        expect_nothing_leaked(r, std::string("cat ") + p);
        EXPECT_EQ(r.status, 1) << p;
    }
    auto r = bb({"ls", "/data/outdir/"}, data());
    expect_nothing_leaked(r, "ls outdir/");
    EXPECT_NE(r.status, 0);
    // "/" is the share root (or, as on Linux, the guest's /): never the host's.
    r = bb({"ls", "/data/hostroot/"}, data());
    expect_nothing_leaked(r, "ls hostroot/");
    EXPECT_TRUE(r.out == bb({"ls", "/data/"}, data()).out || r.out == bb({"ls", "/"}, data()).out) << r.out;
    r = bb({"cat", "/data/hostroot/etc/passwd"}, data());
    expect_nothing_leaked(r, "cat hostroot/etc/passwd");
    EXPECT_TRUE(r.out.empty() || r.out == read_file(share() + "/etc/passwd")) << r.out;
    // /proc/self/cwd is the guest's own magic link, as on Linux: the
    // process's working directory in the guest, never the host's.
    r = bb({"ls", "/data/proccwd/"}, data());
    expect_nothing_leaked(r, "ls proccwd/");
    EXPECT_EQ(r.out, bb({"ls", "."}, data()).out);
    // Writing through them.
    r = bb({"sh", "-c", "echo pwned > /data/outdir/" + m_sb->token()}, data());
    expect_nothing_leaked(r, "write through outdir");
    r = bb({"cp", "/data/a.txt", "/data/rel-secret"}, data());
    expect_nothing_leaked(r, "cp onto rel-secret");
    EXPECT_EQ(read_file(m_sb->secret()), "TOP SECRET: outside the share\n");
    // Metadata and namespace operations through them.
    using V = std::vector<std::string>;
    for (const V& args : {V{"chmod", "777", "/data/abs-secret"}, V{"chmod", "777", "/data/rel-secret"},
                          V{"touch", "/data/abs-secret"}, V{"touch", "-d", "2001-01-01", "/data/rel-secret"},
                          V{"truncate", "-s", "0", "/data/rel-secret"}, V{"truncate", "-s", "0", "/data/abs-secret"},
                          V{"rm", "/data/outdir/secret"}, V{"mv", "/data/outdir/secret", "/data/stolen"},
                          V{"ln", "/data/outdir/secret", "/data/hl"}, V{"cp", "-a", "/data/outdir/", "/data/copy"},
                          V{"sed", "-i", "s/TOP/NOT/", "/data/rel-secret"}, V{"mkdir", "/data/outdir/" + m_sb->token()},
                          V{"ln", "-s", "x", "/data/outdir/" + m_sb->token()}, V{"rmdir", "/data/outdir"},
                          V{"sh", "-c", "cd /data/outdir && echo inside > " + m_sb->token()},
                          V{"dd", "if=/dev/zero", "of=/data/abs-secret", "bs=1", "count=3", "conv=notrunc"}}) {
        std::string what;
        for (const auto& a : args)
            what += a + " ";
        r = bb(args, data());
        expect_nothing_leaked(r, what);
        EXPECT_FALSE(exists(share() + "/stolen") && contains(read_file(share() + "/stolen"), "TOP SECRET")) << what;
        EXPECT_FALSE(exists(share() + "/hl") && contains(read_file(share() + "/hl"), "TOP SECRET")) << what;
    }
    EXPECT_EQ(read_file(m_sb->secret()), "TOP SECRET: outside the share\n");
    EXPECT_EQ(lstat_of(m_sb->secret()).st_mode & 07777, 0644u);
}

TEST_F(FsEscape, ProcSelfRoot) {
    auto r = bb({"ln", "-s", "/proc/self/root", "x"}, data());
    ASSERT_EQ(r.status, 0) << describe(r);
    for (const char* p : {"/data/x/etc/passwd", "/data/x/" }) {
        r = bb({"ls", p}, data());
        expect_nothing_leaked(r, std::string("ls ") + p);
    }
    r = bb({"cat", "/data/x/etc/passwd", "/proc/self/root/etc/passwd", "/proc/1/root/etc/passwd"}, data());
    expect_nothing_leaked(r, "cat via /proc/self/root");
    EXPECT_FALSE(contains(r.out, m_host_passwd.substr(0, 20)));
    EXPECT_EQ(r.status, 1);
    // The guest's own /proc/self/fd links are the kernel's, not the host's.
    r = bb({"cat", "/proc/self/fd/3", "/proc/self/cwd/a.txt"}, data());
    expect_nothing_leaked(r, "cat /proc/self/fd/3");
}

TEST_F(FsEscape, VeryLongPaths) {
    std::string comp(200, 'd');
    std::string p = "/data";
    while (p.size() < 5000)
        p += "/" + comp;
    auto r = bb({"cat", p}, data());
    expect_nothing_leaked(r, "cat 5000-byte path");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "File name too long")) << r.err;
    r = bb({"mkdir", "-p", p}, data());
    expect_nothing_leaked(r, "mkdir -p 5000-byte path");
    EXPECT_NE(r.status, 0);
    // "../" repeated past PATH_MAX.
    std::string ups = "/data";
    while (ups.size() < 5000)
        ups += "/..";
    r = bb({"cat", ups + "/etc/passwd"}, data());
    expect_nothing_leaked(r, "cat 5000 bytes of ..");
    EXPECT_EQ(r.status, 1);
    // A long path below the limit works (and stays inside).
    std::string ok = "l1/" + std::string(250, 'e') + "/" + std::string(250, 'f');
    r = bb({"mkdir", "-p", ok}, data());
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(exists(share() + "/" + ok));
    // One component longer than NAME_MAX.
    r = bb({"touch", std::string(300, 'n')}, data());
    expect_nothing_leaked(r, "touch 300-byte name");
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.err, "File name too long")) << r.err;
    // Symlink targets up to 4095 bytes are stored as text.
    std::string longtarget;
    while (longtarget.size() < 4000)
        longtarget += "../";
    longtarget += "etc/passwd";
    r = bb({"ln", "-s", longtarget, "longlink"}, data());
    EXPECT_EQ(r.status, 0) << describe(r);
    r = bb({"cat", "/data/longlink"}, data());
    expect_nothing_leaked(r, "cat through a 4000-byte ../ link");
}

TEST_F(FsEscape, NonUtf8NamesStayInside) {
    const std::string evil = "..\xff/";
    const std::string name = std::string("\xff\xfe..\x80") + m_sb->token();
    auto r = bb({"sh", "-c", "printf 'x' > '/data/" + name + "'"}, data());
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(read_file(share() + "/" + name), "x");
    r = bb({"mkdir", "-p", "/data/" + evil + "sub"}, data());
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(exists(share() + "/..\xff/sub"));
    r = bb({"cat", "/data/" + evil + "../../outside/secret"}, data());
    expect_nothing_leaked(r, "cat via a non-UTF-8 directory and ..");
    EXPECT_EQ(r.status, 1);
    r = bb({"mv", "/data/" + name, "/data/" + evil + "../../" + m_sb->token()}, data());
    expect_nothing_leaked(r, "mv a non-UTF-8 name up");
}

TEST_F(FsEscape, MoveAndCopyOut) {
    // mv to ../../outside from the share root: the guest has nothing there.
    auto r = bb({"mv", "a.txt", "../../" + m_sb->token()}, data());
    expect_nothing_leaked(r, "mv a.txt ../../TOKEN");
    EXPECT_TRUE(exists(share() + "/a.txt") || exists(share() + "/" + m_sb->token()));
    r = bb({"mv", "b.txt", "/data/../outside/" + m_sb->token()}, data());
    expect_nothing_leaked(r, "mv b.txt ../outside/TOKEN");
    r = bb({"cp", "lines.txt", "/data/../../../tmp/" + m_sb->token()}, data());
    expect_nothing_leaked(r, "cp to /tmp");
    EXPECT_EQ(r.status, 0) << "the guest's own /tmp (a tmpfs in guest RAM) takes it: " << describe(r);
    EXPECT_FALSE(exists("/tmp/" + m_sb->token())) << "never the host's /tmp";
    r = bb({"ln", "/data/../outside/secret", "/data/hl"}, data());
    expect_nothing_leaked(r, "hard link to the secret");
    EXPECT_NE(r.status, 0);
    EXPECT_FALSE(exists(share() + "/hl"));
    // As rootfs the same paths stay inside the share.
    r = bb({"mv", "/copy-of-a.txt", "../../" + m_sb->token()}, rootfs());
    expect_nothing_leaked(r, "rootfs mv ../../TOKEN");
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(read_file(share() + "/" + m_sb->token()), "alpha\nbeta\ngamma\n");
    r = bb({"mv", "/numbers.txt", "/../outside/secret"}, rootfs());
    expect_nothing_leaked(r, "rootfs mv onto ../outside/secret");
    // The guest's rename onto a directory path inside the share.
    r = bb({"mv", "/docs", "/../../docs-moved"}, rootfs());
    expect_nothing_leaked(r, "rootfs mv dir up");
    EXPECT_TRUE(exists(share() + "/docs-moved"));
    // rm -r of "/.." removes nothing outside (it may empty the share).
    r = bb({"rm", "-rf", "/data/../outside"}, data());
    expect_nothing_leaked(r, "rm -rf ../outside");
}

// ---------------------------------------------------------------------------
// Block devices
// ---------------------------------------------------------------------------

class FsDisk : public ::testing::Test {
protected:
    void SetUp() override {
        REQUIRE_BUSYBOX();
        m_sb = std::make_unique<Sandbox>();
        m_disk = m_sb->share() + "/disk.img";
        m_data = random_bytes(kSize, 77);
        ASSERT_TRUE(write_file(m_disk, m_data));
        // Inputs for dd, in a separate share.
        ::mkdir(in_dir().c_str(), 0755);
        m_src = random_bytes(100000, 5);
        ASSERT_TRUE(write_file(in_dir() + "/src", m_src));
    }
    void TearDown() override { m_sb.reset(); }
    std::string in_dir() const { return m_sb->native(); }

    RunOptions disk_opts(bool ro = false) const {
        RunOptions o;
        o.disks.push_back(DiskSpec{m_disk, ro});
        o.shares.push_back(ShareSpec{in_dir(), "/in", false});
        return o;
    }

    static constexpr size_t kSize = 1000000;  // not a multiple of 512
    std::unique_ptr<Sandbox> m_sb;
    std::string m_disk, m_data, m_src;
};

TEST_F(FsDisk, SizeAndContent) {
    auto r = bb({"blockdev", "--getsize64", "/dev/vda"}, disk_opts());
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, std::to_string(kSize) + "\n");
    r = bb({"cat", "/dev/vda"}, disk_opts());
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(r.out == m_data) << "cat /dev/vda: " << r.out.size() << " bytes";
    r = bb({"sha256sum", "/dev/vda"}, disk_opts());
    auto n = run_native({kBusybox, "sha256sum"}, "/", m_data);
    EXPECT_EQ(r.out.substr(0, 64), n.out.substr(0, 64));
    r = bb({"ls", "-l", "/dev/vda"}, disk_opts());
    EXPECT_EQ(r.out.substr(0, 1), "b") << r.out;
    EXPECT_NE(bb({"ls", "/dev/vdb"}, disk_opts()).status, 0) << "only one disk";
}

TEST_F(FsDisk, DdAtOddOffsetsMatchesNative) {
    // The same dd commands on the disk (in the guest) and on a host copy
    // (natively): the files must end up identical.
    std::string copy = m_sb->parent() + "/copy.img";
    ASSERT_TRUE(write_file(copy, m_data));
    const std::vector<std::vector<std::string>> cmds = {
        {"bs=1", "seek=12345", "count=7"},
        {"bs=513", "skip=3", "seek=3", "count=5"},
        {"bs=4096", "skip=1", "seek=17", "count=3"},
        {"bs=1000", "skip=7", "seek=999", "count=1"},  // the last 1000 bytes
        {"bs=65536", "seek=1", "count=1"},
        {"bs=100000", "count=1", "seek=0"},
        {"bs=8", "skip=1000", "seek=124999", "count=1"},  // ends exactly at the device's end
        {"bs=7", "skip=1000", "seek=142856", "count=1"},  // odd size near the end
    };
    for (const auto& c : cmds) {
        std::vector<std::string> g = {"dd", "if=/in/src", "of=/dev/vda", "conv=notrunc"};
        std::vector<std::string> h = {kBusybox, "dd", "if=" + in_dir() + "/src", "of=" + copy, "conv=notrunc"};
        g.insert(g.end(), c.begin(), c.end());
        h.insert(h.end(), c.begin(), c.end());
        auto r = bb(g, disk_opts());
        auto n = run_native(h, "/");
        EXPECT_EQ(r.status, 0) << c[0] << " " << c[1] << ": " << describe(r);
        EXPECT_EQ(n.status, 0) << n.err;
        std::string got = read_file(m_disk), want = read_file(copy);
        EXPECT_EQ(got.size(), kSize);
        EXPECT_TRUE(got == want) << "after dd " << c[0] << " " << c[1] << " " << (c.size() > 2 ? c[2] : "");
    }
    // Read back in the guest at odd places and compare with the host file.
    const std::string now = read_file(m_disk);
    struct {
        int bs, skip, count;
    } reads[] = {{1, 12345, 7}, {513, 3, 5}, {4096, 17, 3}, {1000, 999, 1}, {333, 3000, 3}, {7, 142856, 1}};
    for (auto rd : reads) {
        auto r = bb({"dd", "if=/dev/vda", "bs=" + std::to_string(rd.bs), "skip=" + std::to_string(rd.skip),
                     "count=" + std::to_string(rd.count)},
                    disk_opts());
        EXPECT_EQ(r.status, 0) << describe(r);
        size_t off = static_cast<size_t>(rd.bs) * rd.skip;
        size_t len = std::min(static_cast<size_t>(rd.bs) * rd.count, kSize - off);
        EXPECT_TRUE(r.out == now.substr(off, len)) << "dd bs=" << rd.bs << " skip=" << rd.skip;
    }
    // cmp between the device and the host copy, in the guest.
    ::mkdir((in_dir() + "/c").c_str(), 0755);
    write_file(in_dir() + "/c/copy", now);
    EXPECT_EQ(bb({"cmp", "/dev/vda", "/in/c/copy"}, disk_opts()).status, 0);
}

TEST_F(FsDisk, WritesPastTheEndAreRefused) {
    auto r = bb({"dd", "if=/in/src", "of=/dev/vda", "bs=1", "seek=" + std::to_string(kSize - 3), "count=10",
                 "conv=notrunc"},
                disk_opts());
    EXPECT_NE(r.status, 0) << "a device does not grow: " << describe(r);
    EXPECT_TRUE(contains(r.err, "No space left on device")) << r.err;
    std::string got = read_file(m_disk);
    EXPECT_EQ(got.size(), kSize) << "the file must not grow";
    EXPECT_EQ(got.substr(kSize - 3), m_src.substr(0, 3));
    // Reading past the end is EOF.
    r = bb({"dd", "if=/dev/vda", "bs=1000", "skip=1000", "count=5"}, disk_opts());
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, "");
}

TEST_F(FsDisk, ReadOnlyDiskRefusesWrites) {
    auto r = bb({"dd", "if=/in/src", "of=/dev/vda", "bs=512", "count=1", "conv=notrunc"}, disk_opts(true));
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.err, "Read-only file system")) << r.err;
    r = bb({"sh", "-c", "echo x > /dev/vda"}, disk_opts(true));
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.err, "Read-only file system")) << r.err;
    r = bb({"sh", "-c", "echo x 1<>/dev/vda"}, disk_opts(true));
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(read_file(m_disk) == m_data) << "a read-only disk changed";
    // Reading works.
    r = bb({"blockdev", "--getsize64", "/dev/vda"}, disk_opts(true));
    EXPECT_EQ(r.out, std::to_string(kSize) + "\n");
    r = bb({"dd", "if=/dev/vda", "bs=4096", "skip=3", "count=2"}, disk_opts(true));
    EXPECT_TRUE(r.out == m_data.substr(3 * 4096, 2 * 4096));
    r = bb({"blockdev", "--getro", "/dev/vda"}, disk_opts(true));
    if (r.status == 0) {
        EXPECT_EQ(r.out, "1\n") << "BLKROGET of a read-only disk";
    }
}

TEST_F(FsDisk, TwoDisks) {
    std::string second = m_sb->parent() + "/second.img";
    std::string d2 = random_bytes(8192, 31337);
    ASSERT_TRUE(write_file(second, d2));
    RunOptions o = disk_opts();
    o.disks.push_back(DiskSpec{second, false});
    auto r = bb({"cat", "/dev/vdb"}, o);
    EXPECT_TRUE(r.out == d2) << describe(r);
    r = bb({"blockdev", "--getsize64", "/dev/vdb"}, o);
    EXPECT_EQ(r.out, "8192\n") << describe(r);
    r = bb({"blockdev", "--getsize64", "/dev/vda"}, o);
    EXPECT_EQ(r.out, std::to_string(kSize) + "\n") << describe(r);
    // Copy the start of vda onto vdb: only vdb changes.
    r = bb({"dd", "if=/dev/vda", "of=/dev/vdb", "bs=1024", "count=4", "seek=2", "conv=notrunc"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    std::string want = d2;
    want.replace(2048, 4096, m_data.substr(0, 4096));
    EXPECT_TRUE(read_file(second) == want);
    EXPECT_TRUE(read_file(m_disk) == m_data);
    EXPECT_NE(bb({"cat", "/dev/vdc"}, o).status, 0);
}

TEST_F(FsDisk, FsyncedWritesAreInTheFile) {
    RunOptions o = disk_opts();
    o.trace = true;
    auto r = bb({"dd", "if=/in/src", "of=/dev/vda", "bs=4096", "count=3", "seek=5", "conv=notrunc,fsync"}, o);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(contains(r.diag, "fsync(1) = 0")) << "dd conv=fsync must reach the device: " << r.diag.substr(0, 300);
    EXPECT_TRUE(read_file(m_disk).substr(5 * 4096, 3 * 4096) == m_src.substr(0, 3 * 4096));
}

TEST_F(FsDisk, WritesSurviveAKilledVm) {
    // The guest writes, then spins until the timeout kills the VM: what was
    // written before must be in the file. (busybox sh has no sync builtin and
    // cannot run external commands, so the write is followed directly by the
    // spin; see FsyncedWritesAreInTheFile for the flush itself.)
    RunOptions o = disk_opts();
    o.timeout_seconds = 1.0;
    auto r = bb({"sh", "-c", "printf SURVIVES 1<>/dev/vda; echo written; while :; do :; done"}, o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.timed_out) << describe(r);
    EXPECT_EQ(r.status, 124);
    EXPECT_EQ(r.out, "written\n");
    EXPECT_EQ(read_file(m_disk).substr(0, 8), "SURVIVES");
    EXPECT_EQ(read_file(m_disk).substr(8), m_data.substr(8));

    // dd with conv=fsync blocked on a stdin that never ends: the blocks it
    // wrote before are in the file when the VM is killed.
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    std::string chunk = random_bytes(8192, 4242);
    ASSERT_EQ(::write(p[1], chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
    RunOptions o2 = disk_opts();
    o2.timeout_seconds = 1.0;
    o2.stdin_fd = p[0];
    r = bb({"dd", "of=/dev/vda", "bs=4096", "seek=10", "conv=notrunc,fsync"}, o2);
    ::close(p[0]);
    ::close(p[1]);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.timed_out) << describe(r);
    EXPECT_TRUE(read_file(m_disk).substr(10 * 4096, 8192) == chunk) << "blocks written before the kill are lost";
}

pid_t spawn_lightvm(const std::vector<std::string>& args, int out_fd) {
    std::vector<std::string> argv = {kLightvmBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv)
        cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, kLightvmBinary.c_str(), &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

// True once another open file description holds a lock on path (up to 5 s).
bool wait_until_locked(const std::string& path, bool exclusive) {
    for (int i = 0; i < 500; ++i) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return false;
        bool locked = ::flock(fd, (exclusive ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0 && errno == EWOULDBLOCK;
        ::close(fd);
        if (locked)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

int stop_child(pid_t pid) {
    ::kill(pid, SIGTERM);
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

TEST_F(FsDisk, DiskInUseByAnotherVm) {
    // run_vm keeps per-process state (stop signal, active vCPU), so the
    // first VM is a separate lightvm process.
    struct stat st;
    if (::stat(kLightvmBinary.c_str(), &st) != 0)
        GTEST_SKIP() << "SKIPPED: lightvm binary not found at " << kLightvmBinary << " (build the lightvm target)";
    UniqueFd log = memfd_with("first-vm", "");
    pid_t first = spawn_lightvm({"run", "--disk", m_disk, guest_path("sleep_ms.musl"), "20000"}, log.get());
    ASSERT_GT(first, 0);
    bool locked = wait_until_locked(m_disk, true);
    if (!locked) {
        stop_child(first);
        FAIL() << "the first VM never locked its disk: " << drain(log.get());
    }
    auto r = bb({"true"}, disk_opts());
    EXPECT_FALSE(r.ok) << "a second read-write VM on a busy disk must fail";
    EXPECT_EQ(r.error, "--disk " + m_disk + ": in use by another VM");
    EXPECT_EQ(r.error.find('\n'), std::string::npos);
    r = bb({"true"}, disk_opts(true));
    EXPECT_FALSE(r.ok) << "nor may a reader open a disk that is being written";
    EXPECT_EQ(r.error, "--disk " + m_disk + ": in use by another VM");
    int st1 = stop_child(first);
    EXPECT_EQ(st1, 143) << drain(log.get());
    // Free again once the first VM is gone.
    r = bb({"true"}, disk_opts());
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0);

    // Two readers are fine; a writer next to a reader is not.
    UniqueFd log2 = memfd_with("reader-vm", "");
    pid_t reader = spawn_lightvm({"run", "--disk", m_disk + ":ro", guest_path("sleep_ms.musl"), "20000"}, log2.get());
    ASSERT_GT(reader, 0);
    locked = wait_until_locked(m_disk, false);
    if (!locked) {
        stop_child(reader);
        FAIL() << "the reader VM never locked its disk: " << drain(log2.get());
    }
    r = bb({"blockdev", "--getsize64", "/dev/vda"}, disk_opts(true));
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.out, std::to_string(kSize) + "\n");
    r = bb({"true"}, disk_opts());
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "--disk " + m_disk + ": in use by another VM");
    stop_child(reader);
}

// ---------------------------------------------------------------------------
// Errors: one line, the right kind
// ---------------------------------------------------------------------------

class FsErrors : public ::testing::Test {
protected:
    void SetUp() override {
        REQUIRE_BUSYBOX();
        m_sb = std::make_unique<Sandbox>();
    }
    std::unique_ptr<Sandbox> m_sb;
};

TEST_F(FsErrors, ShareOfAMissingDirectory) {
    std::string missing = m_sb->parent() + "/missing";
    auto r = bb({"true"}, share_at(missing, "/data"));
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error_kind, ErrorKind::NotFound);
    EXPECT_EQ(r.error, "--fs " + missing + ": No such file or directory");
    EXPECT_FALSE(exists(missing)) << "nothing is created";
}

TEST_F(FsErrors, ShareOfANonFile) {
    auto r = bb({"true"}, share_at("/dev/null", "/data"));
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error_kind, ErrorKind::BadInput);
    EXPECT_EQ(r.error, "--fs /dev/null: not a directory or regular file");
    std::string file = m_sb->parent() + "/sibling.txt";
    r = bb({"true"}, share_at(file, "/"));  // the guest's / must be a directory
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error, "--fs " + file + ": not a directory (the guest's / must be one)");
}

// ---------------------------------------------------------------------------
// A share of a single file (a bind mount of one file: -v /host/file:/file)
// ---------------------------------------------------------------------------

// host etc/ holds passwd (shared) and shadow (its sibling, never shared);
// the guest gets a directory share at /data and the file at /data/passwd
// (as docker's -v over a directory of the image), or the file alone.
class FsFileShare : public ::testing::Test {
protected:
    void SetUp() override {
        REQUIRE_BUSYBOX();
        m_sb = std::make_unique<Sandbox>();
        ::mkdir(etc().c_str(), 0755);
        write_file(etc() + "/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        write_file(etc() + "/shadow", "root:SECRET-HASH:19000::::::\n");
        write_file(m_sb->share() + "/other", "in the directory share\n");
    }
    std::string etc() const { return m_sb->parent() + "/etc"; }
    std::string passwd() const { return etc() + "/passwd"; }
    RunOptions both(bool ro) const {
        RunOptions o = share_at(m_sb->share(), "/data");
        o.shares.push_back(ShareSpec{passwd(), "/data/passwd", ro});
        return o;
    }
    std::unique_ptr<Sandbox> m_sb;
};

TEST_F(FsFileShare, ReadStatAndWriteThrough) {
    auto r = bb({"sh", "-c", "cat /data/passwd; stat -c '%s %F %a' /data/passwd; cat /data/other"}, both(false));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.out, "root:x:0:0:root:/root:/bin/sh\n30 regular file 644\nin the directory share\n") << r.err;
    r = bb({"sh", "-c", "echo replaced >/data/passwd && echo more >>/data/passwd && cat /data/passwd"}, both(false));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "replaced\nmore\n");
    EXPECT_EQ(read_file(passwd()), "replaced\nmore\n") << "writes reach the host file";
    r = bb({"sh", "-c", "chmod 600 /data/passwd && stat -c %a /data/passwd"}, both(false));
    EXPECT_EQ(r.out, "600\n") << r.err;
    struct stat st{};
    ASSERT_EQ(::stat(passwd().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FsFileShare, ReadOnlyRefusesWrites) {
    auto r = bb({"sh", "-c", "cat /data/passwd; echo x >/data/passwd"}, both(true));
    EXPECT_EQ(r.out, "root:x:0:0:root:/root:/bin/sh\n");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
    r = bb({"truncate", "-s", "0", "/data/passwd"}, both(true));
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(read_file(passwd()), "root:x:0:0:root:/root:/bin/sh\n");
}

TEST_F(FsFileShare, AMountPointIsBusyToRenameOrRemove) {
    // As Linux for a bind-mounted file: EBUSY to rename it, to rename over
    // it, and to unlink it; the host file stays.
    auto r = bb({"mv", "/data/passwd", "/data/moved"}, both(false));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("busy"), std::string::npos) << r.err;
    r = bb({"mv", "/data/other", "/data/passwd"}, both(false));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("busy"), std::string::npos) << r.err;
    r = bb({"rm", "/data/passwd"}, both(false));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("busy"), std::string::npos) << r.err;
    EXPECT_EQ(read_file(passwd()), "root:x:0:0:root:/root:/bin/sh\n");
    EXPECT_EQ(read_file(m_sb->share() + "/other"), "in the directory share\n");
}

TEST_F(FsFileShare, SiblingsAreNotReachable) {
    // A bind of etc/passwd exposes that file only: nothing below it, and
    // `..` from it does not reach etc/shadow.
    RunOptions alone;
    alone.shares.push_back(ShareSpec{passwd(), "/passwd", false});
    for (const char* path : {"/passwd/../shadow", "/passwd/shadow", "/passwd/.", "/passwd/"}) {
        auto r = bb({"cat", path}, alone);
        EXPECT_NE(r.status, 0) << path;
        EXPECT_EQ(r.out.find("SECRET"), std::string::npos) << path;
    }
    auto r = bb({"sh", "-c", "ls /passwd/ 2>&1; cd /passwd; echo cd $?; cat /shadow 2>&1; echo x >/passwd/new; echo $?"},
                alone);
    EXPECT_EQ(r.out.find("SECRET"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Not a directory"), std::string::npos) << r.out;
    EXPECT_EQ(::access((etc() + "/new").c_str(), F_OK), -1) << "nothing made beside the file";
    EXPECT_EQ(read_file(etc() + "/shadow"), "root:SECRET-HASH:19000::::::\n");
}

TEST_F(FsFileShare, TheFileBoundAtStartStaysBound) {
    // A bind pins the inode: a file renamed over the host name while the
    // guest runs is not what the guest sees.
    write_file(etc() + "/swap", "swapped\n");
    const std::string ready = m_sb->share() + "/ready";
    std::thread swapper([&] {
        for (int i = 0; i < 600 && ::access(ready.c_str(), F_OK) != 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ::rename((etc() + "/swap").c_str(), passwd().c_str());
    });
    auto r = bb({"sh", "-c", "cat /data/passwd; touch /data/ready; sleep 3; cat /data/passwd"}, both(false));
    swapper.join();
    EXPECT_EQ(read_file(passwd()), "swapped\n");
    EXPECT_EQ(r.out, "root:x:0:0:root:/root:/bin/sh\nroot:x:0:0:root:/root:/bin/sh\n") << r.err;
}

TEST_F(FsErrors, MissingDisk) {
    std::string missing = m_sb->parent() + "/missing.img";
    RunOptions o;
    o.disks.push_back(DiskSpec{missing, false});
    auto r = bb({"true"}, o);
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error_kind, ErrorKind::NotFound);
    EXPECT_EQ(r.error, "--disk " + missing + ": No such file or directory");
    EXPECT_FALSE(exists(missing)) << "a missing disk must not be created";
    o.disks[0].read_only = true;
    r = bb({"true"}, o);
    EXPECT_EQ(r.error, "--disk " + missing + ": No such file or directory");
}

TEST_F(FsErrors, DiskThatIsADirectory) {
    RunOptions o;
    o.disks.push_back(DiskSpec{m_sb->share(), true});
    auto r = bb({"true"}, o);
    ASSERT_FALSE(r.ok);
    EXPECT_TRUE(contains(r.error, "--disk " + m_sb->share() + ": ")) << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos);
    o.disks[0].read_only = false;
    r = bb({"true"}, o);
    ASSERT_FALSE(r.ok);
    EXPECT_TRUE(contains(r.error, "--disk " + m_sb->share() + ": ")) << r.error;
}

TEST_F(FsErrors, UnreadableDisk) {
    if (::geteuid() == 0)
        GTEST_SKIP() << "SKIPPED: running as root, file permissions do not apply";
    std::string disk = m_sb->parent() + "/locked.img";
    ASSERT_TRUE(write_file(disk, std::string(4096, 'x'), 0200));
    RunOptions o;
    o.disks.push_back(DiskSpec{disk, true});
    auto r = bb({"true"}, o);
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error_kind, ErrorKind::System);
    EXPECT_EQ(r.error, "--disk " + disk + ": Permission denied");
}

TEST_F(FsErrors, BadShareFailsBeforeTheGuestRuns) {
    // The second share is bad: nothing runs, nothing is written to the first.
    RunOptions o;
    o.shares = {ShareSpec{m_sb->share(), "/data", false}, ShareSpec{m_sb->parent() + "/nope", "/x", false}};
    auto r = bb({"touch", "/data/created"}, o);
    ASSERT_FALSE(r.ok);
    EXPECT_FALSE(exists(m_sb->share() + "/created"));
    // Two shares at one guest path.
    o.shares = {ShareSpec{m_sb->share(), "/data", false}, ShareSpec{m_sb->native(), "/data", false}};
    r = bb({"true"}, o);
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error_kind, ErrorKind::BadInput);
    EXPECT_EQ(r.error, "--fs: two shares at /data");
}

// ---------------------------------------------------------------------------
// stdio as real streams
// ---------------------------------------------------------------------------

TEST(FsStream, CatRoundTrips64MiBThroughPipes) {
    REQUIRE_BUSYBOX();
    struct sigaction ign{}, old{};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old);
    constexpr size_t kTotal = 64u << 20;
    const std::string block = random_bytes(1 << 20, 2024);
    int in[2], out[2];
    ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    std::thread writer([&] {
        size_t sent = 0;
        while (sent < kTotal) {
            size_t off = sent % block.size();
            ssize_t w = ::write(in[1], block.data() + off, block.size() - off);
            if (w <= 0)
                break;
            sent += static_cast<size_t>(w);
        }
        ::close(in[1]);
    });
    uint64_t expect_hash = 0xcbf29ce484222325ull, got_hash = 0xcbf29ce484222325ull;
    for (size_t done = 0; done < kTotal; done += block.size())
        expect_hash = fnv_update(expect_hash, block.data(), block.size());
    size_t received = 0;
    std::thread reader([&] {
        std::vector<char> buf(1 << 16);
        for (ssize_t n; (n = ::read(out[0], buf.data(), buf.size())) > 0;) {
            got_hash = fnv_update(got_hash, buf.data(), static_cast<size_t>(n));
            received += static_cast<size_t>(n);
        }
    });
    RunOptions o;
    o.stdin_fd = in[0];
    o.stdout_fd = out[1];
    auto r = bb({"cat"}, o);
    ::close(out[1]);
    ::close(in[0]);
    reader.join();
    writer.join();
    ::close(out[0]);
    ::sigaction(SIGPIPE, &old, nullptr);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(received, kTotal);
    EXPECT_EQ(got_hash, expect_hash) << "the stream came out different";
}

TEST(FsStream, CatRoundTrips64MiBThroughMemfds) {
    REQUIRE_BUSYBOX();
    std::string data = random_bytes(64u << 20, 99);
    auto r = bb({"cat"}, {}, data);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out.size(), data.size());
    // sha256 of both sides, natively.
    auto h_in = run_host({kBusybox, "sha256sum"}, data);
    auto h_out = run_host({kBusybox, "sha256sum"}, r.out);
    EXPECT_EQ(h_out.out, h_in.out);
}

// stdout is a pipe whose reader is gone (or goes after a few bytes): the
// guest ends with SIGPIPE, 141, without hanging.
GuestRun run_into_dead_pipe(std::vector<std::string> args, RunOptions o, size_t reader_takes) {
    struct sigaction ign{}, old{};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old);
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
        return {};
    std::thread reader;
    if (reader_takes == 0) {
        ::close(p[0]);
    } else {
        reader = std::thread([&, fd = p[0]] {
            std::string got;
            char buf[256];
            while (got.size() < reader_takes) {
                ssize_t n = ::read(fd, buf, std::min(sizeof buf, reader_takes - got.size()));
                if (n <= 0)
                    break;
                got.append(buf, static_cast<size_t>(n));
            }
            ::close(fd);
        });
    }
    o.stdout_fd = p[1];
    o.timeout_seconds = 20;
    auto r = bb(std::move(args), o);
    ::close(p[1]);
    if (reader.joinable())
        reader.join();
    ::sigaction(SIGPIPE, &old, nullptr);
    return r;
}

TEST(FsStream, StdoutToAClosedPipeIs141) {
    REQUIRE_BUSYBOX();
    auto r = run_into_dead_pipe({"yes"}, {}, 0);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_FALSE(r.timed_out) << "yes into a closed pipe must end";
    EXPECT_EQ(r.status, 141) << describe(r);
    EXPECT_EQ(r.signal, SIGPIPE);
    r = run_into_dead_pipe({"yes", "abc"}, {}, 10);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status, 141) << describe(r);
    // A share file copied to stdout (the host-side copy path).
    Sandbox sb;
    write_file(sb.share() + "/big", random_bytes(4 << 20, 3));
    r = run_into_dead_pipe({"cat", "/d/big"}, share_at(sb.share(), "/d"), 0);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status, 141) << describe(r);
    r = run_into_dead_pipe({"cat", "/d/big"}, share_at(sb.share(), "/d"), 1000);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status, 141) << describe(r);
}

TEST(FsStream, ShareFileToStdoutIsExact) {
    REQUIRE_BUSYBOX();
    Sandbox sb;
    std::string data = random_bytes(5 << 20, 8);
    write_file(sb.share() + "/f", data);
    auto r = bb({"cat", "/d/f", "/d/f"}, share_at(sb.share(), "/d"));
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(r.out == data + data) << r.out.size() << " bytes";
    // Into a pipe drained by a thread.
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    std::string got;
    std::thread reader([&] {
        char buf[65536];
        for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;)
            got.append(buf, static_cast<size_t>(n));
    });
    RunOptions o = share_at(sb.share(), "/d");
    o.stdout_fd = p[1];
    r = bb({"cat", "/d/f"}, o);
    ::close(p[1]);
    reader.join();
    ::close(p[0]);
    EXPECT_EQ(r.status, 0) << describe(r);
    EXPECT_TRUE(got == data) << got.size() << " bytes";
}

}  // namespace
}  // namespace lightvm::test

// Tests for the file-system device: every operation's success path against
// a real temporary directory tree, and above all confinement. The guest is
// hostile, so requests are built byte by byte in guest memory exactly as a
// guest could build them: `..`, absolute and climbing symlinks, /proc magic
// links, symlink races, NUL bytes, huge lengths, bad handles and ranges.
// Decoy files inside the shares prove that a path resolved inside rather
// than being merely refused.
#include "devices/fs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/stop.hpp"
#include "devices/fs_owner.hpp"
#include "lightvm/abi.h"

// Requests are written as designated initializers naming only the fields an
// operation uses; GCC 12 warns about the others (the project build turns
// this warning off everywhere; GCC 13 no longer warns here).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace lightvm {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMemSize = 16ull << 20;
constexpr uint64_t kArg = 0x1000;    // HcFs
constexpr uint64_t kPath = 0x2000;   // path bytes
constexpr uint64_t kPath2 = 0x4000;  // path2 bytes
constexpr uint64_t kBuf = 0x10000;   // data / stat / dirent buffer
constexpr uint64_t kBufSize = 0x100000;
constexpr int64_t kSentinel = 0x5a5a5a5a;

constexpr uint32_t kLinuxOLargefile = 0100000;  // musl passes it; glibc's O_LARGEFILE is 0 here

const char kDecoy[] = "decoy:x:0:0:inside the share:/:/bin/false\n";

std::string host_read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void host_write(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
    ASSERT_TRUE(out.good()) << path;
}

struct stat host_lstat(const std::string& path) {
    struct stat st{};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
    return st;
}

bool host_exists(const std::string& path) {
    struct stat st{};
    return ::lstat(path.c_str(), &st) == 0;
}

// One request, as the guest would fill it in.
struct Req {
    uint32_t op = 0;
    std::string path;
    uint32_t share = 0;
    uint32_t handle = abi::kNoHandle;
    uint32_t flags = 0;
    uint32_t mode = 0;
    std::string path2;
    uint32_t share2 = 0;
    uint64_t buf = kBuf;
    uint64_t len = 0;
    int64_t offset = 0;
    int64_t offset2 = 0;
};

class FsDeviceTest : public ::testing::Test {
protected:
    void SetUp() override {
        ::umask(022);  // mode checks below assume it; the host umask applies to guest creations too
        char tmpl[] = "/tmp/lightvm-fs-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        m_tmp = tmpl;
        m_share = m_tmp + "/share";
        m_share2 = m_tmp + "/share2";
        m_ro = m_tmp + "/ro";
        for (const auto& d : {m_share, m_share + "/etc", m_share + "/a", m_share + "/sub", m_share2, m_ro,
                              m_ro + "/dir"})
            ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d;
        host_write(m_tmp + "/secret", "host secret\n");  // outside every share
        host_write(m_share + "/etc/passwd", kDecoy);
        host_write(m_share + "/file", "0123456789");
        host_write(m_share + "/sub/f", "sub file");
        host_write(m_share2 + "/other", "other share");
        host_write(m_ro + "/file", "read only");
        host_write(m_ro + "/dir/inner", "inner");
        // The temp dir's own absolute path, recreated inside the share. Escape
        // attempts that create things aim at the temp dir (never at the host's
        // /), so that a broken device fails a test without touching the host:
        // confined, they land here instead.
        m_mirror = m_share + m_tmp;
        fs::create_directories(m_mirror);

        auto mem = GuestMemory::create(kMemSize);
        ASSERT_TRUE(mem) << mem.error().to_string();
        m_mem = std::move(*mem);
        auto dev = FsDevice::create({{m_share, "/", false}, {m_share2, "/mnt", false}, {m_ro, "/ro", true}});
        ASSERT_TRUE(dev) << dev.error().to_string();
        m_dev.emplace(std::move(*dev));
    }

    void TearDown() override {
        m_dev.reset();
        std::error_code ec;
        fs::remove_all(m_tmp, ec);
    }

    FsDevice& dev() { return *m_dev; }

    // Lay the request out in guest memory, run it, return what the guest reads back.
    abi::HcFs call(const Req& r) {
        abi::HcFs hc = build(r);
        auto res = dev().hypercall(m_mem, kArg);
        EXPECT_TRUE(res) << res.error().to_string();
        auto out = m_mem.read<abi::HcFs>(kArg);
        EXPECT_TRUE(out);
        return out ? *out : hc;
    }
    int64_t result(const Req& r) { return call(r).result; }

    abi::HcFs build(const Req& r) {
        abi::HcFs hc{};
        hc.op = r.op;
        hc.share = r.share;
        hc.handle = r.handle;
        hc.share2 = r.share2;
        hc.flags = r.flags;
        hc.mode = r.mode;
        hc.path = kPath;
        hc.path_len = r.path.size();
        hc.path2 = kPath2;
        hc.path2_len = r.path2.size();
        hc.buf = r.buf;
        hc.len = r.len;
        hc.offset = r.offset;
        hc.offset2 = r.offset2;
        hc.result = kSentinel;
        hc.aux = 0;
        put(kPath, r.path.substr(0, 0x2000));
        put(kPath2, r.path2.substr(0, 0x2000));
        EXPECT_TRUE(m_mem.write(kArg, hc));
        return hc;
    }

    // Run a request that must stop the VM.
    Error fault(const abi::HcFs& hc) {
        EXPECT_TRUE(m_mem.write(kArg, hc));
        auto res = dev().hypercall(m_mem, kArg);
        EXPECT_FALSE(res) << "op " << hc.op << " should have faulted";
        if (res)
            return Error{};
        EXPECT_EQ(res.error().kind, ErrorKind::GuestFault) << res.error().to_string();
        auto back = m_mem.read<abi::HcFs>(kArg);
        EXPECT_EQ(back->result, hc.result) << "nothing is written back after a fault";
        return res.error();
    }

    void put(uint64_t gpa, const std::string& s) {
        ASSERT_TRUE(m_mem.write_bytes(gpa, {reinterpret_cast<const uint8_t*>(s.data()), s.size()}));
    }
    std::string get(uint64_t gpa, size_t n) {
        auto s = m_mem.span(gpa, n);
        EXPECT_TRUE(s);
        return s ? std::string(reinterpret_cast<const char*>(s->data()), n) : std::string();
    }

    // --- conveniences ---
    int64_t open(const std::string& path, uint32_t flags = O_RDONLY, uint32_t mode = 0, uint32_t share = 0,
                 uint32_t handle = abi::kNoHandle) {
        return result({.op = abi::kFsOpen, .path = path, .share = share, .handle = handle, .flags = flags,
                       .mode = mode});
    }
    int64_t close(int64_t h) { return result({.op = abi::kFsClose, .handle = static_cast<uint32_t>(h)}); }
    // The handle's contents from `offset` (-1: its position), or "errno N".
    std::string read(int64_t h, int64_t offset = 0, uint64_t len = 65536) {
        int64_t n = result({.op = abi::kFsRead, .handle = static_cast<uint32_t>(h), .len = len, .offset = offset});
        if (n < 0)
            return "errno " + std::to_string(-n);
        return get(kBuf, static_cast<size_t>(n));
    }
    int64_t write(int64_t h, const std::string& data, int64_t offset = -1) {
        put(kBuf, data);
        return result({.op = abi::kFsWrite, .handle = static_cast<uint32_t>(h), .len = data.size(), .offset = offset});
    }
    // Whole file through the device, or "errno N".
    std::string read_file(const std::string& path, uint32_t share = 0) {
        int64_t h = open(path, O_RDONLY, 0, share);
        if (h < 0)
            return "errno " + std::to_string(-h);
        std::string s = read(h);
        EXPECT_EQ(close(h), 0);
        return s;
    }
    int64_t stat(const std::string& path, struct stat& st, uint32_t flags = 0, uint32_t share = 0,
                 uint32_t handle = abi::kNoHandle) {
        int64_t r = result({.op = abi::kFsStat, .path = path, .share = share, .handle = handle, .flags = flags});
        std::memcpy(&st, m_mem.host_base() + kBuf, sizeof st);
        return r;
    }
    int64_t fstat(int64_t h, struct stat& st) {
        int64_t r = result({.op = abi::kFsFstat, .handle = static_cast<uint32_t>(h)});
        std::memcpy(&st, m_mem.host_base() + kBuf, sizeof st);
        return r;
    }
    std::vector<std::string> list(int64_t h) {
        std::vector<std::string> names;
        for (;;) {
            int64_t n = result({.op = abi::kFsGetdents, .handle = static_cast<uint32_t>(h), .len = kBufSize});
            EXPECT_GE(n, 0);
            if (n <= 0)
                break;
            const uint8_t* p = m_mem.host_base() + kBuf;
            for (int64_t off = 0; off < n;) {
                uint16_t reclen;
                std::memcpy(&reclen, p + off + 16, 2);
                names.emplace_back(reinterpret_cast<const char*>(p + off + 19));
                off += reclen;
            }
        }
        return names;
    }
    std::string readlink(const std::string& path, uint32_t share = 0) {
        int64_t n = result({.op = abi::kFsReadlink, .path = path, .share = share, .len = 4096});
        return n < 0 ? "errno " + std::to_string(-n) : get(kBuf, static_cast<size_t>(n));
    }

    std::string m_tmp, m_share, m_share2, m_ro, m_mirror;
    GuestMemory m_mem;
    std::optional<FsDevice> m_dev;
};

// ---------------------------------------------------------------------------
// create()
// ---------------------------------------------------------------------------

TEST(FsDeviceCreate, ErrorsNameTheFlagAndPath) {
    auto missing = FsDevice::create({{"/nonexistent-lightvm-dir", "/mnt", false}});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
    EXPECT_EQ(missing.error().to_string(), "--fs /nonexistent-lightvm-dir: No such file or directory");

    auto device = FsDevice::create({{"/dev/null", "/mnt", false}});
    ASSERT_FALSE(device);
    EXPECT_EQ(device.error().kind, ErrorKind::BadInput);
    EXPECT_EQ(device.error().to_string(), "--fs /dev/null: not a directory or regular file");

    // A regular file is a single-file share, but never the guest's /.
    auto file = FsDevice::create({{"/etc/passwd", "/passwd", true}});
    ASSERT_TRUE(file) << file.error().to_string();
    EXPECT_TRUE(file->shares()[0].file);
    auto file_root = FsDevice::create({{"/etc/passwd", "/", true}});
    ASSERT_FALSE(file_root);
    EXPECT_EQ(file_root.error().to_string(), "--fs /etc/passwd: not a directory (the guest's / must be one)");

    std::vector<FsShare> many(abi::kMaxMounts + 1, FsShare{"/tmp", "/mnt", false});
    auto too_many = FsDevice::create(many);
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().kind, ErrorKind::BadInput);

    auto long_guest = FsDevice::create({{"/tmp", "/" + std::string(200, 'x'), false}});
    ASSERT_FALSE(long_guest);
    EXPECT_EQ(long_guest.error().kind, ErrorKind::BadInput);

    std::vector<FsShare> max(abi::kMaxMounts, FsShare{"/tmp", "/mnt", true});
    auto ok = FsDevice::create(max);
    ASSERT_TRUE(ok) << ok.error().to_string();
    EXPECT_EQ(ok->shares().size(), abi::kMaxMounts);
    EXPECT_TRUE(ok->shares()[0].read_only);
    EXPECT_EQ(ok->open_handles(), 0u);
    EXPECT_EQ(ok->operations(), 0u);
}

// ---------------------------------------------------------------------------
// Success paths
// ---------------------------------------------------------------------------

TEST_F(FsDeviceTest, CreateWriteReadClose) {
    auto hc = call({.op = abi::kFsOpen, .path = "new", .flags = O_CREAT | O_WRONLY | O_TRUNC, .mode = 0640});
    ASSERT_EQ(hc.result, 0);
    EXPECT_TRUE(S_ISREG(hc.aux));
    EXPECT_EQ(dev().open_handles(), 1u);

    put(kBuf, "hello");
    hc = call({.op = abi::kFsWrite, .handle = 0, .len = 5, .offset = -1});
    EXPECT_EQ(hc.result, 5);
    EXPECT_EQ(hc.aux, 5u);  // the position after
    EXPECT_EQ(write(0, "XY", 1), 2);  // pwrite leaves the position alone
    hc = call({.op = abi::kFsWrite, .handle = 0, .len = 1, .offset = -1});
    EXPECT_EQ(hc.aux, 6u);
    EXPECT_EQ(close(0), 0);
    EXPECT_EQ(dev().open_handles(), 0u);
    EXPECT_EQ(host_read(m_share + "/new"), "hXYloX");
    EXPECT_EQ(host_lstat(m_share + "/new").st_mode & 07000, 0u);

    int64_t h = open("new");
    ASSERT_GE(h, 0);
    EXPECT_EQ(read(h, -1, 2), "hX");  // at the position, which advances
    EXPECT_EQ(read(h, -1, 2), "Yl");
    EXPECT_EQ(read(h, 4, 100), "oX");  // pread
    EXPECT_EQ(read(h, -1, 100), "oX");
    EXPECT_EQ(read(h, -1, 100), "");  // EOF
    EXPECT_EQ(read(h, 1000, 100), "");
    EXPECT_EQ(close(h), 0);
    EXPECT_GE(dev().operations(), 10u);
}

TEST_F(FsDeviceTest, HandlesAreLowestFree) {
    EXPECT_EQ(open("file"), 0);
    EXPECT_EQ(open("file"), 1);
    EXPECT_EQ(open("file"), 2);
    EXPECT_EQ(close(1), 0);
    EXPECT_EQ(open("sub/f"), 1);
    EXPECT_EQ(read(1), "sub file");
    EXPECT_EQ(read(2), "0123456789");
    EXPECT_EQ(dev().open_handles(), 3u);
}

TEST_F(FsDeviceTest, AppendReportsThePosition) {
    int64_t h = open("file", O_WRONLY | O_APPEND);
    ASSERT_GE(h, 0);
    auto hc = (put(kBuf, "abc"), call({.op = abi::kFsWrite, .handle = static_cast<uint32_t>(h), .len = 3, .offset = -1}));
    EXPECT_EQ(hc.result, 3);
    EXPECT_EQ(hc.aux, 13u);
    EXPECT_EQ(host_read(m_share + "/file"), "0123456789abc");
}

TEST_F(FsDeviceTest, OpenFlags) {
    EXPECT_EQ(open("file", O_RDONLY | O_PATH), -EINVAL);
    EXPECT_EQ(open("file", O_ACCMODE), -EINVAL);
    EXPECT_EQ(open("", O_RDWR | O_TMPFILE, 0600), -EINVAL);
    EXPECT_EQ(open("file", O_RDONLY | O_ASYNC), -EINVAL);
    EXPECT_EQ(open("file", O_RDONLY | O_DIRECT), -EINVAL);
    EXPECT_EQ(open("file", O_CREAT | O_EXCL | O_WRONLY, 0600), -EEXIST);
    EXPECT_EQ(open("file", O_RDONLY | O_DIRECTORY), -ENOTDIR);
    EXPECT_EQ(open("file/", O_RDONLY), -ENOTDIR);
    EXPECT_EQ(open("sub", O_WRONLY), -EISDIR);
    EXPECT_EQ(open("missing", O_RDONLY), -ENOENT);
    EXPECT_EQ(open("missing/x", O_CREAT | O_WRONLY, 0600), -ENOENT);
    ASSERT_EQ(::symlink("file", (m_share + "/link").c_str()), 0);
    EXPECT_EQ(open("link", O_RDONLY | O_NOFOLLOW), -ELOOP);
    EXPECT_EQ(open("link", O_WRONLY | O_CREAT | O_NOFOLLOW, 0600), -ELOOP);
    EXPECT_EQ(open("link", O_CREAT | O_EXCL | O_WRONLY, 0600), -EEXIST);

    int64_t h = open("link", O_RDONLY | kLinuxOLargefile | O_CLOEXEC | O_NOCTTY | O_NOATIME);
    ASSERT_GE(h, 0);
    EXPECT_EQ(read(h), "0123456789");
    h = open("file", O_RDWR | O_TRUNC | O_SYNC);
    ASSERT_GE(h, 0);
    EXPECT_EQ(host_read(m_share + "/file"), "");
    EXPECT_EQ(write(h, "z"), 1);
    EXPECT_EQ(host_read(m_share + "/file"), "z");
    h = open("file", O_RDONLY | O_NONBLOCK | O_DSYNC);
    EXPECT_EQ(read(h), "z");

    // The share root and directories, for getdents.
    auto hc = call({.op = abi::kFsOpen, .path = "", .flags = O_RDONLY | O_DIRECTORY});
    ASSERT_GE(hc.result, 0);
    EXPECT_TRUE(S_ISDIR(hc.aux));
    hc = call({.op = abi::kFsOpen, .path = "sub/", .flags = O_RDONLY});
    ASSERT_GE(hc.result, 0);
    EXPECT_TRUE(S_ISDIR(hc.aux));
    EXPECT_EQ(read(hc.result), "errno " + std::to_string(EISDIR));

    // The mode is masked to permission bits, without set-user/group-ID.
    hc = call({.op = abi::kFsOpen, .path = "m", .flags = O_CREAT | O_WRONLY, .mode = 0106600});
    ASSERT_GE(hc.result, 0);
    EXPECT_EQ(host_lstat(m_share + "/m").st_mode & 07777, 0600u);
}

TEST_F(FsDeviceTest, StatAndFstat) {
    struct stat st{};
    ASSERT_EQ(stat("file", st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_size, 10);
    EXPECT_EQ(st.st_ino, host_lstat(m_share + "/file").st_ino);

    ASSERT_EQ(stat("", st), 0);  // the share root
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_ino, host_lstat(m_share).st_ino);
    ASSERT_EQ(stat("/", st), 0);
    EXPECT_EQ(st.st_ino, host_lstat(m_share).st_ino);

    ASSERT_EQ(::symlink("sub/f", (m_share + "/lnk").c_str()), 0);
    ASSERT_EQ(stat("lnk", st), 0);
    EXPECT_EQ(st.st_size, 8);
    ASSERT_EQ(stat("lnk", st, AT_SYMLINK_NOFOLLOW), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(st.st_size, 5);
    EXPECT_EQ(stat("missing", st), -ENOENT);
    EXPECT_EQ(stat("file", st, 0x4000), -EINVAL);

    int64_t h = open("sub/f");
    ASSERT_EQ(fstat(h, st), 0);
    EXPECT_EQ(st.st_size, 8);
    // Empty path with a handle: the handle itself.
    ASSERT_EQ(stat("", st, 0, 0, static_cast<uint32_t>(h)), 0);
    EXPECT_EQ(st.st_ino, host_lstat(m_share + "/sub/f").st_ino);
}

TEST_F(FsDeviceTest, GetdentsAndRewind) {
    for (const char* n : {"x1", "x2", "x3"})
        host_write(m_share + "/sub/" + n, n);
    int64_t h = open("sub", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(h, 0);
    auto first = list(h);
    std::set<std::string> names(first.begin(), first.end());
    EXPECT_EQ(names, (std::set<std::string>{".", "..", "f", "x1", "x2", "x3"}));
    EXPECT_TRUE(list(h).empty());  // at the end
    EXPECT_EQ(result({.op = abi::kFsSeek, .handle = static_cast<uint32_t>(h), .flags = SEEK_SET, .offset = 0}), 0);
    EXPECT_EQ(list(h), first);

    // A huge length is clamped to 1 MiB, so only that much must be in memory.
    uint64_t near_end = kMemSize - FsDevice::kMaxDirentBytes;
    EXPECT_EQ(result({.op = abi::kFsSeek, .handle = static_cast<uint32_t>(h), .flags = SEEK_SET, .offset = 0}), 0);
    EXPECT_GT(result({.op = abi::kFsGetdents, .handle = static_cast<uint32_t>(h), .buf = near_end, .len = 1ull << 40}), 0);

    int64_t f = open("file");
    EXPECT_EQ(result({.op = abi::kFsGetdents, .handle = static_cast<uint32_t>(f), .len = 4096}), -ENOTDIR);
    EXPECT_EQ(result({.op = abi::kFsSeek, .handle = static_cast<uint32_t>(h), .flags = SEEK_SET, .offset = 0}), 0);
    EXPECT_EQ(result({.op = abi::kFsGetdents, .handle = static_cast<uint32_t>(h), .len = 4}), -EINVAL);  // too small
}

TEST_F(FsDeviceTest, Seek) {
    int64_t h = open("file");
    auto seek = [&](int64_t off, uint32_t whence) {
        return result({.op = abi::kFsSeek, .handle = static_cast<uint32_t>(h), .flags = whence, .offset = off});
    };
    EXPECT_EQ(seek(4, SEEK_SET), 4);
    EXPECT_EQ(read(h, -1, 2), "45");
    EXPECT_EQ(seek(-1, SEEK_END), 9);
    EXPECT_EQ(seek(-3, SEEK_CUR), 6);
    EXPECT_EQ(seek(-100, SEEK_SET), -EINVAL);
    EXPECT_EQ(seek(0, 77), -EINVAL);
}

TEST_F(FsDeviceTest, MkdirUnlinkRmdir) {
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "d", .mode = 0750}), 0);
    struct stat st = host_lstat(m_share + "/d");
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "d", .mode = 0750}), -EEXIST);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "d/e/", .mode = 0750}), 0);
    EXPECT_TRUE(host_exists(m_share + "/d/e"));
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "nope/e", .mode = 0750}), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = ".", .mode = 0750}), -EEXIST);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "d/..", .mode = 0750}), -EEXIST);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "", .mode = 0750}), -EEXIST);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "/", .mode = 0750}), -EEXIST);

    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "d", .flags = AT_REMOVEDIR}), -ENOTEMPTY);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "d/e/", .flags = AT_REMOVEDIR}), 0);
    EXPECT_FALSE(host_exists(m_share + "/d/e"));
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "d"}), -EISDIR);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "file", .flags = AT_REMOVEDIR}), -ENOTDIR);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "file/"}), -ENOTDIR);
    EXPECT_TRUE(host_exists(m_share + "/file"));
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "file", .flags = 0x1}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "file"}), 0);
    EXPECT_FALSE(host_exists(m_share + "/file"));
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "file"}), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "d", .flags = AT_REMOVEDIR}), 0);

    // The Linux answers for names that are not names.
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = ".", .flags = AT_REMOVEDIR}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "sub/..", .flags = AT_REMOVEDIR}), -ENOTEMPTY);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "", .flags = AT_REMOVEDIR}), -EBUSY);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "/", .flags = AT_REMOVEDIR}), -EBUSY);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "."}), -EISDIR);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = ""}), -EISDIR);
    EXPECT_TRUE(host_exists(m_share + "/sub/f"));
}

TEST_F(FsDeviceTest, Rename) {
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "file", .path2 = "sub/moved"}), 0);
    EXPECT_FALSE(host_exists(m_share + "/file"));
    EXPECT_EQ(host_read(m_share + "/sub/moved"), "0123456789");
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "sub/moved", .flags = RENAME_NOREPLACE, .path2 = "sub/f"}),
              -EEXIST);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "sub/moved", .flags = RENAME_EXCHANGE, .path2 = "sub/f"}), 0);
    EXPECT_EQ(host_read(m_share + "/sub/f"), "0123456789");
    EXPECT_EQ(host_read(m_share + "/sub/moved"), "sub file");
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "sub/moved", .flags = RENAME_WHITEOUT, .path2 = "x"}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "sub/moved", .flags = 0x80, .path2 = "x"}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "sub/moved/", .path2 = "x"}), -ENOTDIR);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "", .path2 = "x"}), -EBUSY);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "sub", .path2 = "."}), -EBUSY);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "sub/", .path2 = "sub2/"}), 0);
    EXPECT_TRUE(host_exists(m_share + "/sub2/f"));
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "missing", .path2 = "x"}), -ENOENT);
}

TEST_F(FsDeviceTest, LinkSymlinkReadlink) {
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "file", .path2 = "sub/hard"}), 0);
    EXPECT_EQ(host_lstat(m_share + "/file").st_nlink, 2u);
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "file", .path2 = "sub/hard"}), -EEXIST);
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "sub", .path2 = "dirlink"}), -EPERM);
    EXPECT_EQ(result({.op = abi::kFsLink, .path = ".", .path2 = "dirlink"}), -EPERM);
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "file/", .path2 = "x"}), -ENOTDIR);
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "file", .flags = 0x1, .path2 = "x"}), -EINVAL);

    // The target is text, stored byte for byte.
    const std::string target = "/no/such/../target//x";
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "sl", .path2 = target}), 0);
    char buf[256] = {};
    ASSERT_EQ(::readlink((m_share + "/sl").c_str(), buf, sizeof buf), static_cast<ssize_t>(target.size()));
    EXPECT_EQ(std::string(buf), target);
    EXPECT_EQ(readlink("sl"), target);
    EXPECT_EQ(result({.op = abi::kFsReadlink, .path = "sl", .len = 3}), 3);  // truncated, as readlink(2)
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "sl", .path2 = "x"}), -EEXIST);
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "sl2", .path2 = ""}), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "sl2/", .path2 = "x"}), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "..", .path2 = "x"}), -EEXIST);
    EXPECT_EQ(readlink("file"), "errno " + std::to_string(EINVAL));
    EXPECT_EQ(readlink("missing"), "errno " + std::to_string(ENOENT));
    EXPECT_EQ(readlink(""), "errno " + std::to_string(EINVAL));
    EXPECT_EQ(result({.op = abi::kFsReadlink, .path = "sl", .len = 0}), -EINVAL);

    // Relative target, then the link used as a path.
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "sub/up", .path2 = "../file"}), 0);
    EXPECT_EQ(read_file("sub/up"), "0123456789");
    EXPECT_EQ(readlink("sub/up/"), "errno " + std::to_string(ENOTDIR));  // "link/" is its target
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "sub/dirup", .path2 = "../etc"}), 0);
    EXPECT_EQ(readlink("sub/dirup/"), "errno " + std::to_string(EINVAL));

    // linkat(AT_SYMLINK_FOLLOW) links what the symlink names (inside the share).
    if (host_exists("/proc/self/fd")) {
        EXPECT_EQ(result({.op = abi::kFsLink, .path = "sub/up", .flags = AT_SYMLINK_FOLLOW, .path2 = "hard2"}), 0);
        EXPECT_EQ(host_lstat(m_share + "/hard2").st_ino, host_lstat(m_share + "/file").st_ino);
    }
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "sub/up", .path2 = "hard3"}), 0);  // the symlink itself
    EXPECT_TRUE(S_ISLNK(host_lstat(m_share + "/hard3").st_mode));
}

TEST_F(FsDeviceTest, TruncateAndSync) {
    int64_t h = open("file", O_RDWR);
    ASSERT_GE(h, 0);
    auto uh = static_cast<uint32_t>(h);
    EXPECT_EQ(result({.op = abi::kFsTruncate, .handle = uh, .offset = 3}), 0);
    EXPECT_EQ(host_read(m_share + "/file"), "012");
    EXPECT_EQ(result({.op = abi::kFsTruncate, .handle = uh, .offset = 5}), 0);
    EXPECT_EQ(host_read(m_share + "/file"), std::string("012\0\0", 5));
    EXPECT_EQ(result({.op = abi::kFsTruncate, .handle = uh, .offset = -1}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsFsync, .handle = uh}), 0);
    EXPECT_EQ(result({.op = abi::kFsFsync, .handle = uh, .flags = 1}), 0);
    int64_t r = open("sub/f", O_RDONLY);
    EXPECT_EQ(result({.op = abi::kFsTruncate, .handle = static_cast<uint32_t>(r), .offset = 0}), -EINVAL);
    EXPECT_EQ(host_read(m_share + "/sub/f"), "sub file");
}

// FIFOs and socket nodes may be created in a share (their data lives in
// the guest), device nodes never; the node is then refused at open (ENXIO).
TEST_F(FsDeviceTest, MknodFifosNotDevices) {
    EXPECT_EQ(result({.op = abi::kFsMknod, .path = "fifo", .mode = S_IFIFO | 0640}), 0);
    EXPECT_TRUE(S_ISFIFO(host_lstat(m_share + "/fifo").st_mode));
    EXPECT_EQ(host_lstat(m_share + "/fifo").st_mode & 07777, 0640u);
    EXPECT_EQ(open("fifo", O_RDONLY), -ENXIO) << "the host never opens a FIFO";
    EXPECT_EQ(result({.op = abi::kFsMknod, .path = "fifo", .mode = S_IFIFO | 0640}), -EEXIST);
    EXPECT_EQ(result({.op = abi::kFsMknod, .path = "reg", .mode = S_IFREG | 0600}), 0);
    EXPECT_TRUE(S_ISREG(host_lstat(m_share + "/reg").st_mode));
    EXPECT_EQ(result({.op = abi::kFsMknod, .path = "chr", .mode = S_IFCHR | 0600}), -EPERM);
    EXPECT_EQ(result({.op = abi::kFsMknod, .path = "blk", .mode = S_IFBLK | 0600}), -EPERM);
    EXPECT_EQ(result({.op = abi::kFsMknod, .path = "suid", .mode = S_IFREG | 04755}), 0);
    EXPECT_EQ(host_lstat(m_share + "/suid").st_mode & 07777, 0755u) << "set-uid bits are stripped";
    EXPECT_EQ(result({.op = abi::kFsMknod, .path = "f", .share = 2, .mode = S_IFIFO | 0600}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsMknod, .path = "../../escape", .mode = S_IFIFO | 0600}), 0);
    EXPECT_FALSE(fs::exists(m_tmp + "/escape")) << "the name is created inside the share";
}

// Extended attributes: the host file's user.* ones, other namespaces
// refused and left out of lists, never a change in a read-only share.
TEST_F(FsDeviceTest, XattrsPassUserNamespaceOnly) {
    if (::setxattr((m_share + "/file").c_str(), "user.probe", "1", 1, 0) != 0)
        GTEST_SKIP() << "SKIPPED: the host file system has no user.* attributes";
    ::setxattr((m_share + "/file").c_str(), "trusted.hidden", "h", 1, 0);  // as root only; hidden anyway
    auto name = [&](const std::string& n) {
        put(kPath2, n);
        return static_cast<int64_t>(n.size());
    };
    auto xattr = [&](uint32_t op, const std::string& path, const std::string& n, uint64_t len, uint32_t mode = 0,
                     uint32_t share = 0) {
        int64_t nlen = name(n);
        return result({.op = abi::kFsXattr, .path = path, .share = share, .flags = op, .mode = mode, .len = len,
                       .offset = static_cast<int64_t>(kPath2), .offset2 = nlen});
    };
    put(kBuf, "value");
    EXPECT_EQ(xattr(abi::kXattrSet, "file", "user.a", 5), 0);
    char v[16] = {};
    EXPECT_EQ(::getxattr((m_share + "/file").c_str(), "user.a", v, sizeof v), 5) << "on the host file";
    EXPECT_EQ(std::string(v, 5), "value");
    EXPECT_EQ(xattr(abi::kXattrSet, "file", "user.a", 5, XATTR_CREATE), -EEXIST);
    EXPECT_EQ(xattr(abi::kXattrGet, "file", "user.a", 0), 5) << "size query";
    put(kBuf, "-----");
    EXPECT_EQ(xattr(abi::kXattrGet, "file", "user.a", 64), 5);
    EXPECT_EQ(get(kBuf, 5), "value");
    EXPECT_EQ(xattr(abi::kXattrGet, "file", "user.a", 2), -ERANGE);
    EXPECT_EQ(xattr(abi::kXattrGet, "file", "trusted.hidden", 64), -EOPNOTSUPP);
    EXPECT_EQ(xattr(abi::kXattrSet, "file", "security.x", 1), -EOPNOTSUPP);
    EXPECT_EQ(xattr(abi::kXattrSet, "file", "system.posix_acl_access", 1), -EOPNOTSUPP);
    EXPECT_EQ(xattr(abi::kXattrSet, "file", "user.a", 1, 4), -EINVAL);
    EXPECT_EQ(xattr(abi::kXattrSet, "file", "", 1), -ERANGE);
    EXPECT_EQ(xattr(abi::kXattrSet, "file", "user.x", 70000), -E2BIG);
    int64_t n = xattr(abi::kXattrList, "file", "", 256);
    ASSERT_GT(n, 0);
    std::string list = get(kBuf, static_cast<size_t>(n));
    EXPECT_NE(list.find("user.a"), std::string::npos) << list;
    EXPECT_EQ(list.find("trusted."), std::string::npos) << "other namespaces are not listed";
    EXPECT_EQ(xattr(abi::kXattrList, "file", "", 0), n) << "size query of the filtered list";
    EXPECT_EQ(xattr(abi::kXattrRemove, "file", "user.a", 0), 0);
    EXPECT_EQ(xattr(abi::kXattrRemove, "file", "user.a", 0), -ENODATA);
    EXPECT_EQ(xattr(abi::kXattrGet, "../../etc/passwd", "user.a", 64), -ENODATA) << "confined to the share";
    EXPECT_EQ(xattr(abi::kXattrSet, "file", "user.a", 1, 0, 2), -EROFS) << "a read-only share";
}

// The guest's open of /dev/fd/N: the same file again, with its own access
// mode, and never a write through a handle of a read-only share.
TEST_F(FsDeviceTest, ReopenGivesANewHandleForTheSameFile) {
    int64_t h = open("file", O_RDONLY);
    ASSERT_GE(h, 0);
    auto hc = call({.op = abi::kFsReopen, .handle = static_cast<uint32_t>(h), .flags = O_RDWR});
    ASSERT_GE(hc.result, 0);
    EXPECT_NE(hc.result, h);
    EXPECT_TRUE(S_ISREG(hc.aux));
    EXPECT_EQ(write(hc.result, "AB", 0), 2);
    EXPECT_EQ(read(h, 0, 4), "AB23") << "the same file";
    struct stat a, b;
    ASSERT_EQ(fstat(h, a), 0);
    ASSERT_EQ(fstat(hc.result, b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(result({.op = abi::kFsReopen, .handle = static_cast<uint32_t>(h), .flags = O_WRONLY | O_TRUNC}) >= 0, true);
    EXPECT_EQ(host_read(m_share + "/file"), "");
    EXPECT_EQ(result({.op = abi::kFsReopen, .handle = 999, .flags = O_RDONLY}), -EBADF);
    EXPECT_EQ(result({.op = abi::kFsReopen, .handle = static_cast<uint32_t>(h), .flags = O_ACCMODE}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsReopen, .handle = static_cast<uint32_t>(h), .flags = O_RDONLY | O_PATH}), -EINVAL);
    int64_t ro = open("file", O_RDONLY, 0, 2);
    ASSERT_GE(ro, 0);
    EXPECT_EQ(result({.op = abi::kFsReopen, .handle = static_cast<uint32_t>(ro), .flags = O_RDWR}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsReopen, .handle = static_cast<uint32_t>(ro), .flags = O_RDONLY | O_TRUNC}), -EROFS);
    int64_t again = result({.op = abi::kFsReopen, .handle = static_cast<uint32_t>(ro), .flags = O_RDONLY});
    ASSERT_GE(again, 0);
    EXPECT_EQ(read(again), "read only");
    int64_t dir = open("sub", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(dir, 0);
    EXPECT_GE(result({.op = abi::kFsReopen, .handle = static_cast<uint32_t>(dir), .flags = O_RDONLY | O_DIRECTORY}), 0);
}

TEST_F(FsDeviceTest, FallocateAndChown) {
    int64_t h = open("file", O_RDWR);
    ASSERT_GE(h, 0);
    auto uh = static_cast<uint32_t>(h);
    EXPECT_EQ(result({.op = abi::kFsFallocate, .handle = uh, .len = 8192, .offset = 0}), 0);
    EXPECT_EQ(host_lstat(m_share + "/file").st_size, 8192);
    EXPECT_EQ(result({.op = abi::kFsFallocate, .handle = uh, .len = 0, .offset = 0}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsFallocate, .handle = 777, .len = 1}), -EBADF);
    int64_t ro = open("file", O_RDONLY, 0, 2);
    ASSERT_GE(ro, 0);
    EXPECT_EQ(result({.op = abi::kFsFallocate, .handle = static_cast<uint32_t>(ro), .len = 1}), -EROFS);

    // chown: what the host allows. Keeping the owner always is.
    struct stat st = host_lstat(m_share + "/file");
    abi::HcFs keep = build({.op = abi::kFsChown, .path = "file"});
    keep.offset = st.st_uid;
    keep.offset2 = -1;
    ASSERT_TRUE(m_mem.write(kArg, keep));
    ASSERT_TRUE(dev().hypercall(m_mem, kArg));
    EXPECT_EQ(m_mem.read<abi::HcFs>(kArg)->result, 0);
    abi::HcFs away = build({.op = abi::kFsChown, .path = "file"});
    away.offset = 4242;
    away.offset2 = 4243;
    ASSERT_TRUE(m_mem.write(kArg, away));
    ASSERT_TRUE(dev().hypercall(m_mem, kArg));
    int64_t r = m_mem.read<abi::HcFs>(kArg)->result;
    st = host_lstat(m_share + "/file");
    if (r == 0)
        EXPECT_TRUE(st.st_uid == 4242 && st.st_gid == 4243) << "success means the host file changed";
    else
        EXPECT_EQ(r, -EPERM) << "without CAP_CHOWN the host says EPERM";
    abi::HcFs rofs = build({.op = abi::kFsChown, .path = "file", .share = 2});
    rofs.offset = rofs.offset2 = -1;
    ASSERT_TRUE(m_mem.write(kArg, rofs));
    ASSERT_TRUE(dev().hypercall(m_mem, kArg));
    EXPECT_EQ(m_mem.read<abi::HcFs>(kArg)->result, -EROFS);
}

TEST_F(FsDeviceTest, UtimensChmodAccess) {
    timespec times[2] = {{1000000000, 123}, {1200000000, 456789}};
    std::memcpy(m_mem.host_base() + kBuf, times, sizeof times);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "file"}), 0);
    struct stat st = host_lstat(m_share + "/file");
    EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
    EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 456789);

    // buf == 0: now.
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "file", .buf = 0}), 0);
    EXPECT_GT(host_lstat(m_share + "/file").st_mtim.tv_sec, time(nullptr) - 60);

    // On a symlink, NOFOLLOW changes the link, not its target.
    ASSERT_EQ(::symlink("sub/f", (m_share + "/lnk").c_str()), 0);
    time_t target_mtime = host_lstat(m_share + "/sub/f").st_mtim.tv_sec;
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "lnk", .flags = AT_SYMLINK_NOFOLLOW}), 0);
    EXPECT_EQ(host_lstat(m_share + "/lnk").st_mtim.tv_sec, 1200000000);
    EXPECT_EQ(host_lstat(m_share + "/sub/f").st_mtim.tv_sec, target_mtime);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "lnk"}), 0);
    EXPECT_EQ(host_lstat(m_share + "/sub/f").st_mtim.tv_sec, 1200000000);

    // On a handle (path_len 0).
    int64_t h = open("sub", O_RDONLY);
    times[1].tv_sec = 1300000000;
    std::memcpy(m_mem.host_base() + kBuf, times, sizeof times);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .handle = static_cast<uint32_t>(h)}), 0);
    EXPECT_EQ(host_lstat(m_share + "/sub").st_mtim.tv_sec, 1300000000);
    timespec bad[2] = {{0, 2000000000}, {0, 0}};
    std::memcpy(m_mem.host_base() + kBuf, bad, sizeof bad);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "file"}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "file", .flags = 0x8000}), -EINVAL);

    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "file", .mode = 0604}), 0);
    EXPECT_EQ(host_lstat(m_share + "/file").st_mode & 07777, 0604u);
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "lnk", .mode = 0611}), 0);  // follows, inside
    EXPECT_EQ(host_lstat(m_share + "/sub/f").st_mode & 07777, 0611u);
    EXPECT_EQ(result({.op = abi::kFsChmod, .handle = static_cast<uint32_t>(h), .mode = 0700}), 0);
    EXPECT_EQ(host_lstat(m_share + "/sub").st_mode & 07777, 0700u);
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "", .mode = 0751}), 0);  // the share root
    EXPECT_EQ(host_lstat(m_share).st_mode & 07777, 0751u);
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "missing", .mode = 0751}), -ENOENT);

    // No privileged executables in a host directory: set-user-ID never
    // reaches the host, set-group-ID only on directories.
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "file", .mode = 06755}), 0);
    EXPECT_EQ(host_lstat(m_share + "/file").st_mode & 07777, 0755u);
    EXPECT_EQ(result({.op = abi::kFsChmod, .handle = static_cast<uint32_t>(open("file")), .mode = 04711}), 0);
    EXPECT_EQ(host_lstat(m_share + "/file").st_mode & 07777, 0711u);
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "sub", .mode = 07755}), 0);
    EXPECT_EQ(host_lstat(m_share + "/sub").st_mode & 07777, 03755u);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "sgid", .mode = 07700}), 0);
    EXPECT_EQ(host_lstat(m_share + "/sgid").st_mode & 07777, 01700u);  // mkdir(2) itself ignores S_ISGID

    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "file", .mode = 0644}), 0);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "file", .mode = F_OK}), 0);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "file", .mode = R_OK | W_OK}), 0);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "file", .mode = X_OK}), -EACCES);  // even root needs an x bit
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "missing", .mode = F_OK}), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "file", .mode = 8}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "file", .flags = 0x1, .mode = F_OK}), -EINVAL);
    ASSERT_EQ(::symlink("nowhere", (m_share + "/dangling").c_str()), 0);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "dangling", .mode = F_OK}), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "dangling", .flags = AT_SYMLINK_NOFOLLOW, .mode = F_OK}), 0);
}

TEST_F(FsDeviceTest, Statfs) {
    struct statfs host{};
    ASSERT_EQ(::statfs(m_share.c_str(), &host), 0);
    EXPECT_EQ(result({.op = abi::kFsStatfs, .path = ""}), 0);
    struct statfs st{};
    std::memcpy(&st, m_mem.host_base() + kBuf, sizeof st);
    EXPECT_EQ(st.f_type, host.f_type);
    EXPECT_EQ(st.f_bsize, host.f_bsize);
    EXPECT_EQ(st.f_flags & ST_RDONLY, host.f_flags & ST_RDONLY);

    int64_t h = open("file");
    EXPECT_EQ(result({.op = abi::kFsStatfs, .handle = static_cast<uint32_t>(h)}), 0);
    EXPECT_EQ(result({.op = abi::kFsStatfs, .path = "sub/f"}), 0);
    EXPECT_EQ(result({.op = abi::kFsStatfs, .path = "missing"}), -ENOENT);

    EXPECT_EQ(result({.op = abi::kFsStatfs, .path = "dir", .share = 2}), 0);
    std::memcpy(&st, m_mem.host_base() + kBuf, sizeof st);
    EXPECT_TRUE(st.f_flags & ST_RDONLY) << "a read-only share says so";
}

TEST_F(FsDeviceTest, PathsRelativeToADirectoryHandle) {
    int64_t d = open("sub", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(d, 0);
    auto ud = static_cast<uint32_t>(d);
    int64_t h = open("f", O_RDONLY, 0, 0, ud);
    ASSERT_GE(h, 0);
    EXPECT_EQ(read(h), "sub file");
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "newdir", .handle = ud, .mode = 0755}), 0);
    EXPECT_TRUE(host_exists(m_share + "/sub/newdir"));
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "newdir", .handle = ud, .path2 = "moved"}), 0);
    EXPECT_TRUE(host_exists(m_share + "/moved"));  // path2 is relative to share2's root
    // A directory handle is not a root: leaving it is refused, never redirected.
    EXPECT_EQ(open("../file", O_RDONLY, 0, 0, ud), -EXDEV);
    EXPECT_EQ(open("/etc/passwd", O_RDONLY, 0, 0, ud), -EXDEV);
    ASSERT_EQ(::symlink("/etc/passwd", (m_share + "/sub/abs").c_str()), 0);
    EXPECT_EQ(open("abs", O_RDONLY, 0, 0, ud), -EXDEV);
    struct stat st{};
    EXPECT_EQ(stat("../secret", st, 0, 0, ud), -EXDEV);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "../../escape", .handle = ud, .mode = 0755}), -EXDEV);
    EXPECT_FALSE(host_exists(m_tmp + "/escape"));
    // A file handle as a base is not a directory.
    EXPECT_EQ(open("x", O_RDONLY, 0, 0, static_cast<uint32_t>(h)), -ENOTDIR);
    EXPECT_EQ(open("x", O_RDONLY, 0, 0, 999), -EBADF);
}

// ---------------------------------------------------------------------------
// Confinement
// ---------------------------------------------------------------------------

TEST_F(FsDeviceTest, DotDotStaysInside) {
    for (const char* p : {"../../etc/passwd", "a/../../../etc/passwd", "/etc/passwd", "/../../etc/passwd",
                          "../../../../../../../../../../etc/passwd", "./a/./../etc/passwd", "etc//passwd"})
        EXPECT_EQ(read_file(p), kDecoy) << p;
    EXPECT_EQ(read_file("../secret"), "errno " + std::to_string(ENOENT));
    EXPECT_EQ(read_file("../../etc/passwd", 1), "errno " + std::to_string(ENOENT));  // share2 has no decoy
    EXPECT_EQ(read_file("../share/file", 1), "errno " + std::to_string(ENOENT));
    struct stat st{};
    EXPECT_EQ(stat("../secret", st), -ENOENT);
    EXPECT_EQ(stat("..", st), 0);
    EXPECT_EQ(st.st_ino, host_lstat(m_share).st_ino) << "`..` of the root is the root";
    // Names too: the parent is resolved inside.
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "../escaped", .mode = 0755}), 0);
    EXPECT_FALSE(host_exists(m_tmp + "/escaped"));
    EXPECT_TRUE(host_exists(m_share + "/escaped"));
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "../secret"}), -ENOENT);
    EXPECT_TRUE(host_exists(m_tmp + "/secret"));
    EXPECT_EQ(readlink("../../../proc/self/exe"), "errno " + std::to_string(ENOENT));
}

TEST_F(FsDeviceTest, AbsoluteAndClimbingSymlinksStayInside) {
    ASSERT_EQ(::symlink("/etc/passwd", (m_share + "/abs").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../../../../etc/passwd", (m_share + "/a/rel").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../../..", (m_share + "/up").c_str()), 0);
    ASSERT_EQ(::symlink("/", (m_share + "/root").c_str()), 0);
    ASSERT_EQ(::symlink((m_tmp + "/secret").c_str(), (m_share + "/secret").c_str()), 0);
    EXPECT_EQ(read_file("abs"), kDecoy);
    EXPECT_EQ(read_file("a/rel"), kDecoy);
    EXPECT_EQ(read_file("up/etc/passwd"), kDecoy);
    EXPECT_EQ(read_file("root/etc/passwd"), kDecoy);
    EXPECT_EQ(read_file("up/secret"), "errno " + std::to_string(ENOENT));
    EXPECT_EQ(read_file("secret"), "errno " + std::to_string(ENOENT));  // host path, resolved in the share
    struct stat st{};
    ASSERT_EQ(stat("abs", st), 0);
    EXPECT_EQ(st.st_size, static_cast<off_t>(sizeof kDecoy - 1));
    ASSERT_EQ(stat("up", st), 0);
    EXPECT_EQ(st.st_ino, host_lstat(m_share).st_ino);

    // Without a decoy (share2) the same links find nothing.
    ASSERT_EQ(::symlink("/etc/passwd", (m_share2 + "/abs").c_str()), 0);
    EXPECT_EQ(read_file("abs", 1), "errno " + std::to_string(ENOENT));

    // Creating through a dangling absolute link creates inside the share.
    ASSERT_EQ(::symlink((m_tmp + "/nodir/created").c_str(), (m_share + "/dangling").c_str()), 0);
    EXPECT_EQ(open("dangling", O_CREAT | O_WRONLY, 0600), -ENOENT);
    ASSERT_EQ(::symlink((m_tmp + "/created").c_str(), (m_share + "/dangling2").c_str()), 0);
    ASSERT_GE(open("dangling2", O_CREAT | O_WRONLY, 0600), 0);
    EXPECT_FALSE(host_exists(m_tmp + "/created"));
    EXPECT_TRUE(host_exists(m_mirror + "/created"));

    // Name operations through symlinked parents stay inside too.
    ASSERT_EQ(::symlink("..", (m_share + "/parent").c_str()), 0);
    ASSERT_EQ(::symlink(m_tmp.c_str(), (m_share + "/tmpdir").c_str()), 0);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "parent/made", .mode = 0755}), 0);
    EXPECT_TRUE(host_exists(m_share + "/made"));
    EXPECT_FALSE(host_exists(m_tmp + "/made"));
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "tmpdir/sl", .path2 = "x"}), 0);
    EXPECT_TRUE(host_exists(m_mirror + "/sl"));
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "tmpdir/sl", .path2 = "parent/sl2"}), 0);
    EXPECT_TRUE(host_exists(m_share + "/sl2"));
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "sl2", .path2 = "tmpdir/sl3"}), 0);
    EXPECT_TRUE(host_exists(m_mirror + "/sl3"));
    EXPECT_FALSE(host_exists(m_tmp + "/sl") || host_exists(m_tmp + "/sl2") || host_exists(m_tmp + "/sl3"));
    // unlink and rename act on the link, never its target.
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "secret"}), 0);
    EXPECT_TRUE(host_exists(m_tmp + "/secret"));
}

// Operations that follow a final symlink must follow it inside the share:
// the same absolute host path exists inside (a decoy) and outside.
TEST_F(FsDeviceTest, FollowingOperationsActOnTheShareCopy) {
    const std::string secret = m_tmp + "/secret";
    const std::string mirror = m_mirror + "/secret";
    host_write(mirror, "decoy secret");
    ASSERT_EQ(::symlink(secret.c_str(), (m_share + "/to_secret").c_str()), 0);
    ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
    struct stat before = host_lstat(secret);

    EXPECT_EQ(read_file("to_secret"), "decoy secret");
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "to_secret", .mode = 0777}), 0);
    EXPECT_EQ(host_lstat(mirror).st_mode & 0777, 0777u);
    timespec times[2] = {{7, 0}, {7, 0}};
    std::memcpy(m_mem.host_base() + kBuf, times, sizeof times);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "to_secret"}), 0);
    EXPECT_EQ(host_lstat(mirror).st_mtim.tv_sec, 7);
    int64_t h = open("to_secret", O_WRONLY | O_TRUNC);
    ASSERT_GE(h, 0);
    EXPECT_EQ(host_read(mirror), "");
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "to_secret", .mode = W_OK}), 0);
    EXPECT_EQ(result({.op = abi::kFsStatfs, .path = "to_secret"}), 0);

    struct stat after = host_lstat(secret);
    EXPECT_EQ(after.st_mode, before.st_mode);
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    EXPECT_EQ(host_read(secret), "host secret\n");

    // Remove the decoy: now they fail instead.
    ASSERT_EQ(::unlink(mirror.c_str()), 0);
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "to_secret", .mode = 0777}), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "to_secret"}), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "to_secret", .mode = F_OK}), -ENOENT);
    EXPECT_EQ(open("to_secret", O_WRONLY | O_TRUNC), -ENOENT);
    EXPECT_EQ(readlink("to_secret/"), "errno " + std::to_string(ENOENT));
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "to_secret", .flags = AT_SYMLINK_FOLLOW, .path2 = "h"}), -ENOENT);
    EXPECT_EQ(host_lstat(secret).st_mode, before.st_mode);
    EXPECT_EQ(host_lstat(secret).st_nlink, 1u);
}

TEST_F(FsDeviceTest, MagicLinksAreRefused) {
    // Inside an ordinary share /proc paths are just names in the share.
    ASSERT_EQ(::symlink("/proc/self/root", (m_share + "/procroot").c_str()), 0);
    ASSERT_EQ(::symlink("/proc/self/fd/0", (m_share + "/procfd").c_str()), 0);
    EXPECT_EQ(read_file("procroot/etc/passwd"), "errno " + std::to_string(ENOENT));
    EXPECT_EQ(read_file("procfd"), "errno " + std::to_string(ENOENT));

    // A share that contains procfs: the magic links themselves must not resolve.
    int fd = ::open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fd = ::open("/", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    UniqueFd held(fd);
    auto procdev = FsDevice::create({{"/proc/self", "/p", true}, {"/proc", "/proc", true}});
    ASSERT_TRUE(procdev) << procdev.error().to_string();
    m_dev.emplace(std::move(*procdev));
    const std::string fdpath = "fd/" + std::to_string(fd);
    for (const std::string& p : {std::string("root/etc/passwd"), std::string("root"), std::string("cwd"),
                                 std::string("exe"), fdpath, std::string("cwd/") + m_share.substr(1) + "/file"})
        EXPECT_EQ(read_file(p), "errno " + std::to_string(ELOOP)) << p;
    EXPECT_EQ(read_file("self/root/etc/passwd", 1), "errno " + std::to_string(ELOOP));
    EXPECT_EQ(read_file("self/" + fdpath, 1), "errno " + std::to_string(ELOOP));
    EXPECT_EQ(read_file("thread-self/root/etc/hostname", 1), "errno " + std::to_string(ELOOP));
    struct stat st{};
    EXPECT_EQ(stat("root", st), -ELOOP);
    EXPECT_EQ(stat("root", st, AT_SYMLINK_NOFOLLOW), 0);  // the link itself is fine to look at
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(result({.op = abi::kFsStatfs, .path = "root"}), -ELOOP);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "root/etc/passwd", .mode = F_OK}), -ELOOP);
    // Ordinary procfs files still work.
    int64_t h = open("self/stat", O_RDONLY, 0, 1);
    EXPECT_GE(h, 0);
}

TEST_F(FsDeviceTest, SymlinkLoops) {
    ASSERT_EQ(::symlink("loop2", (m_share + "/loop1").c_str()), 0);
    ASSERT_EQ(::symlink("loop1", (m_share + "/loop2").c_str()), 0);
    ASSERT_EQ(::symlink("me", (m_share + "/me").c_str()), 0);
    ASSERT_EQ(::symlink("/./me2", (m_share + "/me2").c_str()), 0);
    EXPECT_EQ(open("loop1"), -ELOOP);
    EXPECT_EQ(open("me"), -ELOOP);
    EXPECT_EQ(open("me2"), -ELOOP);
    EXPECT_EQ(open("loop1/x", O_CREAT | O_WRONLY, 0600), -ELOOP);
    struct stat st{};
    EXPECT_EQ(stat("loop2", st), -ELOOP);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "me/d", .mode = 0755}), -ELOOP);
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "me", .mode = 0755}), -ELOOP);
}

TEST_F(FsDeviceTest, LongAndNulPaths) {
    const std::string huge(5000, 'a');
    EXPECT_EQ(open(huge), -ENAMETOOLONG);
    EXPECT_EQ(open(huge, O_CREAT | O_WRONLY, 0600), -ENAMETOOLONG);
    struct stat st{};
    EXPECT_EQ(stat(huge, st), -ENAMETOOLONG);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = huge, .mode = 0755}), -ENAMETOOLONG);
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "sl", .path2 = huge}), -ENAMETOOLONG);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "file", .path2 = huge}), -ENAMETOOLONG);
    EXPECT_TRUE(host_exists(m_share + "/file"));
    // The length is checked before the range: a huge path_len is an error, not a fault.
    abi::HcFs hc = build({.op = abi::kFsOpen, .path = "x"});
    hc.path_len = ~0ull;
    ASSERT_TRUE(m_mem.write(kArg, hc));
    ASSERT_TRUE(dev().hypercall(m_mem, kArg));
    EXPECT_EQ(m_mem.read<abi::HcFs>(kArg)->result, -ENAMETOOLONG);
    // kMaxPath bytes is allowed through, and then too long for the host's PATH_MAX.
    EXPECT_EQ(open(std::string(abi::kMaxPath, 'b')), -ENAMETOOLONG);
    // A name longer than NAME_MAX.
    EXPECT_EQ(open(std::string(300, 'c'), O_CREAT | O_WRONLY, 0600), -ENAMETOOLONG);

    const std::string nul("etc\0/passwd", 11);
    EXPECT_EQ(open(nul), -EINVAL);
    EXPECT_EQ(open(std::string("file\0", 5)), -EINVAL);
    EXPECT_EQ(stat(nul, st), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = std::string("file\0x", 6)}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "file", .path2 = std::string("a\0b", 3)}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "sl", .path2 = std::string("/x\0y", 4)}), -EINVAL);
    EXPECT_TRUE(host_exists(m_share + "/file"));
    EXPECT_FALSE(host_exists(m_share + "/sl"));
}

TEST_F(FsDeviceTest, NonUtf8NamesWorkAndStayInside) {
    const std::string name = "bad\xff\xfe\x80name\x01";
    int64_t h = open(name, O_CREAT | O_RDWR, 0644);
    ASSERT_GE(h, 0);
    EXPECT_EQ(write(h, "latin1"), 6);
    EXPECT_EQ(host_read(m_share + "/" + name), "latin1");
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "\xc3\x28", .mode = 0755}), 0);
    EXPECT_TRUE(host_exists(m_share + "/\xc3\x28"));
    EXPECT_EQ(read_file("\xc3\x28/../../etc/passwd"), kDecoy);
    int64_t d = open("", O_RDONLY | O_DIRECTORY);
    auto names = list(d);
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end());
    EXPECT_EQ(result({.op = abi::kFsRename, .path = name, .path2 = "\xc3\x28/\xff"}), 0);
    EXPECT_EQ(host_read(m_share + "/\xc3\x28/\xff"), "latin1");
}

TEST_F(FsDeviceTest, CrossShareRenameAndLinkAreExdev) {
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "file", .path2 = "stolen", .share2 = 1}), -EXDEV);
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "file", .path2 = "stolen", .share2 = 1}), -EXDEV);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "other", .share = 1, .path2 = "stolen"}), -EXDEV);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "file", .path2 = "x", .share2 = 99}), -EINVAL);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "file", .share = 99, .path2 = "x"}), -EINVAL);
    EXPECT_TRUE(host_exists(m_share + "/file"));
    EXPECT_FALSE(host_exists(m_share2 + "/stolen"));
    // A directory handle carries its share.
    int64_t d = open("sub", O_RDONLY);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "f", .handle = static_cast<uint32_t>(d), .path2 = "x",
                      .share2 = 1}),
              -EXDEV);
    // Within share 1, fine.
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "other", .share = 1, .path2 = "renamed", .share2 = 1}), 0);
    EXPECT_TRUE(host_exists(m_share2 + "/renamed"));
}

TEST_F(FsDeviceTest, RenameOutOfTheShareStaysInside) {
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "file", .path2 = "../outside"}), 0);
    EXPECT_FALSE(host_exists(m_tmp + "/outside"));
    EXPECT_TRUE(host_exists(m_share + "/outside"));
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "outside", .path2 = "../../../../../.." + m_tmp + "/outside2"}), 0);
    EXPECT_FALSE(host_exists(m_tmp + "/outside2"));
    EXPECT_TRUE(host_exists(m_mirror + "/outside2"));
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "../secret", .path2 = "stolen"}), -ENOENT);
    EXPECT_TRUE(host_exists(m_tmp + "/secret"));
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "../secret", .path2 = "stolen"}), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "/../../.." + m_tmp + "/outside2", .path2 = "../linked"}), 0);
    EXPECT_TRUE(host_exists(m_share + "/linked"));
    EXPECT_FALSE(host_exists(m_tmp + "/linked"));
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "linked", .path2 = "../../linked2"}), 0);
    EXPECT_FALSE(host_exists(m_tmp + "/linked2"));
    EXPECT_TRUE(host_exists(m_share + "/linked2"));
}

// A directory component swapped for a symlink between (and during) requests.
TEST_F(FsDeviceTest, SymlinkSwapCannotEscape) {
    ASSERT_EQ(::mkdir((m_share + "/d").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((m_share + "/d/etc").c_str(), 0755), 0);
    host_write(m_share + "/d/etc/passwd", "d passwd\n");
    EXPECT_EQ(read_file("d/etc/passwd"), "d passwd\n");

    // Between requests.
    ASSERT_EQ(::rename((m_share + "/d").c_str(), (m_share + "/d.real").c_str()), 0);
    ASSERT_EQ(::symlink("/", (m_share + "/d").c_str()), 0);
    EXPECT_EQ(read_file("d/etc/passwd"), kDecoy);
    ASSERT_EQ(::unlink((m_share + "/d").c_str()), 0);
    ASSERT_EQ(::symlink(m_tmp.c_str(), (m_share + "/d").c_str()), 0);
    EXPECT_EQ(read_file("d/secret"), "errno " + std::to_string(ENOENT));
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "d/pwned", .mode = 0755}), 0);
    EXPECT_FALSE(host_exists(m_tmp + "/pwned"));
    EXPECT_TRUE(host_exists(m_mirror + "/pwned"));
    ASSERT_EQ(::unlink((m_share + "/d").c_str()), 0);
    ASSERT_EQ(::symlink("..", (m_share + "/d").c_str()), 0);
    EXPECT_EQ(read_file("d/etc/passwd"), kDecoy);
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "d/planted", .path2 = "x"}), 0);
    EXPECT_FALSE(host_exists(m_tmp + "/planted"));
    EXPECT_TRUE(host_exists(m_share + "/planted"));
    ASSERT_EQ(::unlink((m_share + "/d").c_str()), 0);

    // During requests: a thread flips d between the real directory and
    // symlinks that leave the share (absolute, and climbing) while the
    // device resolves through it. Bait waits outside.
    ASSERT_EQ(::mkdir((m_tmp + "/etc").c_str(), 0755), 0);
    host_write(m_tmp + "/etc/passwd", "OUTSIDE\n");
    ASSERT_EQ(::mkdir((m_mirror + "/etc").c_str(), 0755), 0);
    host_write(m_mirror + "/etc/passwd", "mirror passwd\n");
    std::atomic<bool> stop{false};
    const std::string d = m_share + "/d", real = m_share + "/d.real", link_tmp = m_share + "/d.tmp",
                      link_up = m_share + "/d.up";
    std::thread flipper([&] {
        while (!stop.load()) {
            ::rename(real.c_str(), d.c_str());
            ::rename(d.c_str(), real.c_str());
            ::symlink(m_tmp.c_str(), link_tmp.c_str());
            ::rename(link_tmp.c_str(), d.c_str());
            ::symlink("..", link_up.c_str());
            ::rename(link_up.c_str(), d.c_str());
            ::unlink(d.c_str());
        }
    });
    std::set<std::string> seen;
    for (int i = 0; i < 3000; ++i) {
        std::string got = read_file("d/etc/passwd");
        EXPECT_NE(got, "OUTSIDE\n");
        EXPECT_TRUE(got == kDecoy || got == "d passwd\n" || got == "mirror passwd\n" || got.rfind("errno ", 0) == 0)
            << got;
        seen.insert(got);
        if (result({.op = abi::kFsMkdir, .path = "d/etc/made", .mode = 0755}) == 0) {
            ::rmdir((m_share + "/etc/made").c_str());
            ::rmdir((m_mirror + "/etc/made").c_str());
            ::rmdir((real + "/etc/made").c_str());
        }
        EXPECT_FALSE(host_exists(m_tmp + "/etc/made"));
    }
    stop = true;
    flipper.join();
    EXPECT_EQ(dev().open_handles(), 0u);
    std::string outcomes;
    for (const auto& o : seen)
        outcomes += " [" + o.substr(0, o.find('\n')) + "]";
    std::printf("  [ race ] outcomes seen:%s\n", outcomes.c_str());
}

// ---------------------------------------------------------------------------
// Read-only shares
// ---------------------------------------------------------------------------

TEST_F(FsDeviceTest, ReadOnlyShareRefusesEveryMutation) {
    const uint32_t ro = 2;
    ASSERT_EQ(::symlink("file", (m_ro + "/lnk").c_str()), 0);
    auto snapshot = [&] {
        std::string s;
        for (const auto& e : fs::recursive_directory_iterator(m_ro)) {
            struct stat st = host_lstat(e.path());
            s += e.path().string() + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
                 std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + " " +
                 std::to_string(st.st_nlink) + "\n";
            if (e.is_regular_file() && !e.is_symlink())
                s += host_read(e.path()) + "\n";
        }
        return s;
    };
    const std::string before = snapshot();

    EXPECT_EQ(read_file("file", ro), "read only");
    int64_t h = open("file", O_RDONLY, 0, ro);
    ASSERT_GE(h, 0);
    auto uh = static_cast<uint32_t>(h);
    int64_t d = open("dir", O_RDONLY | O_DIRECTORY, 0, ro);
    ASSERT_GE(d, 0);
    auto ud = static_cast<uint32_t>(d);

    for (uint32_t flags : {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_WRONLY | O_CREAT, O_RDWR | O_APPEND})
        EXPECT_EQ(open("file", flags, 0600, ro), -EROFS) << flags;
    EXPECT_EQ(open("new", O_RDONLY | O_CREAT, 0600, ro), -EROFS);
    EXPECT_EQ(open("new", O_WRONLY | O_CREAT | O_EXCL, 0600, ro), -EROFS);
    EXPECT_EQ(open("new", O_RDONLY | O_CREAT, 0600, 0, ud), -EROFS);
    // Linux answers as for an existing file: no creation needed, not refused.
    EXPECT_EQ(open("file", O_RDONLY | O_CREAT | O_EXCL, 0600, ro), -EEXIST);
    int64_t c = open("file", O_RDONLY | O_CREAT, 0600, ro);
    EXPECT_GE(c, 0);

    EXPECT_EQ(write(h, "x", -1), -EROFS);
    EXPECT_EQ(write(h, "x", 0), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsTruncate, .handle = uh, .offset = 0}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "nd", .share = ro, .mode = 0755}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "nd", .handle = ud, .mode = 0755}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "file", .share = ro}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "inner", .handle = ud}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsUnlink, .path = "dir", .share = ro, .flags = AT_REMOVEDIR}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "file", .share = ro, .path2 = "f2", .share2 = ro}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "file", .share = ro, .path2 = "f2", .share2 = ro}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsSymlink, .path = "s", .share = ro, .path2 = "file"}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "file", .share = ro, .buf = 0}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .path = "lnk", .share = ro, .flags = AT_SYMLINK_NOFOLLOW, .buf = 0}),
              -EROFS);
    EXPECT_EQ(result({.op = abi::kFsUtimens, .handle = uh, .buf = 0}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "file", .share = ro, .mode = 0777}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsChmod, .path = "", .share = ro, .mode = 0777}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsChmod, .handle = uh, .mode = 0777}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "file", .share = ro, .mode = W_OK}), -EROFS);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "file", .share = ro, .mode = R_OK}), 0);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "missing", .share = ro, .mode = W_OK}), -ENOENT);
    // Moving into or out of it is a cross-share move.
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "file", .path2 = "file", .share2 = ro}), -EXDEV);

    // Reading still works everywhere.
    struct stat st{};
    EXPECT_EQ(stat("dir/inner", st, 0, ro), 0);
    EXPECT_EQ(read(h), "read only");
    EXPECT_EQ(readlink("lnk", ro), "file");
    EXPECT_FALSE(list(d).empty());
    EXPECT_EQ(result({.op = abi::kFsFsync, .handle = uh}), 0);

    EXPECT_EQ(snapshot(), before);
}

// ---------------------------------------------------------------------------
// FIFOs, sockets, device nodes: refused without blocking
// ---------------------------------------------------------------------------

class Watchdog {
public:
    // If the device ever blocks, SIGALRM's default action kills the test
    // binary: a loud failure instead of a hang.
    Watchdog() { ::alarm(20); }
    ~Watchdog() { ::alarm(0); }
};

TEST_F(FsDeviceTest, FifosAndSocketsAreRefusedWithoutBlocking) {
    Watchdog watchdog;
    ASSERT_EQ(::mkfifo((m_share + "/fifo").c_str(), 0666), 0);
    ASSERT_EQ(::symlink("fifo", (m_share + "/to_fifo").c_str()), 0);
    for (uint32_t flags : {O_RDONLY, O_WRONLY, O_RDWR, O_RDONLY | O_NONBLOCK, O_WRONLY | O_CREAT,
                           O_RDWR | O_TRUNC, O_WRONLY | O_APPEND})
        EXPECT_EQ(open("fifo", flags, 0600), -ENXIO) << flags;
    EXPECT_EQ(open("to_fifo"), -ENXIO);
    EXPECT_EQ(open("fifo", O_RDONLY | O_DIRECTORY), -ENOTDIR);
    struct stat st{};
    EXPECT_EQ(stat("fifo", st), 0);  // looking is fine
    EXPECT_TRUE(S_ISFIFO(st.st_mode));

    int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(sock, 0);
    UniqueFd sock_fd(sock);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string sock_path = m_share + "/sock";
    ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
    ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(sock, 1), 0);
    EXPECT_EQ(open("sock", O_RDWR), -ENXIO);
    EXPECT_EQ(open("sock", O_RDONLY), -ENXIO);
    EXPECT_EQ(dev().open_handles(), 0u);
}

TEST_F(FsDeviceTest, DeviceNodesAreRefused) {
    Watchdog watchdog;
    // /dev/null reached by an absolute symlink is the share's /dev/null: none.
    ASSERT_EQ(::symlink("/dev/null", (m_share + "/null_link").c_str()), 0);
    EXPECT_EQ(open("null_link", O_RDWR), -ENOENT);
    if (::mknod((m_share + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0)
        GTEST_SKIP() << "SKIPPED: cannot mknod a device node here (" << std::strerror(errno) << ")";
    ASSERT_EQ(::mknod((m_share + "/tty").c_str(), S_IFCHR | 0666, makedev(5, 0)), 0);
    for (uint32_t flags : {O_RDONLY, O_WRONLY, O_RDWR, O_WRONLY | O_TRUNC, O_RDWR | O_CREAT})
        EXPECT_EQ(open("null", flags, 0600), -ENXIO) << flags;
    EXPECT_EQ(open("tty", O_RDWR), -ENXIO);
    EXPECT_EQ(open("dev/../null", O_RDWR), -ENOENT);
    EXPECT_EQ(open("./null", O_RDWR), -ENXIO);
    EXPECT_EQ(dev().open_handles(), 0u);
    struct stat st{};
    EXPECT_EQ(stat("null", st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
}

// ---------------------------------------------------------------------------
// Hostile requests
// ---------------------------------------------------------------------------

TEST_F(FsDeviceTest, GuestRangesOutsideMemoryFault) {
    int64_t h = open("file", O_RDWR);
    ASSERT_GE(h, 0);
    auto uh = static_cast<uint32_t>(h);
    const uint64_t end = kMemSize;

    EXPECT_FALSE(dev().hypercall(m_mem, end));
    EXPECT_FALSE(dev().hypercall(m_mem, end - sizeof(abi::HcFs) + 1));
    EXPECT_FALSE(dev().hypercall(m_mem, ~0ull));

    auto with = [&](Req r, auto tweak) {
        abi::HcFs hc = build(r);
        tweak(hc);
        return fault(hc);
    };
    // The path itself.
    Error e = with({.op = abi::kFsOpen, .path = "file"}, [&](abi::HcFs& hc) { hc.path = end - 2; });
    EXPECT_NE(e.to_string().find("outside guest memory"), std::string::npos) << e.to_string();
    with({.op = abi::kFsStat, .path = "file"}, [&](abi::HcFs& hc) { hc.path = ~0ull - 1; });
    with({.op = abi::kFsRename, .path = "file", .path2 = "x"}, [&](abi::HcFs& hc) { hc.path2 = end; });
    with({.op = abi::kFsSymlink, .path = "s", .path2 = "x"}, [&](abi::HcFs& hc) { hc.path2 = end; });
    // Buffers.
    with({.op = abi::kFsRead, .handle = uh}, [&](abi::HcFs& hc) { hc.buf = end - 10; hc.len = 100; });
    with({.op = abi::kFsRead, .handle = uh}, [&](abi::HcFs& hc) { hc.buf = 16; hc.len = ~0ull; });
    with({.op = abi::kFsWrite, .handle = uh}, [&](abi::HcFs& hc) { hc.buf = end; hc.len = 1; });
    with({.op = abi::kFsFstat, .handle = uh}, [&](abi::HcFs& hc) { hc.buf = end - 100; });
    with({.op = abi::kFsStat, .path = "file"}, [&](abi::HcFs& hc) { hc.buf = end - 143; });
    with({.op = abi::kFsStatfs, .path = ""}, [&](abi::HcFs& hc) { hc.buf = end - 119; });
    with({.op = abi::kFsGetdents, .handle = uh}, [&](abi::HcFs& hc) { hc.buf = end - 10; hc.len = 4096; });
    with({.op = abi::kFsReadlink, .path = "file"}, [&](abi::HcFs& hc) { hc.buf = end - 10; hc.len = 4096; });
    with({.op = abi::kFsUtimens, .path = "file"}, [&](abi::HcFs& hc) { hc.buf = end - 16; });
    // Even with a bad handle: ranges are checked first.
    with({.op = abi::kFsRead, .handle = 777}, [&](abi::HcFs& hc) { hc.buf = end; hc.len = 1; });
    EXPECT_EQ(host_read(m_share + "/file"), "0123456789");

    // Unknown operations.
    with({.op = abi::kFsXattr, .path = "file", .offset = static_cast<int64_t>(end - 2), .offset2 = 5},
         [](abi::HcFs&) {});  // the name runs past guest memory
    with({.op = abi::kFsXattr, .path = "file", .path2 = "user.a", .buf = end - 2, .len = 16}, [&](abi::HcFs& hc) {
        hc.offset = kPath2;
        hc.offset2 = 6;
    });  // the value buffer does
    for (uint32_t op : {0u, 33u, 1000u, 0xffffffffu}) {  // 21-32: sendfile ... xattr, listtree, lock
        Error u = with({.op = op}, [](abi::HcFs&) {});
        EXPECT_NE(u.to_string().find("unknown operation"), std::string::npos);
    }
}

TEST_F(FsDeviceTest, BadHandlesAndArguments) {
    EXPECT_EQ(close(0), -EBADF);
    int64_t h = open("file");
    ASSERT_EQ(h, 0);
    EXPECT_EQ(close(h), 0);
    EXPECT_EQ(close(h), -EBADF);
    for (uint32_t bad : {0u, 1u, 4095u, 4096u, 123456u, abi::kNoHandle}) {
        EXPECT_EQ(read(bad), "errno " + std::to_string(EBADF)) << bad;
        EXPECT_EQ(write(bad, "x"), -EBADF);
        struct stat st{};
        EXPECT_EQ(fstat(bad, st), -EBADF);
        EXPECT_EQ(result({.op = abi::kFsGetdents, .handle = bad, .len = 4096}), -EBADF);
        EXPECT_EQ(result({.op = abi::kFsTruncate, .handle = bad}), -EBADF);
        EXPECT_EQ(result({.op = abi::kFsFsync, .handle = bad}), -EBADF);
        EXPECT_EQ(result({.op = abi::kFsSeek, .handle = bad}), -EBADF);
        EXPECT_EQ(result({.op = abi::kFsClose, .handle = bad}), -EBADF);
        if (bad != abi::kNoHandle) {
            EXPECT_EQ(result({.op = abi::kFsChmod, .handle = bad, .mode = 0777}), -EBADF);
            EXPECT_EQ(result({.op = abi::kFsUtimens, .handle = bad, .buf = 0}), -EBADF);
            EXPECT_EQ(result({.op = abi::kFsStatfs, .handle = bad}), -EBADF);
            EXPECT_EQ(open("file", O_RDONLY, 0, 0, bad), -EBADF);
        }
    }
    EXPECT_EQ(open("file", O_RDONLY, 0, 3), -EINVAL);  // share index out of range
    EXPECT_EQ(open("file", O_RDONLY, 0, 0xffffffff), -EINVAL);
    h = open("file", O_RDWR);
    EXPECT_EQ(read(h, -2), "errno " + std::to_string(EINVAL));
    EXPECT_EQ(write(h, "x", -5), -EINVAL);
    EXPECT_EQ(read(h, int64_t{1} << 62), "");
    EXPECT_EQ(write(h, "xy", INT64_MAX), -EINVAL);  // the end would overflow
    EXPECT_EQ(host_read(m_share + "/file"), "0123456789");
    // Zero-length transfers at address 0 are fine.
    EXPECT_EQ(result({.op = abi::kFsRead, .handle = static_cast<uint32_t>(h), .buf = 0, .len = 0}), 0);
}

TEST_F(FsDeviceTest, HandleExhaustionIsEmfile) {
    rlimit lim{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
    const rlim_t need = FsDevice::kMaxHandles + 64;
    if (lim.rlim_cur < need) {
        if (lim.rlim_max < need)
            GTEST_SKIP() << "SKIPPED: RLIMIT_NOFILE hard limit " << lim.rlim_max << " < " << need;
        rlimit raised = lim;
        raised.rlim_cur = need;
        ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &raised), 0);
    }
    for (uint32_t i = 0; i < FsDevice::kMaxHandles; ++i)
        ASSERT_EQ(open("file"), i);
    EXPECT_EQ(dev().open_handles(), FsDevice::kMaxHandles);
    EXPECT_EQ(open("file"), -EMFILE);
    EXPECT_EQ(open("created", O_CREAT | O_WRONLY, 0600), -EMFILE);
    EXPECT_FALSE(host_exists(m_share + "/created")) << "nothing is created when no handle is free";
    EXPECT_EQ(close(1234), 0);
    EXPECT_EQ(open("sub/f"), 1234);
    EXPECT_EQ(read(1234), "sub file");
    m_dev.reset();  // all host fds closed
    ::setrlimit(RLIMIT_NOFILE, &lim);
}

// A mount namespace of our own: directly as root, else through a user
// namespace that maps our uid to its root (unprivileged, where allowed).
bool private_mount_namespace() {
    if (::unshare(CLONE_NEWNS) == 0)
        return true;
    uid_t uid = ::getuid();
    gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return false;
    auto put = [](const char* file, const std::string& text) {
        std::ofstream out(file);
        out << text;
        out.close();
        return !out.fail();
    };
    return put("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") && put("/proc/self/setgroups", "deny") &&
           put("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
}

// A full file system: a tiny tmpfs in a private mount namespace, in a child
// process so that nothing leaks into the test runner.
TEST_F(FsDeviceTest, FullFileSystemIsEnospc) {
    const std::string mnt = m_tmp + "/full";
    ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (!private_mount_namespace() || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0)
            ::_exit(77);
        auto d = FsDevice::create({{mnt, "/", false}});
        auto mem = GuestMemory::create(kMemSize);
        if (!d || !mem)
            ::_exit(2);
        abi::HcFs hc{};
        hc.op = abi::kFsOpen;
        hc.handle = abi::kNoHandle;
        hc.flags = O_CREAT | O_WRONLY;
        hc.mode = 0600;
        hc.path = kPath;
        hc.path_len = 3;
        (void)mem->write_bytes(kPath, {reinterpret_cast<const uint8_t*>("big"), 3});
        (void)mem->write(kArg, hc);
        if (!d->hypercall(*mem, kArg) || mem->read<abi::HcFs>(kArg)->result != 0)
            ::_exit(3);
        for (int i = 0; i < 64; ++i) {
            hc = abi::HcFs{};
            hc.op = abi::kFsWrite;
            hc.handle = 0;
            hc.buf = kBuf;
            hc.len = 16384;
            hc.offset = -1;
            (void)mem->write(kArg, hc);
            if (!d->hypercall(*mem, kArg))
                ::_exit(4);
            int64_t r = mem->read<abi::HcFs>(kArg)->result;
            if (r == -ENOSPC)
                ::_exit(0);
            if (r < 0)
                ::_exit(5);
        }
        ::_exit(6);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        GTEST_SKIP() << "SKIPPED: cannot create a full filesystem here (no private tmpfs mount)";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "expected -ENOSPC from a full 64 KiB tmpfs";
}

// kFsOptRedirect: a path through an absolute symlink is handed back to the
// guest (target + rest of the path) instead of being resolved against the
// share root; without the option the old, confined behaviour stays.
TEST_F(FsDeviceTest, AbsoluteSymlinksAreHandedBackWhenAsked) {
    ASSERT_EQ(::symlink("/guest/elsewhere", (m_share + "/abs").c_str()), 0);
    ASSERT_EQ(::symlink("sub", (m_share + "/rel").c_str()), 0);
    auto redirect = [&](const std::string& path, uint32_t op, uint32_t flags = 0) {
        Req r{.op = op, .path = path, .flags = flags};
        abi::HcFs hc = build(r);
        hc.options = abi::kFsOptRedirect;
        hc.path2_len = 4096;
        EXPECT_TRUE(m_mem.write(kArg, hc));
        EXPECT_TRUE(dev().hypercall(m_mem, kArg));
        return *m_mem.read<abi::HcFs>(kArg);
    };
    auto hc = redirect("abs/x/y", abi::kFsOpen, O_RDONLY);
    ASSERT_EQ(hc.result, -abi::kFsRedirect);
    EXPECT_EQ(get(kPath2, hc.aux), "/guest/elsewhere/x/y");
    // Through a relative link first, then the absolute one.
    ASSERT_EQ(::symlink("../abs", (m_share + "/sub/up").c_str()), 0);
    hc = redirect("rel/up/z", abi::kFsStat);
    ASSERT_EQ(hc.result, -abi::kFsRedirect);
    EXPECT_EQ(get(kPath2, hc.aux), "/guest/elsewhere/z");
    // A final link that the op does not follow is not redirected.
    EXPECT_EQ(redirect("abs", abi::kFsStat, AT_SYMLINK_NOFOLLOW).result, 0);
    EXPECT_NE(redirect("abs", abi::kFsReadlink).result, -abi::kFsRedirect);
    // Paths without links are served as usual.
    EXPECT_GE(redirect("file", abi::kFsOpen, O_RDONLY).result, 0);
    // Without the option: resolved inside the share root (ENOENT here).
    EXPECT_EQ(result({.op = abi::kFsStat, .path = "abs"}), -ENOENT);
}

}  // namespace
}  // namespace lightvm

// Issue 13 regression tests for hostile-guest bugs in the fs device.
namespace lightvm {
namespace {

// The inode of `..` in the records at kBuf (0 if absent), and its index.
std::pair<uint64_t, int> dotdot_ino(const uint8_t* p, int64_t n) {
    int i = 0;
    for (int64_t off = 0; off < n; ++i) {
        uint16_t reclen;
        std::memcpy(&reclen, p + off + 16, 2);
        if (std::strcmp(reinterpret_cast<const char*>(p + off + 19), "..") == 0) {
            uint64_t ino;
            std::memcpy(&ino, p + off, 8);
            return {ino, i};
        }
        off += reclen;
    }
    return {0, -1};
}

// Bug 5: listing a share's root used to return `..` with the inode (and,
// for readdirplus, the metadata) of the host directory above the share.
TEST_F(FsDeviceTest, ShareRootDotDotRevealsNothingAboveTheShare) {
    const struct stat above = host_lstat(m_tmp), root = host_lstat(m_share);
    int64_t h = open("", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(h, 0);
    int64_t n = result({.op = abi::kFsGetdents, .handle = static_cast<uint32_t>(h), .len = kBufSize});
    ASSERT_GT(n, 0);
    auto [ino, idx] = dotdot_ino(m_mem.host_base() + kBuf, n);
    ASSERT_GE(idx, 0);
    EXPECT_NE(ino, above.st_ino);
    EXPECT_EQ(ino, root.st_ino);

    // readdirplus: the stat slot of `..` is the root's own.
    constexpr uint64_t kStats = 0x200000, kCap = 64;
    EXPECT_EQ(result({.op = abi::kFsSeek, .handle = static_cast<uint32_t>(h), .flags = SEEK_SET, .offset = 0}), 0);
    abi::HcFs hc = build({.op = abi::kFsGetdentsPlus, .handle = static_cast<uint32_t>(h), .len = 64 * 1024});
    hc.mode = kCap;
    hc.offset2 = static_cast<int64_t>(kStats);
    ASSERT_TRUE(m_mem.write(kArg, hc));
    ASSERT_TRUE(dev().hypercall(m_mem, kArg));
    n = m_mem.read<abi::HcFs>(kArg)->result;
    ASSERT_GT(n, 0);
    std::tie(ino, idx) = dotdot_ino(m_mem.host_base() + kBuf, n);
    ASSERT_GE(idx, 0);
    EXPECT_EQ(ino, root.st_ino);
    struct stat st;
    std::memcpy(&st, m_mem.host_base() + kStats + static_cast<uint64_t>(idx) * sizeof st, sizeof st);
    EXPECT_EQ(st.st_ino, root.st_ino);
    EXPECT_NE(st.st_ino, above.st_ino);

    // Below the root, `..` is an ordinary directory of the share.
    int64_t sub = open("sub", O_RDONLY | O_DIRECTORY);
    n = result({.op = abi::kFsGetdents, .handle = static_cast<uint32_t>(sub), .len = kBufSize});
    EXPECT_EQ(dotdot_ino(m_mem.host_base() + kBuf, n).first, root.st_ino);
}

// Bug 2a: a sendfile from a huge sparse file used to copy up to 2^63 bytes
// in one exit, ignoring stop requests. One request moves at most what Linux
// moves in one sendfile (0x7ffff000 bytes), and a stop ends it early.
TEST_F(FsDeviceTest, SendfileIsBoundedPerRequest) {
    {
        UniqueFd f(::open((m_share + "/sparse").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        ASSERT_TRUE(f.valid());
        ASSERT_EQ(::ftruncate(f.get(), 8ll << 30), 0);  // 8 GiB of holes
    }
    UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    dev().set_streams(null.get(), null.get());
    int64_t h = open("sparse");
    ASSERT_GE(h, 0);
    int64_t r = result({.op = abi::kFsSendfile, .handle = static_cast<uint32_t>(h), .flags = abi::kSendToStdout,
                        .len = 1ull << 62, .offset = 0});
    EXPECT_EQ(r, int64_t{FsDevice::kMaxTransfer});

    set_stop_requested(true);
    r = result({.op = abi::kFsSendfile, .handle = static_cast<uint32_t>(h), .flags = abi::kSendToStdout,
                .len = 1ull << 30, .offset = 0});
    set_stop_requested(false);
    EXPECT_EQ(r, -EINTR) << "a stop request ends the copy before it starts";
}

}  // namespace
}  // namespace lightvm

namespace lightvm {
namespace {

// Issue 13, bug 1: the running executable's pages are mapped into guest RAM;
// the guest may not truncate or rewrite it (ETXTBSY, as on Linux), but it may
// still read it and replace it by rename.
TEST_F(FsDeviceTest, RunningExecutableIsTextBusy) {
    host_write(m_share + "/app", "\x7f" "ELF pretend");
    struct stat st = host_lstat(m_share + "/app");
    dev().set_busy_file(st.st_dev, st.st_ino);
    EXPECT_EQ(open("app", O_WRONLY), -ETXTBSY);
    EXPECT_EQ(open("app", O_RDWR), -ETXTBSY);
    EXPECT_EQ(open("app", O_RDONLY | O_TRUNC), -ETXTBSY);
    EXPECT_EQ(open("app", O_WRONLY | O_CREAT | O_TRUNC, 0644), -ETXTBSY);
    int64_t h = open("app", O_RDONLY);
    ASSERT_GE(h, 0);
    EXPECT_EQ(result({.op = abi::kFsTruncate, .handle = static_cast<uint32_t>(h), .offset = 0}), -ETXTBSY);
    EXPECT_EQ(host_read(m_share + "/app"), "\x7f" "ELF pretend");
    // A hard link names the same inode.
    ASSERT_EQ(::link((m_share + "/app").c_str(), (m_share + "/alias").c_str()), 0);
    EXPECT_EQ(open("alias", O_WRONLY), -ETXTBSY);
    // Other files are writable as ever; renaming over the app is allowed.
    EXPECT_GE(open("file", O_WRONLY), 0);
    host_write(m_share + "/new", "new");
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "new", .path2 = "app"}), 0);
    EXPECT_GE(open("app", O_WRONLY), 0) << "the name now has another inode";
}

}  // namespace
}  // namespace lightvm

namespace lightvm {
namespace {

// ---------------------------------------------------------------------------
// kFsListTree: whole listings, depth first, in one request
// ---------------------------------------------------------------------------

struct TreeBlock {
    std::string path;
    std::vector<std::string> names;          // in listing order, dots left out
    std::map<std::string, struct stat> stats;
    std::map<std::string, std::string> links;  // symlink targets sent along
};

// Parses a kFsListTree reply of n bytes at kBuf (abi.h FsTreeDir).
std::vector<TreeBlock> parse_tree(const uint8_t* p, int64_t n, uint64_t blocks) {
    std::vector<TreeBlock> out;
    auto pad8 = [](uint64_t v) { return (v + 7) & ~uint64_t{7}; };
    uint64_t off = 0;
    for (uint64_t b = 0; b < blocks; ++b) {
        abi::FsTreeDir h;
        EXPECT_LE(off + sizeof h, static_cast<uint64_t>(n));
        std::memcpy(&h, p + off, sizeof h);
        TreeBlock blk;
        blk.path.assign(reinterpret_cast<const char*>(p + off + sizeof h), h.path_len);
        const uint8_t* stats = p + off + sizeof h + pad8(h.path_len);
        const uint8_t* recs = stats + uint64_t{h.records} * sizeof(struct stat);
        std::vector<std::string> all;
        for (uint64_t r = 0; r < h.dirent_bytes;) {
            uint16_t reclen;
            std::memcpy(&reclen, recs + r + 16, 2);
            all.emplace_back(reinterpret_cast<const char*>(recs + r + 19));
            r += reclen;
        }
        EXPECT_EQ(all.size(), h.records);
        for (size_t i = 0; i < all.size(); ++i) {
            if (all[i] == "." || all[i] == "..")
                continue;
            blk.names.push_back(all[i]);
            std::memcpy(&blk.stats[all[i]], stats + i * sizeof(struct stat), sizeof(struct stat));
        }
        const uint8_t* links = recs + h.dirent_bytes;
        for (uint64_t l = 0; l < h.link_bytes;) {
            abi::FsLinkRecord rec;
            std::memcpy(&rec, links + l, sizeof rec);
            blk.links[all.at(rec.index)] = std::string(reinterpret_cast<const char*>(links + l + sizeof rec), rec.len);
            l += sizeof rec + rec.len;
        }
        off += sizeof h + pad8(h.path_len) + uint64_t{h.records} * sizeof(struct stat) + h.dirent_bytes +
               pad8(h.link_bytes);
        out.push_back(std::move(blk));
    }
    EXPECT_EQ(off, static_cast<uint64_t>(n));
    return out;
}

class FsTreeTest : public FsDeviceTest {
protected:
    void SetUp() override {
        FsDeviceTest::SetUp();
        for (const char* d : {"/t", "/t/a", "/t/a/y", "/t/b", "/t/b/deep", "/t/b/deep/er"})
            ASSERT_EQ(::mkdir((m_share + d).c_str(), 0755), 0) << d;
        host_write(m_share + "/t/a/x", "x");
        host_write(m_share + "/t/a/y/z", "zz");
        host_write(m_share + "/t/b/w", "www");
        host_write(m_share + "/t/c", "c");
        ASSERT_EQ(::symlink("a", (m_share + "/t/link").c_str()), 0);  // a directory, through a link
    }
    // One kFsListTree: the reply's blocks, or none with result/handle2 set.
    std::vector<TreeBlock> tree(const Req& r, int64_t* res, uint32_t* ended) {
        abi::HcFs back = call(r);
        *res = back.result;
        *ended = (back.aux & abi::kFsTreeEnded) ? 1 : 0;
        if (back.result <= 0)
            return {};
        return parse_tree(m_mem.host_base() + kBuf, back.result, back.aux & ~abi::kFsTreeEnded);
    }
    static std::vector<std::string> paths(const std::vector<TreeBlock>& blocks) {
        std::vector<std::string> p;
        for (const auto& b : blocks)
            p.push_back(b.path);
        return p;
    }
};

TEST_F(FsTreeTest, WholeListingsDepthFirstWithStatsAndLinks) {
    int64_t h = open("t", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(h, 0);
    int64_t n;
    uint32_t ended;
    auto blocks = tree({.op = abi::kFsListTree, .handle = static_cast<uint32_t>(h), .len = kBufSize,
                        .offset = 1 << 20}, &n, &ended);
    ASSERT_GT(n, 0);
    EXPECT_EQ(ended, 1u);
    // Every directory once, each before what is below it, never through the link.
    std::vector<std::string> p = paths(blocks);
    ASSERT_EQ(p.size(), 6u);
    EXPECT_EQ(p[0], "");
    std::set<std::string> seen(p.begin(), p.end());
    EXPECT_EQ(seen, (std::set<std::string>{"", "a", "a/y", "b", "b/deep", "b/deep/er"}));
    auto pos = [&](const std::string& s) { return std::find(p.begin(), p.end(), s) - p.begin(); };
    EXPECT_LT(pos("a"), pos("a/y"));
    EXPECT_LT(pos("b"), pos("b/deep"));
    EXPECT_LT(pos("b/deep"), pos("b/deep/er"));
    // A subtree is finished before the next sibling starts.
    EXPECT_EQ(std::abs(pos("a/y") - pos("a")), 1);
    const TreeBlock& root = blocks[0];
    EXPECT_EQ(std::set<std::string>(root.names.begin(), root.names.end()),
              (std::set<std::string>{"a", "b", "c", "link"}));
    EXPECT_EQ(root.stats.at("c").st_ino, host_lstat(m_share + "/t/c").st_ino);
    EXPECT_EQ(root.stats.at("c").st_size, 1);
    EXPECT_TRUE(S_ISLNK(root.stats.at("link").st_mode));
    EXPECT_EQ(root.links.at("link"), "a");
    EXPECT_EQ(blocks[pos("a/y")].stats.at("z").st_size, 2);
    // The handle's own position did not move.
    auto names = list(h);
    EXPECT_EQ(names.size(), 6u);  // . .. a b c link
}

TEST_F(FsTreeTest, BudgetEndsTheWalkAndAResumeGoesOnFromTheMiss) {
    int64_t h = open("t", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(h, 0);
    int64_t n;
    uint32_t ended;
    // No budget: the directory's own listing only, and the walk is not over.
    auto blocks = tree({.op = abi::kFsListTree, .handle = static_cast<uint32_t>(h), .len = kBufSize}, &n, &ended);
    ASSERT_EQ(paths(blocks), std::vector<std::string>{""});
    EXPECT_EQ(ended, 0u);
    // Resumed at b/deep (by path: the walk's root, then the miss below it):
    // b/deep's subtree first, then b's other subdirectories, then t's
    // (after b, then before it); never the root's own listing again.
    blocks = tree({.op = abi::kFsListTree, .path = "t", .path2 = "b/deep", .len = kBufSize}, &n, &ended);
    std::vector<std::string> p = paths(blocks);
    ASSERT_GE(p.size(), 2u);
    EXPECT_EQ(p[0], "b/deep");
    EXPECT_EQ(p[1], "b/deep/er");
    EXPECT_EQ(std::set<std::string>(p.begin(), p.end()), (std::set<std::string>{"b/deep", "b/deep/er", "a", "a/y"}));
    EXPECT_EQ(ended, 1u);
    // A small buffer: the resume directory first, the walk not ended.
    blocks = tree({.op = abi::kFsListTree, .path = "t", .path2 = "b/deep", .len = 600}, &n, &ended);
    EXPECT_EQ(paths(blocks), std::vector<std::string>{"b/deep"});
    EXPECT_EQ(ended, 0u);
}

TEST_F(FsTreeTest, BadRequestsAreErrorsAndFaults) {
    int64_t h = open("t", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(h, 0);
    int64_t n;
    uint32_t ended;
    // A buffer too small for the first listing.
    tree({.op = abi::kFsListTree, .handle = static_cast<uint32_t>(h), .len = 64}, &n, &ended);
    EXPECT_EQ(n, -E2BIG);
    // Resume paths: missing, climbing, through a symlink, empty.
    for (const char* bad : {"nope", "a/nope"}) {
        tree({.op = abi::kFsListTree, .path = "t", .path2 = bad, .len = kBufSize}, &n, &ended);
        EXPECT_EQ(n, -E2BIG) << bad;
    }
    for (const char* bad : {"../t", "a/../b", "", "a//y"}) {
        tree({.op = abi::kFsListTree, .path = "t", .path2 = bad, .len = kBufSize}, &n, &ended);
        EXPECT_EQ(n, -EINVAL) << bad;
    }
    tree({.op = abi::kFsListTree, .path = "t", .path2 = "link", .len = kBufSize}, &n, &ended);
    EXPECT_EQ(n, -E2BIG) << "a symlink is not walked into";
    // Not a directory; a bad handle; a buffer outside guest memory stops the VM.
    int64_t f = open("t/c");
    EXPECT_EQ(result({.op = abi::kFsListTree, .handle = static_cast<uint32_t>(f), .len = kBufSize}), -ENOTDIR);
    EXPECT_EQ(result({.op = abi::kFsListTree, .handle = 999, .len = kBufSize}), -EBADF);
    fault(build({.op = abi::kFsListTree, .handle = static_cast<uint32_t>(h), .buf = kMemSize - 16,
                 .len = kBufSize}));
}

TEST_F(FsTreeTest, ShareRootListingHidesWhatIsAbove) {
    int64_t h = open("", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(h, 0);
    int64_t n = result({.op = abi::kFsListTree, .handle = static_cast<uint32_t>(h), .len = kBufSize});
    ASSERT_GT(n, 0);
    abi::FsTreeDir hd;
    std::memcpy(&hd, m_mem.host_base() + kBuf, sizeof hd);
    ASSERT_EQ(hd.path_len, 0u);
    const uint8_t* stats = m_mem.host_base() + kBuf + sizeof hd;
    auto [ino, idx] = dotdot_ino(stats + uint64_t{hd.records} * sizeof(struct stat), hd.dirent_bytes);
    ASSERT_GE(idx, 0);
    EXPECT_EQ(ino, host_lstat(m_share).st_ino);
    struct stat st;
    std::memcpy(&st, stats + static_cast<uint64_t>(idx) * sizeof st, sizeof st);
    EXPECT_EQ(st.st_ino, host_lstat(m_share).st_ino) << "the stat of `..` is the root's own";
}

// ---------------------------------------------------------------------------
// The mapped ownership model (devices/fs_owner.hpp): share 0 and the
// read-only share 2 are mapped, share 1 (/mnt) passes through.
// ---------------------------------------------------------------------------

TEST(FsOwnerAttr, FormatAndParse) {
    using fs_owner::Owner;
    EXPECT_EQ(fs_owner::format({1234, 5678, 04750}), "1234:5678:4750");
    EXPECT_EQ(fs_owner::format({0, 0, 0}), "0:0:0");
    EXPECT_EQ(fs_owner::format({4294967295u, 1, 07777}), "4294967295:1:7777");
    EXPECT_EQ(fs_owner::parse("1234:5678:4750"), (Owner{1234, 5678, 04750}));
    EXPECT_EQ(fs_owner::parse("0:0:0"), (Owner{0, 0, 0}));
    EXPECT_EQ(fs_owner::parse("4294967295:4294967295:7777"), (Owner{4294967295u, 4294967295u, 07777}));
    for (const char* bad : {"", "1:2", "1:2:3:4", "a:2:3", "1:2:8", "1:2:17777", "-1:2:3", "+1:2:3", " 1:2:3",
                            "1:2:3 ", "1::3", ":1:3", "1:2:", "4294967296:0:0", "1:2:3\n"})
        EXPECT_FALSE(fs_owner::parse(bad)) << bad;
    EXPECT_EQ(fs_owner::host_mode(04750, false), 0750u) << "no set-id bits, owner rw kept";
    EXPECT_EQ(fs_owner::host_mode(0, false), 0600u);
    EXPECT_EQ(fs_owner::host_mode(01000, true), 0700u) << "a directory: owner rwx, no sticky bit";
    EXPECT_EQ(fs_owner::mode_after_chown(06755, false), 0755u) << "Linux drops both (group exec)";
    EXPECT_EQ(fs_owner::mode_after_chown(06745, false), 02745u) << "set-group-ID without group exec stays";
    EXPECT_EQ(fs_owner::mode_after_chown(07755, true), 07755u) << "directories keep theirs";
}

class FsMappedTest : public FsTreeTest {
protected:
    void SetUp() override {
        FsTreeTest::SetUp();
        ::umask(0);  // as the monitor's (monitor/process_setup.hpp): host modes below are exact
        if (::setxattr((m_share + "/file").c_str(), "user.probe", "1", 1, 0) != 0)
            GTEST_SKIP() << "SKIPPED: the host file system has no user.* attributes";
        ::removexattr((m_share + "/file").c_str(), "user.probe");
        m_dev.reset();
        auto dev = FsDevice::create(
            {{m_share, "/", false, true}, {m_share2, "/mnt", false, false}, {m_ro, "/ro", true, true}});
        ASSERT_TRUE(dev) << dev.error().to_string();
        m_dev.emplace(std::move(*dev));
    }
    int64_t chown(const std::string& path, int64_t uid, int64_t gid, uint32_t flags = 0, uint32_t share = 0) {
        abi::HcFs hc = build({.op = abi::kFsChown, .path = path, .share = share, .flags = flags});
        hc.offset = uid;
        hc.offset2 = gid;
        EXPECT_TRUE(m_mem.write(kArg, hc));
        EXPECT_TRUE(dev().hypercall(m_mem, kArg));
        return m_mem.read<abi::HcFs>(kArg)->result;
    }
    int64_t chmod(const std::string& path, uint32_t mode, uint32_t share = 0) {
        return result({.op = abi::kFsChmod, .path = path, .share = share, .mode = mode});
    }
    // A creating request with the guest's ids (kFsOptOwner), as owned() sends it.
    int64_t as_user(Req r, uint32_t uid, uint32_t gid) {
        abi::HcFs hc = build(r);
        hc.options = abi::kFsOptOwner;
        hc.offset2 = static_cast<int64_t>(uint64_t{uid} | uint64_t{gid} << 32);
        EXPECT_TRUE(m_mem.write(kArg, hc));
        EXPECT_TRUE(dev().hypercall(m_mem, kArg));
        return m_mem.read<abi::HcFs>(kArg)->result;
    }
    static std::string attr(const std::string& host_path) {
        char v[64];
        ssize_t n = ::lgetxattr(host_path.c_str(), fs_owner::kAttr, v, sizeof v);
        return n < 0 ? std::string("errno ") + std::to_string(errno) : std::string(v, static_cast<size_t>(n));
    }
    // What the guest is shown: "uid gid mode(octal, with type)".
    std::string seen(const std::string& path, uint32_t flags = 0, uint32_t share = 0) {
        struct stat st{};
        int64_t r = stat(path, st, flags, share);
        if (r < 0)
            return "errno " + std::to_string(-r);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%u %u %o", st.st_uid, st.st_gid, st.st_mode);
        return buf;
    }
    const uid_t me = ::geteuid();
    const gid_t my_gid = ::getegid();
};

TEST_F(FsMappedTest, ChownAndChmodLiveInTheAttribute) {
    const struct stat host = host_lstat(m_share + "/file");
    EXPECT_EQ(seen("file"), std::to_string(me) + " " + std::to_string(host.st_gid) + " 100644")
        << "no attribute yet: the host's values";
    EXPECT_EQ(chown("file", 1234, 5678), 0);
    EXPECT_EQ(attr(m_share + "/file"), "1234:5678:644");
    EXPECT_EQ(seen("file"), "1234 5678 100644");
    EXPECT_EQ(chmod("file", 04750), 0);
    EXPECT_EQ(attr(m_share + "/file"), "1234:5678:4750");
    EXPECT_EQ(seen("file"), "1234 5678 104750");
    struct stat now = host_lstat(m_share + "/file");
    EXPECT_EQ(now.st_uid, host.st_uid) << "the host owner never changes";
    EXPECT_EQ(now.st_gid, host.st_gid);
    EXPECT_EQ(now.st_mode & 07777, 0750u) << "no set-user-ID on the host; owner rw kept";
    // -1 keeps a value; any chown drops set-user-ID, as Linux's does.
    EXPECT_EQ(chown("file", -1, 42), 0);
    EXPECT_EQ(seen("file"), "1234 42 100750");
    EXPECT_EQ(chmod("file", 02755), 0);
    EXPECT_EQ(chown("file", -1, -1), 0);
    EXPECT_EQ(seen("file"), "1234 42 100755") << "set-group-ID with group exec goes too";
    EXPECT_EQ(chmod("file", 0), 0);
    EXPECT_EQ(seen("file"), "1234 42 100000");
    EXPECT_EQ(host_lstat(m_share + "/file").st_mode & 07777, 0600u) << "the monitor can still serve it";
    EXPECT_EQ(read_file("file"), "0123456789");
    // Directories: the attribute, owner rwx on the host, set-id bits kept in the guest's view.
    EXPECT_EQ(chmod("sub", 03770), 0);
    EXPECT_EQ(chown("sub", 7, 8), 0);
    EXPECT_EQ(seen("sub"), "7 8 43770");
    EXPECT_EQ(host_lstat(m_share + "/sub").st_mode & 07777, 0770u);
    EXPECT_EQ(seen("sub/f"), std::to_string(me) + " " + std::to_string(host_lstat(m_share + "/sub/f").st_gid) +
                                 " 100644");
    // Through a handle: fchown/fchmod of an open file.
    int64_t h = open("sub/f", O_RDONLY);
    ASSERT_GE(h, 0);
    abi::HcFs hc = build({.op = abi::kFsChown, .handle = static_cast<uint32_t>(h)});
    hc.offset = 99;
    hc.offset2 = -1;
    ASSERT_TRUE(m_mem.write(kArg, hc));
    ASSERT_TRUE(dev().hypercall(m_mem, kArg));
    EXPECT_EQ(m_mem.read<abi::HcFs>(kArg)->result, 0);
    EXPECT_EQ(result({.op = abi::kFsChmod, .handle = static_cast<uint32_t>(h), .mode = 0640}), 0);
    EXPECT_EQ(attr(m_share + "/sub/f"), "99:" + std::to_string(host_lstat(m_share + "/sub/f").st_gid) + ":640");
    // A hard link shares the inode's attribute; a rename keeps it.
    EXPECT_EQ(result({.op = abi::kFsLink, .path = "file", .path2 = "hard"}), 0);
    EXPECT_EQ(seen("hard"), "1234 42 100000");
    EXPECT_EQ(result({.op = abi::kFsRename, .path = "hard", .path2 = "moved"}), 0);
    EXPECT_EQ(seen("moved"), "1234 42 100000");
    // A read-only mapped share shows the attribute and changes nothing.
    ASSERT_EQ(::setxattr((m_ro + "/file").c_str(), fs_owner::kAttr, "5:6:600", 7, 0), 0);
    EXPECT_EQ(seen("file", 0, 2), "5 6 100600");
    EXPECT_EQ(chown("file", 1, 1, 0, 2), -EROFS);
    EXPECT_EQ(chmod("file", 0777, 2), -EROFS);
}

// kFsAccess (a guest root without cached attributes): Linux's answer for
// root from the mode the guest sees, not the monitor's from the host's.
TEST_F(FsMappedTest, AccessFollowsTheShownMode) {
    auto access = [&](const std::string& path, uint32_t mode) {
        return result({.op = abi::kFsAccess, .path = path, .mode = mode});
    };
    ASSERT_EQ(chmod("file", 0011), 0);  // execute for group and other only
    EXPECT_EQ(host_lstat(m_share + "/file").st_mode & 0777, 0611u) << "the owner (the monitor) has no x on the host";
    EXPECT_EQ(access("file", X_OK), 0) << "some x bit: root may execute";
    EXPECT_EQ(access("file", R_OK | W_OK), 0);
    ASSERT_EQ(chmod("file", 0644), 0);
    EXPECT_EQ(access("file", X_OK), -EACCES);
    ASSERT_EQ(chmod("sub", 0), 0);
    EXPECT_EQ(access("sub", X_OK), 0) << "a directory: root may search";
    EXPECT_EQ(access("missing", F_OK), -ENOENT);
    EXPECT_EQ(result({.op = abi::kFsAccess, .path = "file", .share = 2, .mode = W_OK}), -EROFS);
}

TEST_F(FsMappedTest, EveryStatTheGuestGetsIsMapped) {
    ASSERT_EQ(chown("t/c", 1234, 5678), 0);
    ASSERT_EQ(chmod("t/c", 0604), 0);
    ASSERT_EQ(chown("t/a", 11, 12), 0);
    ASSERT_EQ(chown("", 21, 22), 0);  // the share's root
    // kFsStat (followed through a symlink to a directory), kFsFstat, an open's kFsOptStat.
    EXPECT_EQ(seen("t/link"), "11 12 40755");
    EXPECT_EQ(seen("t/link", AT_SYMLINK_NOFOLLOW), std::to_string(me) + " " + std::to_string(host_lstat(m_share + "/t/link").st_gid) + " 120777")
        << "a symlink shows its host owner";
    int64_t h = open("t/c");
    ASSERT_GE(h, 0);
    struct stat st{};
    ASSERT_EQ(fstat(h, st), 0);
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
    EXPECT_EQ(st.st_mode, S_IFREG | 0604u);
    // An open's (and a reopen's) kFsOptStat stat.
    auto stat_of = [&](abi::HcFs req) {
        req.options = abi::kFsOptStat;
        struct stat out{};
        EXPECT_TRUE(m_mem.write(kArg, req));
        EXPECT_TRUE(dev().hypercall(m_mem, kArg));
        EXPECT_GE(m_mem.read<abi::HcFs>(kArg)->result, 0);
        std::memcpy(&out, m_mem.host_base() + kBuf, sizeof out);
        return out;
    };
    st = stat_of(build({.op = abi::kFsOpen, .path = "t/c", .len = sizeof(struct stat)}));
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_mode, S_IFREG | 0604u);
    st = stat_of(build({.op = abi::kFsReopen, .handle = static_cast<uint32_t>(h), .len = sizeof(struct stat)}));
    EXPECT_EQ(st.st_gid, 5678u);
    // kFsGetdentsPlus: each record's stat, and the root's `..`.
    constexpr uint64_t kStats = 0x200000, kCap = 64;
    int64_t dir = open("t", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(dir, 0);
    abi::HcFs plus = build({.op = abi::kFsGetdentsPlus, .handle = static_cast<uint32_t>(dir), .len = 64 * 1024});
    plus.mode = kCap;
    plus.offset2 = static_cast<int64_t>(kStats);
    ASSERT_TRUE(m_mem.write(kArg, plus));
    ASSERT_TRUE(dev().hypercall(m_mem, kArg));
    int64_t n = m_mem.read<abi::HcFs>(kArg)->result;
    ASSERT_GT(n, 0);
    std::map<std::string, struct stat> by_name;
    const uint8_t* p = m_mem.host_base() + kBuf;
    for (int64_t off = 0, i = 0; off < n; ++i) {
        uint16_t reclen;
        std::memcpy(&reclen, p + off + 16, 2);
        std::memcpy(&by_name[reinterpret_cast<const char*>(p + off + 19)],
                    m_mem.host_base() + kStats + static_cast<uint64_t>(i) * sizeof st, sizeof st);
        off += reclen;
    }
    EXPECT_EQ(by_name.at("c").st_uid, 1234u);
    EXPECT_EQ(by_name.at("c").st_mode, S_IFREG | 0604u);
    EXPECT_EQ(by_name.at("a").st_uid, 11u);
    EXPECT_EQ(by_name.at("..").st_uid, 21u) << "the share's root, by name";
    EXPECT_EQ(by_name.at("link").st_uid, me);
    int64_t root = open("", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(root, 0);
    plus = build({.op = abi::kFsGetdentsPlus, .handle = static_cast<uint32_t>(root), .len = 64 * 1024});
    plus.mode = kCap;
    plus.offset2 = static_cast<int64_t>(kStats);
    ASSERT_TRUE(m_mem.write(kArg, plus));
    ASSERT_TRUE(dev().hypercall(m_mem, kArg));
    n = m_mem.read<abi::HcFs>(kArg)->result;
    auto [ino, idx] = dotdot_ino(p, n);
    ASSERT_GE(idx, 0);
    std::memcpy(&st, m_mem.host_base() + kStats + static_cast<uint64_t>(idx) * sizeof st, sizeof st);
    EXPECT_EQ(st.st_uid, 21u) << "the root's `..` is the root, as the guest sees it";
    // kFsListTree: every block's stats.
    int64_t res;
    uint32_t ended;
    auto blocks = tree({.op = abi::kFsListTree, .handle = static_cast<uint32_t>(dir), .len = kBufSize,
                        .offset = 1 << 20}, &res, &ended);
    ASSERT_GT(res, 0);
    EXPECT_EQ(blocks[0].stats.at("c").st_uid, 1234u);
    EXPECT_EQ(blocks[0].stats.at("c").st_mode, S_IFREG | 0604u);
    EXPECT_EQ(blocks[0].stats.at("a").st_gid, 12u);
    blocks = tree({.op = abi::kFsListTree, .handle = static_cast<uint32_t>(root), .len = kBufSize,
                   .offset = 1 << 20}, &res, &ended);
    ASSERT_GT(res, 0);
    EXPECT_EQ(blocks[0].stats.at("t").st_uid, me) << "no attribute: the host's owner";
    // A resumed walk (by path).
    blocks = tree({.op = abi::kFsListTree, .path = "", .path2 = "t", .len = kBufSize}, &res, &ended);
    ASSERT_GT(res, 0);
    ASSERT_EQ(blocks[0].path, "t");
    EXPECT_EQ(blocks[0].stats.at("c").st_uid, 1234u);
    // A malformed attribute (written on the host) is ignored: the host's values stand.
    ASSERT_EQ(::setxattr((m_share + "/t/c").c_str(), fs_owner::kAttr, "1:2", 3, 0), 0);
    EXPECT_EQ(seen("t/c"), std::to_string(me) + " " + std::to_string(host_lstat(m_share + "/t/c").st_gid) + " 100604");
}

TEST_F(FsMappedTest, CreationRecordsTheCreator) {
    // A --user creator (kFsOptOwner): its ids and the mode asked for; the host
    // file is the monitor's, with owner rw.
    int64_t h = as_user({.op = abi::kFsOpen, .path = "new", .flags = O_RDWR | O_CREAT | O_EXCL, .mode = 0400},
                        1234, 5678);
    ASSERT_GE(h, 0);
    EXPECT_EQ(write(h, "data"), 4);
    EXPECT_EQ(attr(m_share + "/new"), "1234:5678:400");
    EXPECT_EQ(seen("new"), "1234 5678 100400");
    struct stat host = host_lstat(m_share + "/new");
    EXPECT_EQ(host.st_uid, me);
    EXPECT_EQ(host.st_mode & 07777, 0600u);
    EXPECT_EQ(as_user({.op = abi::kFsMkdir, .path = "newdir", .mode = 0750}, 1234, 5678), 0);
    EXPECT_EQ(seen("newdir"), "1234 5678 40750");
    EXPECT_EQ(host_lstat(m_share + "/newdir").st_mode & 07777, 0750u);
    EXPECT_EQ(as_user({.op = abi::kFsMkdir, .path = "closed", .mode = 0}, 1, 1), 0);
    EXPECT_EQ(seen("closed"), "1 1 40000");
    EXPECT_EQ(host_lstat(m_share + "/closed").st_mode & 07777, 0700u) << "the monitor can still search it";
    EXPECT_EQ(as_user({.op = abi::kFsMknod, .path = "node", .mode = S_IFREG | 04711}, 7, 7), 0);
    EXPECT_EQ(seen("node"), "7 7 104711");
    EXPECT_EQ(host_lstat(m_share + "/node").st_mode & 07777, 0711u);
    // Without kFsOptOwner the creator is root (the guest sends ids unless both are 0).
    EXPECT_EQ(result({.op = abi::kFsMkdir, .path = "rootdir", .mode = 01777}), 0);
    EXPECT_EQ(seen("rootdir"), "0 0 41777");
    EXPECT_EQ(host_lstat(m_share + "/rootdir").st_mode & 07777, 0777u);
    int64_t r = open("rootfile", O_WRONLY | O_CREAT, 06755);
    ASSERT_GE(r, 0);
    EXPECT_EQ(seen("rootfile"), "0 0 106755");
    EXPECT_EQ(host_lstat(m_share + "/rootfile").st_mode & 07777, 0755u);
    // An existing file opened with O_CREAT keeps what it had.
    ASSERT_GE(as_user({.op = abi::kFsOpen, .path = "new", .flags = O_RDWR | O_CREAT, .mode = 0666}, 9, 9), 0);
    EXPECT_EQ(seen("new"), "1234 5678 100400");
    // Symlinks and FIFOs cannot carry the attribute: the host's owner, and
    // lchown only to what they show.
    EXPECT_EQ(as_user({.op = abi::kFsSymlink, .path = "sym", .path2 = "new"}, 1234, 5678), 0);
    EXPECT_EQ(attr(m_share + "/sym"), "errno " + std::to_string(ENODATA));
    const struct stat sym = host_lstat(m_share + "/sym");
    EXPECT_EQ(sym.st_uid, me);
    EXPECT_EQ(chown("sym", 1234, 5678, AT_SYMLINK_NOFOLLOW), -EOPNOTSUPP);
    EXPECT_EQ(chown("sym", sym.st_uid, sym.st_gid, AT_SYMLINK_NOFOLLOW), 0);
    EXPECT_EQ(chown("sym", -1, -1, AT_SYMLINK_NOFOLLOW), 0);
    EXPECT_EQ(chown("sym", 4321, -1), 0) << "followed: the target's attribute";
    EXPECT_EQ(seen("new"), "4321 5678 100400");
    EXPECT_EQ(as_user({.op = abi::kFsMknod, .path = "fifo", .mode = S_IFIFO | 0620}, 1234, 5678), 0);
    struct stat fifo = host_lstat(m_share + "/fifo");
    EXPECT_EQ(fifo.st_uid, me);
    EXPECT_EQ(fifo.st_mode & 07777, 0620u);
    EXPECT_EQ(chmod("fifo", 04666), 0);
    EXPECT_EQ(host_lstat(m_share + "/fifo").st_mode & 07777, 0666u) << "host bits, as passthrough";
    EXPECT_EQ(chown("fifo", 1, 1), -EOPNOTSUPP);
}

TEST_F(FsMappedTest, TheGuestCannotSeeOrChangeTheAttribute) {
    auto xattr = [&](uint32_t op, const std::string& path, const std::string& n, uint64_t len, uint32_t share = 0) {
        put(kPath2, n);
        return result({.op = abi::kFsXattr, .path = path, .share = share, .flags = op, .len = len,
                       .offset = static_cast<int64_t>(kPath2), .offset2 = static_cast<int64_t>(n.size())});
    };
    ASSERT_EQ(chown("file", 1234, 5678), 0);
    put(kBuf, "value");
    ASSERT_EQ(xattr(abi::kXattrSet, "file", "user.mine", 5), 0);
    int64_t n = xattr(abi::kXattrList, "file", "", 256);
    ASSERT_GT(n, 0);
    EXPECT_EQ(get(kBuf, static_cast<size_t>(n)), std::string("user.mine\0", 10)) << "lightvm's own is not listed";
    EXPECT_EQ(xattr(abi::kXattrList, "file", "", 0), 10) << "nor counted";
    EXPECT_EQ(xattr(abi::kXattrGet, "file", fs_owner::kAttr, 64), -ENODATA);
    EXPECT_EQ(xattr(abi::kXattrGet, "file", fs_owner::kAttr, 0), -ENODATA);
    put(kBuf, "0:0:4755");
    EXPECT_EQ(xattr(abi::kXattrSet, "file", fs_owner::kAttr, 8), -EPERM);
    EXPECT_EQ(xattr(abi::kXattrSet, "file", "user.lightvm.other", 8), -EPERM);
    EXPECT_EQ(xattr(abi::kXattrRemove, "file", fs_owner::kAttr, 0), -EPERM);
    EXPECT_EQ(xattr(abi::kXattrGet, "missing", fs_owner::kAttr, 64), -ENOENT) << "the path is looked up first";
    EXPECT_EQ(attr(m_share + "/file"), "1234:5678:644") << "unchanged";
    EXPECT_EQ(seen("file"), "1234 5678 100644");
    // In a passthrough share too: a guest there must not plant what a mapped run trusts.
    EXPECT_EQ(xattr(abi::kXattrSet, "other", fs_owner::kAttr, 8, 1), -EPERM);
    EXPECT_EQ(attr(m_share2 + "/other"), "errno " + std::to_string(ENODATA));
}

TEST_F(FsMappedTest, PassthroughSharesBesideItAreUnchanged) {
    ASSERT_EQ(::setxattr((m_share2 + "/other").c_str(), fs_owner::kAttr, "5:6:4777", 8, 0), 0);
    const struct stat host = host_lstat(m_share2 + "/other");
    EXPECT_EQ(seen("other", 0, 1), std::to_string(host.st_uid) + " " + std::to_string(host.st_gid) + " 100644")
        << "a passthrough share ignores the attribute";
    EXPECT_EQ(chown("other", host.st_uid, host.st_gid, 0, 1), 0);
    EXPECT_EQ(chmod("other", 04755, 1), 0);
    EXPECT_EQ(host_lstat(m_share2 + "/other").st_mode & 07777, 0755u) << "host chmod, set-user-ID stripped";
    EXPECT_EQ(attr(m_share2 + "/other"), "5:6:4777") << "and the attribute untouched";
    if (me == 0) {  // root: chown reaches the host as before
        EXPECT_EQ(chown("other", 4242, 4243, 0, 1), 0);
        EXPECT_EQ(host_lstat(m_share2 + "/other").st_uid, 4242u);
        EXPECT_EQ(as_user({.op = abi::kFsMkdir, .path = "given", .share = 1, .mode = 0755}, 4242, 4243), 0);
        EXPECT_EQ(host_lstat(m_share2 + "/given").st_uid, 4242u);
    }
}

// Before Linux 6.13 there is no getxattrat: listings read the attribute
// with lgetxattr through /proc/self/fd/DIR/NAME instead. A child whose
// getxattrat is ENOSYS (a seccomp filter) must show the same.
TEST_F(FsMappedTest, ListingsWithoutGetxattrat) {
    ASSERT_EQ(chown("t/c", 1234, 5678), 0);
    int64_t dir = open("t", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(dir, 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        sock_filter code[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 464, 0, 1),  // getxattrat
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        sock_fprog prog{static_cast<unsigned short>(std::size(code)), code};
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
            ::_exit(2);
        if (::syscall(464, AT_FDCWD, "/", 0, "user.x", nullptr, 0) != -1 || errno != ENOSYS)
            ::_exit(3);
        (void)build({.op = abi::kFsListTree, .handle = static_cast<uint32_t>(dir), .len = kBufSize,
                     .offset = 1 << 20});
        if (!dev().hypercall(m_mem, kArg))
            ::_exit(4);
        abi::HcFs back = *m_mem.read<abi::HcFs>(kArg);
        if (back.result <= 0)
            ::_exit(5);
        auto blocks = parse_tree(m_mem.host_base() + kBuf, back.result, back.aux & ~abi::kFsTreeEnded);
        ::_exit(!blocks.empty() && blocks[0].stats.at("c").st_uid == 1234 && blocks[0].stats.at("c").st_gid == 5678
                    ? 0
                    : 6);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "2: no filter, 3: getxattrat not ENOSYS, 4-5: request failed, 6: not mapped";
}

TEST(FsDeviceCreate, MappedNeedsUserAttributes) {
    // procfs has no user.* attributes: a writable mapped share there is refused.
    auto proc = FsDevice::create({{"/proc", "/p", false, true}});
    ASSERT_FALSE(proc);
    EXPECT_EQ(proc.error().to_string(),
              "--fs /proc: mapped ownership needs user.* extended attributes, which this file system lacks");
    EXPECT_TRUE(FsDevice::create({{"/proc", "/p", true, true}})) << "read-only: nothing would be written";
    EXPECT_TRUE(FsDevice::create({{"/proc", "/p", false, false}}));
}

}  // namespace
}  // namespace lightvm

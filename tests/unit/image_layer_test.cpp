// Layers applied to a root directory (src/image/layer_apply, layer): OCI
// whiteouts and opaque directories, links, confinement to the root, and
// both digests of every layer. Real files in a temp dir; no KVM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/layer.hpp"
#include "image_fixture.hpp"

using namespace lightvm;
using namespace lightvm::image;
using namespace image_test;

namespace {

// A string as a Reader, in small chunks (so libarchive sees several reads).
class StringReader : public Reader {
public:
    explicit StringReader(std::string data, size_t chunk = 4096) : m_data(std::move(data)), m_chunk(chunk) {}
    Result<std::string_view> next() override {
        std::string_view out = std::string_view(m_data).substr(m_pos, m_chunk);
        m_pos += out.size();
        return out;
    }

private:
    std::string m_data;
    size_t m_chunk, m_pos = 0;
};

std::string err(const Result<void>& r) { return r ? "(no error)" : r.error().to_string(); }

class Layers : public ::testing::Test {
protected:
    void SetUp() override {
        root = tmp.path + "/root";
        ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
        root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_GE(root_fd, 0);
        applier = std::make_unique<LayerApplier>(root_fd, ::geteuid() == 0);
    }
    void TearDown() override { ::close(root_fd); }

    // Applies a plain tar with correct digests.
    Result<void> apply(const std::string& tar, const std::string& filter = "") {
        std::string stored = filter.empty() ? tar : TestImage::recompress(tar, filter);
        LayerCheck check;
        check.blob = sha256_of(stored);
        check.blob_size = static_cast<int64_t>(stored.size());
        check.diff_id = sha256_of(tar);
        check.label = "layer 1 of 1";
        StringReader in(stored);
        return apply_layer(in, check, *applier);
    }
    std::string at(const std::string& rel) const { return root + "/" + rel; }

    TempDir tmp;
    std::string root;
    int root_fd = -1;
    std::unique_ptr<LayerApplier> applier;
};

TEST_F(Layers, FilesDirsSymlinksHardLinksAndModes) {
    ASSERT_TRUE(apply(make_tar({dir("bin"), file("bin/busybox", "ELF", 0755), symlink_entry("bin/sh", "busybox"),
                                hardlink_entry("bin/hard", "bin/busybox"), file("setuid", "s", 04755),
                                file("implicit/parent/file", "p")})));
    ASSERT_TRUE(applier->finish());
    EXPECT_EQ(read_file(at("bin/busybox")), "ELF");
    struct stat a, b;
    ASSERT_EQ(::stat(at("bin/busybox").c_str(), &a), 0);
    ASSERT_EQ(::stat(at("bin/hard").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_mode & 07777, 0755u);
    EXPECT_EQ(a.st_mtime, 1700000000);
    char target[64] = {};
    ASSERT_GT(::readlink(at("bin/sh").c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "busybox");
    ASSERT_EQ(::stat(at("setuid").c_str(), &a), 0);
    if (::geteuid() == 0) {
        EXPECT_EQ(a.st_mode & 07777, 04755u);
    }
    EXPECT_EQ(read_file(at("implicit/parent/file")), "p");
}

TEST_F(Layers, WhiteoutsRemoveOnlyWhatLowerLayersAdded) {
    ASSERT_TRUE(apply(make_tar({file("etc/doomed", "x"), dir("d"), file("d/old", "o"), file("keep", "k")})));
    // The opaque marker after and before this layer's own entries: both keep them.
    ASSERT_TRUE(apply(make_tar({file("etc/.wh.doomed", ""), file("d/new", "n"), file("d/.wh..wh..opq", ""),
                                file("same", "s"), file(".wh.same", ""), file(".wh.missing", "")})));
    EXPECT_FALSE(exists(at("etc/doomed")));
    EXPECT_TRUE(exists(at("etc")));
    EXPECT_FALSE(exists(at("d/old")));
    EXPECT_EQ(read_file(at("d/new")), "n");
    EXPECT_TRUE(exists(at("same")));  // a whiteout spares its own layer
    EXPECT_TRUE(exists(at("keep")));
    ASSERT_TRUE(apply(make_tar({file("d/.wh..wh..opq", ""), file("d/newer", "x")})));
    EXPECT_FALSE(exists(at("d/new")));
    EXPECT_TRUE(exists(at("d/newer")));
    ASSERT_TRUE(apply(make_tar({file(".wh.d", "")})));
    EXPECT_FALSE(exists(at("d")));
    ASSERT_TRUE(applier->finish());
}

TEST_F(Layers, OpaqueClearsLowerContentOfRedeclaredSubdirectories) {
    ASSERT_TRUE(apply(make_tar({dir("o"), dir("o/sub"), file("o/sub/lower", "l"), file("o/lower", "l")})));
    ASSERT_TRUE(apply(make_tar({dir("o/sub"), file("o/sub/upper", "u"), file("o/.wh..wh..opq", "")})));
    EXPECT_FALSE(exists(at("o/lower")));
    EXPECT_FALSE(exists(at("o/sub/lower")));
    EXPECT_TRUE(exists(at("o/sub/upper")));
}

TEST_F(Layers, TypeChangesReplaceTheOldEntry) {
    ASSERT_TRUE(apply(make_tar({dir("x"), file("x/inner", "i"), file("y", "file")})));
    ASSERT_TRUE(apply(make_tar({file("x", "now a file"), dir("y")})));
    EXPECT_EQ(read_file(at("x")), "now a file");
    struct stat st;
    ASSERT_EQ(::lstat(at("y").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(Layers, NothingLeavesTheRoot) {
    const std::string outside = tmp.path + "/outside";
    ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
    // Symlinks pointing out (absolute and relative), then entries through
    // them: they resolve inside the root, where these directories exist too.
    ASSERT_TRUE(apply(make_tar({dir(outside.substr(1)), dir("outside"), symlink_entry("abs", outside),
                                symlink_entry("rel", "../../outside"), symlink_entry("file", outside + "/f"),
                                symlink_entry("dangling", "/nowhere")})));
    ASSERT_TRUE(apply(make_tar({file("abs/planted", "x"), file("rel/planted2", "x"), file("file", "replaced")})));
    EXPECT_FALSE(exists(outside + "/planted"));
    EXPECT_FALSE(exists(outside + "/planted2"));
    EXPECT_FALSE(exists(outside + "/f"));
    EXPECT_TRUE(exists(at(outside.substr(1) + "/planted")));
    EXPECT_TRUE(exists(at("outside/planted2")));
    EXPECT_EQ(read_file(at("file")), "replaced");
    // Through a link to nowhere: an error, nothing made anywhere.
    EXPECT_FALSE(apply(make_tar({file("dangling/x", "x")})));
    EXPECT_FALSE(exists("/nowhere"));
    std::string e = err(apply(make_tar({file("../escape", "x")})));
    EXPECT_NE(e.find("leaves the root"), std::string::npos) << e;
    e = err(apply(make_tar({hardlink_entry("h", "../../etc/passwd")})));
    EXPECT_NE(e.find("leaves the root"), std::string::npos) << e;
    EXPECT_FALSE(exists(tmp.path + "/escape"));
}

TEST_F(Layers, DeviceNodesAreSkippedAndCounted) {
    Entry dev = file("dev/null", "");
    dev.type = Entry::CharDev;
    Entry fifo = file("run/fifo", "");
    fifo.type = Entry::Fifo;
    ASSERT_TRUE(apply(make_tar({dev, fifo})));
    EXPECT_FALSE(exists(at("dev/null")));
    EXPECT_EQ(applier->stats().devices_skipped, 1u);
    EXPECT_EQ(applier->stats().first_device, "/dev/null");
    struct stat st;
    ASSERT_EQ(::lstat(at("run/fifo").c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(Layers, DirectoryModesAndTimesAreSetLast) {
    ASSERT_TRUE(apply(make_tar({dir("ro", 0555), file("ro/inside", "i"), dir("ro/deeper", 0500)})));
    ASSERT_TRUE(applier->finish());
    struct stat st;
    ASSERT_EQ(::stat(at("ro").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0555u);
    EXPECT_EQ(st.st_mtime, 1700000000);
    EXPECT_EQ(read_file(at("ro/inside")), "i");
}

TEST_F(Layers, CompressedLayersAndBothDigests) {
    const std::string tar = make_tar({file("a", std::string(100000, 'a')), file("b", "b")});
    EXPECT_TRUE(apply(tar, "gzip")) << err(apply(tar, "gzip"));
    EXPECT_TRUE(apply(tar, "zstd")) << err(apply(tar, "zstd"));
    EXPECT_EQ(read_file(at("a")).size(), 100000u);

    LayerCheck check;
    check.blob = sha256_of(tar);
    check.diff_id = sha256_of(tar);
    check.label = "layer 1 of 1";
    check.blob = Digest{std::string(64, '0')};
    StringReader wrong_blob(tar);
    std::string e = err(apply_layer(wrong_blob, check, *applier));
    EXPECT_EQ(e, "image: blob sha256:" + std::string(64, '0') + " (layer 1 of 1): digest mismatch, its content is sha256:" +
                     sha256_of(tar).hex);
    check.blob = sha256_of(tar);
    check.diff_id = Digest{std::string(64, '1')};
    StringReader wrong_diff(tar);
    e = err(apply_layer(wrong_diff, check, *applier));
    EXPECT_NE(e.find("diff_id mismatch, the uncompressed layer is sha256:" + sha256_of(tar).hex), std::string::npos) << e;
}

TEST_F(Layers, CorruptCompressedBlobIsNamedAsADigestMismatch) {
    const std::string tar = make_tar({file("a", std::string(50000, 'x'))});
    std::string gz = TestImage::recompress(tar, "gzip");
    LayerCheck check;
    check.blob = sha256_of(gz);
    check.diff_id = sha256_of(tar);
    check.label = "layer 2 of 3";
    gz[gz.size() / 2] ^= 0x55;
    StringReader in(gz);
    std::string e = err(apply_layer(in, check, *applier));
    EXPECT_NE(e.find("blob sha256:" + check.blob->hex + " (layer 2 of 3): digest mismatch"), std::string::npos) << e;
    // Not a tar at all (and no digest to blame): libarchive's message, one line.
    LayerCheck plain;
    plain.diff_id = sha256_of("junk");
    plain.label = "layer 1 of 1";
    StringReader junk(std::string(2048, 'j'));
    e = err(apply_layer(junk, plain, *applier));
    EXPECT_EQ(e.find('\n'), std::string::npos);
    EXPECT_NE(e.find("layer 1 of 1"), std::string::npos) << e;
}

TEST_F(Layers, DamagedTarWithoutBlobDigestIsADiffIdMismatch) {
    // docker-archive's ID/layer.tar: only the diff_id says what it should be.
    std::string tar = make_tar({file("a", "aaaa"), file("b", "bbbb")});
    LayerCheck check;
    check.diff_id = sha256_of(tar);
    check.label = "layer 1 of 1";
    tar[100] ^= 0x7f;  // inside the first header: a tar error first
    StringReader in(tar);
    std::string e = err(apply_layer(in, check, *applier));
    EXPECT_NE(e.find("diff_id mismatch"), std::string::npos) << e;
}

TEST(ImageEntryPath, Cleaning) {
    std::string out;
    EXPECT_TRUE(clean_entry_path("./a//b/./c/", out));
    EXPECT_EQ(out, "a/b/c");
    EXPECT_TRUE(clean_entry_path("/abs/x", out));
    EXPECT_EQ(out, "abs/x");
    EXPECT_TRUE(clean_entry_path("./", out));
    EXPECT_EQ(out, "");
    EXPECT_FALSE(clean_entry_path("a/../../b", out));
    EXPECT_FALSE(clean_entry_path("..", out));
}

}  // namespace

// Importing images into the cache and the cache's own rules (src/image/
// import, plan, source, store), and the writable layer's overlay
// (writable.cpp, in a forked child so that its mount namespace stays
// there). Real files in temp dirs; no KVM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/import.hpp"
#include "image/store.hpp"
#include "image/tree.hpp"
#include "image/writable.hpp"
#include "image_fixture.hpp"

using namespace lightvm;
using namespace lightvm::image;
using namespace image_test;

namespace {

std::string err(const auto& r) { return r ? "(no error)" : r.error().to_string(); }

class Import : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = Store::open(tmp.path + "/cache");
        ASSERT_TRUE(s) << err(s);
        store.emplace(std::move(*s));
    }
    Result<ImportResult> import(const std::string& path, const std::string& tag = "",
                                std::vector<std::string> names = {}) {
        return import_image(*store, ImportRequest{path, tag, std::move(names)});
    }
    // Entries of the cache's roots/ and tmp/: what a failed import must not change.
    std::string cache_listing() {
        return read_command("cd " + tmp.path + "/cache && find roots tmp run | sort");
    }
    static std::string read_command(const std::string& cmd) {
        std::string out;
        FILE* p = ::popen(cmd.c_str(), "r");
        char buf[4096];
        while (size_t n = std::fread(buf, 1, sizeof buf, p))
            out.append(buf, n);
        ::pclose(p);
        return out;
    }
    TempDir tmp;
    std::optional<Store> store;
    TestImage image;
};

TEST_F(Import, OciLayoutThenDockerArchiveOfTheSameImage) {
    image.write_oci(tmp.path + "/oci");
    auto first = import(tmp.path + "/oci");
    ASSERT_TRUE(first) << err(first);
    EXPECT_FALSE(first->cached);
    EXPECT_EQ(first->record.id.hex, image.id());
    EXPECT_EQ(first->record.names, std::vector<std::string>{"test:1"});
    EXPECT_EQ(first->record.format, "oci-layout");
    EXPECT_EQ(first->record.layers, 2u);
    const std::string root = store->rootfs(first->record.id);
    EXPECT_EQ(read_file(root + "/etc/added"), "added");
    EXPECT_FALSE(exists(root + "/etc/doomed"));
    EXPECT_FALSE(exists(root + "/opaque/a"));
    EXPECT_TRUE(exists(root + "/opaque/c"));
    EXPECT_EQ(read_file(store->image_dir(first->record.id) + "/config.json"), image.config);
    EXPECT_GT(first->record.size, 0u);

    image.write_docker(tmp.path + "/docker.tar", "other:2");
    auto second = import(tmp.path + "/docker.tar");
    ASSERT_TRUE(second) << err(second);
    EXPECT_TRUE(second->cached);  // same config digest: nothing unpacked
    EXPECT_EQ(second->record.id.hex, image.id());
    EXPECT_EQ(second->record.names, (std::vector<std::string>{"test:1", "other:2"}));
    auto listed = store->list();
    ASSERT_TRUE(listed) << err(listed);
    EXPECT_EQ(listed->size(), 1u);
}

TEST_F(Import, DockerArchiveFirstAndZstdLayers) {
    image.write_docker(tmp.path + "/docker.tar");
    auto d = import(tmp.path + "/docker.tar", "", {"mine"});
    ASSERT_TRUE(d) << err(d);
    EXPECT_EQ(d->record.format, "docker-archive");
    EXPECT_EQ(d->record.names, std::vector<std::string>{"mine"});
    EXPECT_FALSE(exists(store->rootfs(d->record.id) + "/etc/doomed"));
    ASSERT_TRUE(store->remove(d->record));
    image.write_oci(tmp.path + "/zstd", "zstd");
    auto z = import(tmp.path + "/zstd", "test:1");
    ASSERT_TRUE(z) << err(z);
    EXPECT_FALSE(z->cached);
    EXPECT_EQ(read_file(store->rootfs(z->record.id) + "/opaque/c"), "c");
}

// Everything under `dir` as a tar's members (paths relative to `dir`).
std::string tar_of_dir(const std::string& dir) {
    std::vector<Entry> entries;
    std::string list;
    FILE* p = ::popen(("cd " + dir + " && find . -type f | sort").c_str(), "r");
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, p))
        list.append(buf, n);
    ::pclose(p);
    for (size_t i = 0; i < list.size();) {
        size_t nl = list.find('\n', i);
        std::string rel = list.substr(i + 2, nl - i - 2);
        entries.push_back(file(rel, read_file(dir + "/" + rel)));
        i = nl + 1;
    }
    return make_tar(entries);
}

TEST_F(Import, OciArchiveAndNestedMultiPlatformIndex) {
    image.write_oci(tmp.path + "/oci");
    // Wrap the manifest in a multi-platform index: arm64 first, then ours.
    std::string index = read_file(tmp.path + "/oci/index.json");
    size_t d = index.find("sha256:") + 7;
    const std::string manifest_hex = index.substr(d, 64);
    const std::string manifest_size = std::to_string(read_file(tmp.path + "/oci/blobs/sha256/" + manifest_hex).size());
    // The arm64 entry names a manifest that is not there: choosing it would fail.
    auto entry = [&](const std::string& arch) {
        const std::string hex = arch == "amd64" ? manifest_hex : std::string(64, 'e');
        return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" + hex +
               R"(","size":)" + manifest_size + R"(,"platform":{"os":"linux","architecture":")" + arch + R"("}})";
    };
    std::string nested = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
                         entry("arm64") + "," + entry("amd64") + "]}";
    write_file(tmp.path + "/oci/blobs/sha256/" + sha(nested), nested);
    write_file(tmp.path + "/oci/index.json",
               R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:)" +
                   sha(nested) + R"(","size":)" + std::to_string(nested.size()) +
                   R"(,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]})");
    // The same layout inside a tar (skopeo's oci-archive:).
    write_file(tmp.path + "/oci.tar", tar_of_dir(tmp.path + "/oci"));
    auto r = import(tmp.path + "/oci.tar", "multi");
    ASSERT_TRUE(r) << err(r);
    EXPECT_EQ(r->record.format, "oci-archive");
    EXPECT_EQ(r->record.id.hex, image.id());
    EXPECT_EQ(read_file(store->rootfs(r->record.id) + "/etc/added"), "added");
    // A damaged nested index is named.
    write_file(tmp.path + "/oci/blobs/sha256/" + sha(nested), nested + " ");
    ASSERT_TRUE(store->remove(r->record));
    EXPECT_NE(err(import(tmp.path + "/oci")).find("(index " + sha(nested).substr(0, 12) + "): digest mismatch"),
              std::string::npos);
}

TEST_F(Import, DockerArchiveOfDocker25AndSymlinkedLayers) {
    // docker 25+: blobs/sha256/HEX members, checked by name; a layer shared
    // with another image as a symlink (older docker save does that).
    std::vector<Entry> entries{dir("blobs"), dir("blobs/sha256"), file("blobs/sha256/" + image.id(), image.config),
                               file("blobs/sha256/" + sha(image.layers[0]), image.layers[0]), dir("other"),
                               file("other/layer.tar", image.layers[1]), dir("l2"),
                               symlink_entry("l2/layer.tar", "../other/layer.tar")};
    entries.push_back(file("manifest.json", R"([{"Config":"blobs/sha256/)" + image.id() +
                                                R"(","RepoTags":["d25:latest"],"Layers":["blobs/sha256/)" +
                                                sha(image.layers[0]) + R"(","l2/layer.tar"]}])"));
    write_file(tmp.path + "/d25.tar", make_tar(entries));
    auto r = import(tmp.path + "/d25.tar");
    ASSERT_TRUE(r) << err(r);
    EXPECT_EQ(r->record.names, std::vector<std::string>{"d25:latest"});
    EXPECT_TRUE(exists(store->rootfs(r->record.id) + "/opaque/c"));
    // A member whose name is a digest it does not match.
    ASSERT_TRUE(store->remove(r->record));
    entries[3] = file("blobs/sha256/" + sha(image.layers[0]), image.layers[0] + std::string(512, '\0'));
    write_file(tmp.path + "/d25.tar", make_tar(entries));
    EXPECT_NE(err(import(tmp.path + "/d25.tar")).find("blob sha256:" + sha(image.layers[0]) + " (layer 1 of 2): digest mismatch"),
              std::string::npos);
}

TEST_F(Import, CorruptBlobFailsAndLeavesTheCacheAsItWas) {
    auto digests = image.write_oci(tmp.path + "/oci");
    const std::string before = cache_listing();
    std::string blob = tmp.path + "/oci/blobs/sha256/" + digests[1];
    std::string data = read_file(blob);
    data[data.size() / 2] ^= 1;
    write_file(blob, data);
    auto r = import(tmp.path + "/oci");
    EXPECT_NE(err(r).find("image: blob sha256:" + digests[1] + " (layer 2 of 2): digest mismatch"), std::string::npos)
        << err(r);
    EXPECT_EQ(cache_listing(), before);
    // A corrupt config is caught before anything is unpacked.
    TestImage other;
    other.config += " ";
    auto d2 = other.write_oci(tmp.path + "/oci2");
    std::string cfg = tmp.path + "/oci2/blobs/sha256/" + other.id();
    write_file(cfg, read_file(cfg) + "x");
    EXPECT_NE(err(import(tmp.path + "/oci2")).find("(config): digest mismatch"), std::string::npos);
    EXPECT_EQ(cache_listing(), before);
}

TEST_F(Import, NotImagesAreOneLineErrors) {
    EXPECT_EQ(err(import(tmp.path + "/missing")), tmp.path + "/missing: no such file or directory");
    write_file(tmp.path + "/text", "just text\n");
    std::string e = err(import(tmp.path + "/text"));
    EXPECT_NE(e.find("not an image"), std::string::npos) << e;
    ::mkdir((tmp.path + "/emptydir").c_str(), 0755);
    e = err(import(tmp.path + "/emptydir"));
    EXPECT_NE(e.find("not an image: no oci-layout"), std::string::npos) << e;
    image.write_oci(tmp.path + "/oci");
    write_file(tmp.path + "/oci/index.json", "{ nope");
    EXPECT_EQ(err(import(tmp.path + "/oci")), tmp.path + "/oci: index.json: not valid JSON");
    write_file(tmp.path + "/oci/oci-layout", R"({"imageLayoutVersion":"2.0.0"})");
    EXPECT_NE(err(import(tmp.path + "/oci")).find("imageLayoutVersion 2.0.0"), std::string::npos);
    image.write_oci(tmp.path + "/oci3");
    EXPECT_NE(err(import(tmp.path + "/oci3", "nope")).find("no image tagged 'nope' (tags: test:1)"), std::string::npos);
    for (const auto& e2 : {err(import(tmp.path + "/text")), err(import(tmp.path + "/oci"))})
        EXPECT_EQ(e2.find('\n'), std::string::npos);
    EXPECT_EQ(store->list()->size(), 0u);
}

TEST_F(Import, PathAndTagSplitting) {
    image.write_oci(tmp.path + "/a:b");  // a ':' in the path itself
    EXPECT_EQ(split_path_tag(tmp.path + "/a:b")->tag, "");
    auto s = split_path_tag(tmp.path + "/a:b:test:1");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->path, tmp.path + "/a:b");
    EXPECT_EQ(s->tag, "test:1");
    EXPECT_FALSE(split_path_tag(tmp.path + "/none:tag"));
}

TEST_F(Import, FindRemoveAndHold) {
    image.write_oci(tmp.path + "/oci", "gzip", "busybox:latest");
    auto r = import(tmp.path + "/oci");
    ASSERT_TRUE(r) << err(r);
    EXPECT_EQ(store->find("busybox:latest")->id.hex, image.id());
    EXPECT_EQ(store->find("busybox")->id.hex, image.id());  // ":latest" implied
    EXPECT_EQ(store->find(image.id().substr(0, 5))->id.hex, image.id());
    EXPECT_EQ(store->find("sha256:" + image.id())->id.hex, image.id());
    EXPECT_NE(err(store->find("nothing")).find("no image 'nothing'"), std::string::npos);
    // Two records whose IDs share a prefix (find reads only image.json).
    for (const char* hex : {"abcd1", "abcd2"}) {
        std::string id = std::string(hex) + std::string(59, '0');
        ASSERT_EQ(::mkdir(store->image_dir(Digest{id}).c_str(), 0700), 0);
        write_file(store->image_dir(Digest{id}) + "/image.json", R"({"id":"sha256:)" + id + R"(","names":[]})");
    }
    EXPECT_EQ(err(store->find("abcd")), "image: 'abcd' is an ambiguous ID prefix (2 images)");
    EXPECT_EQ(store->find("abcd2")->id.hex, "abcd2" + std::string(59, '0'));
    EXPECT_FALSE(store->find("sha256:"));
    {
        auto held = store->hold(r->record.id);
        ASSERT_TRUE(held) << err(held);
        EXPECT_NE(err(store->remove(r->record)).find("is in use by a VM"), std::string::npos);
    }
    ASSERT_TRUE(store->remove(r->record));
    EXPECT_FALSE(exists(store->image_dir(r->record.id)));
    EXPECT_EQ(store->list()->size(), 2u);
    EXPECT_EQ(err(check_image_name("-bad")), "--name: '-bad' is not a valid name (letters, digits, . _ : / @ + -)");
    EXPECT_NE(err(check_image_name(image.id())).find("looks like an image ID"), std::string::npos);
    EXPECT_TRUE(check_image_name("registry.example/ns/app:1.2@x"));
}

TEST_F(Import, NamesMoveToTheNewestImage) {
    image.write_oci(tmp.path + "/oci", "gzip", "app:1");
    auto a = import(tmp.path + "/oci");
    TestImage other;
    other.config += "\n";
    other.write_oci(tmp.path + "/oci2", "gzip", "app:1");
    auto b = import(tmp.path + "/oci2");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(store->get(a->record.id)->names.size(), 0u);
    EXPECT_EQ(store->find("app:1")->id, b->record.id);
    ASSERT_TRUE(store->remove_name(b->record.id, "app:1"));
    EXPECT_FALSE(store->find("app:1"));
}

TEST_F(Import, GarbageOfDeadImportsIsCollected) {
    auto s = store->scratch("tmp");
    ASSERT_TRUE(s) << err(s);
    const std::string live = s->path();
    const std::string dead = tmp.path + "/cache/tmp/dead";
    ASSERT_EQ(::mkdir(dead.c_str(), 0700), 0);
    store->collect_garbage();
    EXPECT_TRUE(exists(live));  // its owner holds the lock
    EXPECT_FALSE(exists(dead));
}

// Runs `f` in a child process; true when it exited 0.
template <class F>
bool in_child(F f) {
    pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(f() ? 0 : 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Writes through an overlay of the imported root: the cached root stays as it was.
bool overlay_keeps_lower(const Store& store, const Digest& id) {
    auto root = writable_root(store, id, false);
    if (!root || root->read_only) {
        std::fprintf(stderr, "writable_root: %s\n", root ? root->warning.c_str() : err(root).c_str());
        return false;
    }
    write_file(root->root + "/etc/added", "changed");
    write_file(root->root + "/new", "new");
    ::unlink((root->root + "/etc/passwd").c_str());
    const std::string lower = store.rootfs(id);
    return read_file(root->root + "/etc/added") == "changed" && read_file(lower + "/etc/added") == "added" &&
           !exists(lower + "/new") && exists(lower + "/etc/passwd") && !exists(root->root + "/etc/passwd");
}

TEST_F(Import, WritableRootIsAnOverlayAndGoesAwayAfterwards) {
    image.write_oci(tmp.path + "/oci");
    auto r = import(tmp.path + "/oci");
    ASSERT_TRUE(r) << err(r);
    EXPECT_TRUE(in_child([&] { return overlay_keeps_lower(*store, r->record.id); }));
    // The cleaner removes the run directory once the child is gone.
    const std::string run = tmp.path + "/cache/run";
    for (int i = 0; i < 100 && !read_command("ls " + run).empty(); ++i)
        ::usleep(20000);
    EXPECT_EQ(read_command("ls " + run), "");
    auto ro = writable_root(*store, r->record.id, true);
    ASSERT_TRUE(ro) << err(ro);
    EXPECT_TRUE(ro->read_only);
    EXPECT_EQ(ro->root, store->rootfs(r->record.id));
}

TEST_F(Import, WritableRootForAnUnprivilegedUser) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to become another user";
    // nobody's own cache, as ~/.local/share would be.
    const std::string dir = tmp.path + "/nobody";
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chmod(tmp.path.c_str(), 0755), 0);
    image.write_oci(tmp.path + "/oci");
    EXPECT_TRUE(in_child([&] {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)
            return false;
        // As a process started by nobody would be (a uid change cleared it):
        // its /proc/self files are its own, so it can write its uid_map.
        ::prctl(PR_SET_DUMPABLE, 1);
        auto s = Store::open(dir + "/cache");
        auto r = s ? import_image(*s, ImportRequest{tmp.path + "/oci", "", {}}) : Result<ImportResult>(tl::unexpected(s.error()));
        if (!r) {
            std::fprintf(stderr, "import as nobody: %s\n", err(r).c_str());
            return false;
        }
        return overlay_keeps_lower(*s, r->record.id);
    }));
}

}  // namespace

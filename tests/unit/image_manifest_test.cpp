// Image documents (src/image/manifest, digest, run_settings): parsing,
// selection by tag and platform, docker's run rules, users. Pure, no files.
#include <gtest/gtest.h>

#include "image/digest.hpp"
#include "image/manifest.hpp"
#include "image/run_settings.hpp"

using namespace lightvm;
using namespace lightvm::image;

namespace {

const std::string kHexA(64, 'a'), kHexB(64, 'b'), kHexC(64, 'c');

std::string err(const auto& r) { return r ? "(no error)" : r.error().to_string(); }

std::string desc(const std::string& hex, const std::string& extra = "",
                 const std::string& type = "application/vnd.oci.image.manifest.v1+json") {
    return R"({"mediaType":")" + type + R"(","digest":"sha256:)" + hex + R"(","size":10)" +
           (extra.empty() ? "" : "," + extra) + "}";
}

std::string index_of(const std::string& manifests) { return R"({"schemaVersion":2,"manifests":[)" + manifests + "]}"; }

std::string ref(const std::string& name) {
    return R"("annotations":{"org.opencontainers.image.ref.name":")" + name + R"("})";
}

std::string platform(const std::string& os, const std::string& arch) {
    return R"("platform":{"os":")" + os + R"(","architecture":")" + arch + R"("})";
}

TEST(ImageDigest, Sha256KnownVectorAndParsing) {
    EXPECT_EQ(sha256_of("abc").hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_of("").hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    auto d = parse_digest("sha256:" + kHexA, "x");
    ASSERT_TRUE(d) << err(d);
    EXPECT_EQ(d->hex, kHexA);
    EXPECT_EQ(d->short_id(), std::string(12, 'a'));
    EXPECT_NE(err(parse_digest("sha512:" + kHexA + kHexA, "x")).find("not supported"), std::string::npos);
    EXPECT_NE(err(parse_digest("sha256:ABC", "x")).find("not a sha256 digest"), std::string::npos);
    EXPECT_NE(err(parse_digest("nonsense", "x")).find("not a digest"), std::string::npos);
    EXPECT_FALSE(parse_digest("sha256:" + std::string(64, 'A'), "x"));  // uppercase is not canonical
}

TEST(ImageIndex, SelectsByTagOrTheOnlyOne) {
    auto one = parse_index(index_of(desc(kHexA, ref("v1"))), "index.json");
    ASSERT_TRUE(one) << err(one);
    EXPECT_EQ(select_manifest(*one, "", "i")->digest.hex, kHexA);
    EXPECT_EQ(select_manifest(*one, "v1", "i")->ref_name, "v1");
    EXPECT_NE(err(select_manifest(*one, "v2", "i")).find("no image tagged 'v2' (tags: v1)"), std::string::npos);

    auto two = parse_index(index_of(desc(kHexA, ref("v1")) + "," + desc(kHexB, ref("v2"))), "index.json");
    ASSERT_TRUE(two) << err(two);
    EXPECT_EQ(select_manifest(*two, "v2", "i")->digest.hex, kHexB);
    std::string ambiguous = err(select_manifest(*two, "", "i"));
    EXPECT_NE(ambiguous.find("2 images: choose one with PATH:TAG (tags: v1, v2)"), std::string::npos) << ambiguous;
}

TEST(ImageIndex, MultiPlatformPicksLinuxAmd64) {
    auto idx = parse_index(index_of(desc(kHexA, platform("linux", "arm64")) + "," +
                                    desc(kHexB, platform("linux", "amd64")) + "," +
                                    desc(kHexC, platform("windows", "amd64"))),
                           "index.json");
    ASSERT_TRUE(idx) << err(idx);
    EXPECT_EQ(select_manifest(*idx, "", "i")->digest.hex, kHexB);
    auto arm = parse_index(index_of(desc(kHexA, platform("linux", "arm64")) + "," + desc(kHexC, platform("linux", "s390x"))),
                           "index.json");
    std::string e = err(select_manifest(*arm, "", "i"));
    EXPECT_NE(e.find("no linux/amd64 image (platforms: linux/arm64, linux/s390x)"), std::string::npos) << e;
    // A nested index is recognised by its media type.
    auto nested = parse_index(index_of(desc(kHexA, ref("multi"), "application/vnd.oci.image.index.v1+json")), "i");
    ASSERT_TRUE(nested) << err(nested);
    EXPECT_TRUE(is_index_media_type(select_manifest(*nested, "multi", "i")->media_type));
}

TEST(ImageIndex, BadDocumentsAreOneLine) {
    EXPECT_EQ(err(parse_index("{not json", "index.json")), "index.json: not valid JSON");
    EXPECT_EQ(err(parse_index("[]", "index.json")), "index.json: not a JSON object");
    EXPECT_EQ(err(parse_index(R"({"schemaVersion":1,"manifests":[]})", "index.json")), "index.json: schemaVersion is not 2");
    EXPECT_EQ(err(parse_index(R"({"schemaVersion":2})", "index.json")), "index.json: manifests is not an array");
    EXPECT_NE(err(parse_index(index_of(R"({"digest":"sha256:)" + kHexA + R"("})"), "index.json")).find("no valid size"),
              std::string::npos);
    EXPECT_NE(err(parse_index(index_of(R"({"size":1})"), "index.json")).find("has no digest"), std::string::npos);
    EXPECT_NE(err(parse_index(R"({"schemaVersion":2,"mediaType":"text/plain","manifests":[]})", "index.json"))
                  .find("is not an image index"),
              std::string::npos);
}

std::string manifest_with(const std::string& layer_type, const std::string& config_type =
                                                             "application/vnd.oci.image.config.v1+json") {
    return R"({"schemaVersion":2,"config":)" + desc(kHexA, "", config_type) + R"(,"layers":[)" +
           desc(kHexB, "", layer_type) + "]}";
}

TEST(ImageManifest, LayerAndConfigMediaTypes) {
    for (const char* t : {"application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
                          "application/vnd.oci.image.layer.v1.tar+zstd",
                          "application/vnd.docker.image.rootfs.diff.tar.gzip"}) {
        auto m = parse_manifest(manifest_with(t), "manifest");
        ASSERT_TRUE(m) << t << ": " << err(m);
        EXPECT_EQ(m->layers.size(), 1u);
        EXPECT_EQ(m->layers[0].media_type, t);
        EXPECT_EQ(m->config.digest.hex, kHexA);
    }
    auto docker = parse_manifest(manifest_with("application/vnd.docker.image.rootfs.diff.tar.gzip",
                                               "application/vnd.docker.container.image.v1+json"),
                                 "manifest");
    EXPECT_TRUE(docker) << err(docker);
    std::string bz = err(parse_manifest(manifest_with("application/vnd.oci.image.layer.v1.tar+bzip2"), "manifest"));
    EXPECT_NE(bz.find("unsupported media type 'application/vnd.oci.image.layer.v1.tar+bzip2'"), std::string::npos) << bz;
    std::string artifact = err(parse_manifest(manifest_with("application/vnd.oci.image.layer.v1.tar",
                                                            "application/vnd.example.sbom+json"),
                                              "manifest"));
    EXPECT_NE(artifact.find("is not an image config"), std::string::npos) << artifact;
    EXPECT_EQ(err(parse_manifest(R"({"schemaVersion":2,"layers":[]})", "manifest")), "manifest: no config descriptor");
}

TEST(ImageConfig, RunFieldsAndDiffIds) {
    auto c = parse_config(R"({"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",
        "config":{"Entrypoint":["/bin/ep"],"Cmd":["a","b"],"Env":["A=1"],"WorkingDir":"/w","User":"app:grp"},
        "rootfs":{"type":"layers","diff_ids":["sha256:)" + kHexA + R"("]}})",
                          "config");
    ASSERT_TRUE(c) << err(c);
    EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/bin/ep"});
    EXPECT_EQ(c->cmd, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c->env, std::vector<std::string>{"A=1"});
    EXPECT_EQ(c->working_dir, "/w");
    EXPECT_EQ(c->user, "app:grp");
    EXPECT_EQ(c->created, "2024-01-01T00:00:00Z");
    ASSERT_EQ(c->diff_ids.size(), 1u);
    EXPECT_TRUE(check_platform(*c));
    // null fields are absent ones (docker writes "Entrypoint": null).
    auto n = parse_config(R"({"config":{"Entrypoint":null,"Cmd":null},"rootfs":{"type":"layers","diff_ids":[]}})", "c");
    ASSERT_TRUE(n) << err(n);
    EXPECT_TRUE(n->entrypoint.empty());
}

TEST(ImageConfig, BadConfigsAreOneLine) {
    EXPECT_EQ(err(parse_config(R"({"config":{"Cmd":"sh"},"rootfs":{"type":"layers"}})", "config")),
              "config: Cmd is not an array of strings");
    EXPECT_EQ(err(parse_config(R"({"config":{}})", "config")), "config: no rootfs");
    EXPECT_EQ(err(parse_config(R"({"rootfs":{"type":"snapshot"}})", "config")),
              "config: rootfs.type 'snapshot' is not 'layers'");
    auto arm = parse_config(R"({"os":"linux","architecture":"arm64","rootfs":{"type":"layers"}})", "config");
    ASSERT_TRUE(arm) << err(arm);
    EXPECT_EQ(err(check_platform(*arm)), "image: built for linux/arm64: lightvm runs linux/amd64 programs");
}

TEST(ImageDockerManifest, ParsesAndSelectsByRepoTag) {
    auto images = parse_docker_manifest(R"([{"Config":"c1.json","RepoTags":["busybox:1.36","busybox:latest"],
        "Layers":["l1/layer.tar"]},{"Config":"c2.json","RepoTags":null,"Layers":[]}])");
    ASSERT_TRUE(images) << err(images);
    ASSERT_EQ(images->size(), 2u);
    EXPECT_EQ(select_docker_image(*images, "busybox:latest", "m")->config_path, "c1.json");
    EXPECT_EQ(select_docker_image(*images, "1.36", "m")->config_path, "c1.json");  // the tag part alone
    EXPECT_NE(err(select_docker_image(*images, "", "m")).find("2 images: choose one"), std::string::npos);
    EXPECT_NE(err(select_docker_image(*images, "nope", "m")).find("no image tagged 'nope'"), std::string::npos);
    EXPECT_EQ(err(parse_docker_manifest("{}")), "manifest.json: not a non-empty JSON array");
    EXPECT_EQ(err(parse_docker_manifest(R"([{"RepoTags":[]}])")), "manifest.json: an entry has no Config");
}

ImageConfig config_of(std::vector<std::string> ep, std::vector<std::string> cmd) {
    ImageConfig c;
    c.entrypoint = std::move(ep);
    c.cmd = std::move(cmd);
    c.env = {"PATH=/bin", "A=image", "B=image"};
    c.working_dir = "/srv";
    return c;
}

TEST(ImageRunSettings, DockerRulesForEntrypointCmdEnvAndWorkdir) {
    auto s = run_settings(config_of({"/ep", "x"}, {"c1"}), {});
    ASSERT_TRUE(s) << err(s);
    EXPECT_EQ(s->argv, (std::vector<std::string>{"/ep", "x", "c1"}));
    EXPECT_EQ(s->cwd, "/srv");
    // A trailing CMD replaces Cmd only.
    EXPECT_EQ(run_settings(config_of({"/ep"}, {"c1"}), {std::nullopt, {"mine"}, {}})->argv,
              (std::vector<std::string>{"/ep", "mine"}));
    // --entrypoint replaces Entrypoint and drops the image's Cmd; "" clears it.
    EXPECT_EQ(run_settings(config_of({"/ep"}, {"c1"}), {"/other", {}, {}})->argv, std::vector<std::string>{"/other"});
    EXPECT_EQ(run_settings(config_of({"/ep"}, {"c1"}), {"", {"ls", "-l"}, {}})->argv,
              (std::vector<std::string>{"ls", "-l"}));
    EXPECT_NE(err(run_settings(config_of({}, {}), {})).find("has no Entrypoint or Cmd"), std::string::npos);
    // -e wins over the image's Env, in the image's order.
    auto e = run_settings(config_of({}, {"sh"}), {std::nullopt, {}, {"B=cli", "C=cli"}});
    EXPECT_EQ(e->env, (std::vector<std::string>{"PATH=/bin", "A=image", "B=cli", "C=cli"}));
    // No PATH in the image: docker's default.
    ImageConfig bare;
    bare.cmd = {"sh"};
    bare.working_dir = "rel";
    auto b = run_settings(bare, {});
    EXPECT_EQ(b->env.front(), "PATH=" + std::string(kDefaultPath));
    EXPECT_EQ(b->cwd, "/rel");
}

TEST(ImageRunSettings, UsersFromPasswdAndGroup) {
    const std::string passwd = "root:x:0:0::/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\nbad line\n";
    const std::string group = "root:x:0:\napps:x:1001:\nextra:x:1002:app,other\nmore:x:1003:other,app\nwheel:x:10:root\n";
    auto u = resolve_user("app", passwd, group);
    ASSERT_TRUE(u) << err(u);
    EXPECT_EQ(u->uid, 1000u);
    EXPECT_EQ(u->gid, 1001u);
    EXPECT_EQ(u->groups, (std::vector<uint32_t>{1002, 1003}));
    EXPECT_EQ(resolve_user("1000", passwd, group)->gid, 1001u);  // a number found in passwd: its group
    EXPECT_EQ(resolve_user("4242", passwd, group)->gid, 0u);     // not found: group 0, as docker
    EXPECT_EQ(resolve_user("app:extra", passwd, group)->gid, 1002u);
    EXPECT_EQ(resolve_user("app:7", passwd, group)->gid, 7u);
    EXPECT_EQ(resolve_user("0:0", "", "")->uid, 0u);
    EXPECT_EQ(err(resolve_user("nobody", passwd, group)), "User: no user 'nobody' in the image's /etc/passwd");
    EXPECT_EQ(err(resolve_user("app:nogroup", passwd, group)), "User: no group 'nogroup' in the image's /etc/group");
    EXPECT_EQ(err(resolve_user(":0", passwd, group)), "User: ':0' names no user");
    EXPECT_EQ(home_of(1000, passwd), "/home/app");
    EXPECT_EQ(home_of(0, passwd), "/root");
    EXPECT_EQ(home_of(4242, passwd), "/");
}

}  // namespace

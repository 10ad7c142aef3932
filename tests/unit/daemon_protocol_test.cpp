// lightvmd's request parsing and validation (daemon/protocol.hpp): no KVM,
// no sockets.
#include <gtest/gtest.h>

#include "daemon/protocol.hpp"

namespace lightvm::daemon {
namespace {

std::string error_of(std::string_view body) {
    auto r = parse_create_request(body);
    return r ? std::string("accepted") : r.error().to_string();
}

TEST(DaemonProtocol, FullRequestIsParsed) {
    auto r = parse_create_request(R"({"name":"web-1","app":"/bin/app","args":["a","b c"],"env":["K=V"],
        "memory":"64M","timeout":2.5,"shares":[{"host":"/srv","guest":"/data/../data","ro":true}],
        "disks":[{"path":"/img","ro":false}],"workdir":"/data","hostname":"box","rm":true})");
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->name, "web-1");
    EXPECT_TRUE(r->auto_remove);
    const VmConfig& c = r->config;
    EXPECT_EQ(c.app_path, "/bin/app");
    EXPECT_EQ(c.argv, (std::vector<std::string>{"/bin/app", "a", "b c"}));
    EXPECT_EQ(c.env, std::vector<std::string>{"K=V"});
    EXPECT_EQ(c.mem_size, 64ull << 20);
    EXPECT_DOUBLE_EQ(c.timeout_seconds, 2.5);
    ASSERT_EQ(c.shares.size(), 1u);
    EXPECT_EQ(c.shares[0].guest_path, "/data");
    EXPECT_TRUE(c.shares[0].read_only);
    ASSERT_EQ(c.disks.size(), 1u);
    EXPECT_EQ(c.cwd, "/data");
    EXPECT_EQ(c.hostname, "box");
}

TEST(DaemonProtocol, DefaultsAndByteSizes) {
    auto r = parse_create_request(R"({"app":"/a","memory":33554432})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->config.mem_size, 32ull << 20);
    EXPECT_EQ(r->config.argv, std::vector<std::string>{"/a"});
    EXPECT_EQ(r->name, "");
    EXPECT_FALSE(r->auto_remove);
    // Rounded up to 2 MiB like --mem.
    EXPECT_EQ(parse_create_request(R"({"app":"/a","memory":"17M"})")->config.mem_size, 18ull << 20);
}

TEST(DaemonProtocol, BadRequestsNameTheProblem) {
    EXPECT_EQ(error_of("{"), "request: body is not valid JSON");
    EXPECT_EQ(error_of("[]"), "request: body must be a JSON object");
    EXPECT_EQ(error_of("{}"), "app: missing");
    EXPECT_EQ(error_of(R"({"app":"/a","extra":1})"), "request: unknown field 'extra'");
    EXPECT_EQ(error_of(R"({"app":"a"})"), "app: 'a' must be an absolute path");
    EXPECT_EQ(error_of(R"({"app":7})"), "app: must be a string");
    EXPECT_EQ(error_of(R"({"app":"/a","args":[1]})"), "args: must be an array of strings");
    EXPECT_EQ(error_of(R"({"app":"/a","env":["NOEQUALS"]})"), "env: 'NOEQUALS' is not of the form KEY=VALUE");
    EXPECT_EQ(error_of(R"({"app":"/a","memory":"lots"})").rfind("memory: ", 0), 0u);
    EXPECT_EQ(error_of(R"({"app":"/a","memory":-5})"),
              "memory: must be a size such as \"256M\" or a number of bytes");
    EXPECT_EQ(error_of(R"({"app":"/a","memory":"1M"})"), "memory: 2 MiB is too small (minimum 16 MiB)");
    EXPECT_EQ(parse_create_request(R"({"app":"/a","pids":64})")->config.max_procs, 64u);
    EXPECT_EQ(parse_create_request(R"({"app":"/a"})")->config.max_procs, 1024u);
    EXPECT_EQ(error_of(R"({"app":"/a","pids":0})"), "pids: 0 is out of range (1 to 4096)");
    EXPECT_EQ(error_of(R"({"app":"/a","pids":"many"})"), "pids: must be a number of processes (1 to 4096)");
    EXPECT_EQ(parse_create_request(R"({"app":"/a","cpus":2})")->config.cpus, 2u);
    EXPECT_EQ(parse_create_request(R"({"app":"/a"})")->config.cpus, 1u);
    EXPECT_EQ(error_of(R"({"app":"/a","cpus":9})"), "cpus: 9 is out of range (1 to 8)");
    EXPECT_EQ(error_of(R"({"app":"/a","cpus":-1})"), "cpus: must be a number of vCPUs (1 to 8)");
    EXPECT_EQ(error_of(R"({"restore":"/s","cpus":2})"), "cpus: not with restore: it comes from the snapshot");
    EXPECT_EQ(error_of(R"({"app":"/a","timeout":-1})"), "timeout: must be a number of seconds >= 0");
    EXPECT_EQ(error_of(R"({"app":"/a","rm":"yes"})"), "rm: must be true or false");
    EXPECT_EQ(error_of(R"({"app":"/a","shares":[{"host":"/x","mode":1}]})"), "shares: unknown field 'mode'");
    EXPECT_EQ(error_of(R"({"app":"/a","shares":[{"host":"rel"}]})"), "shares.host: 'rel' must be an absolute path");
    EXPECT_EQ(error_of(R"({"app":"/a","disks":["x"]})"), "disks: entries must be objects {path, ro}");
    EXPECT_EQ(error_of(R"({"app":"/a","workdir":"rel"})").rfind("workdir", 0) == 0 ||
                  error_of(R"({"app":"/a","workdir":"rel"})").find("absolute") != std::string::npos,
              true);
}

// "user": lightvm run --user, through the API and back (config_to_json is
// what the monitor parses).
TEST(DaemonProtocol, UserIsTheGuestsUser) {
    auto r = parse_create_request(R"({"app":"/a","user":{"uid":1000,"gid":100,"groups":[27,4]}})");
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->config.user.uid, 1000u);
    EXPECT_EQ(r->config.user.gid, 100u);
    EXPECT_EQ(r->config.user.groups, (std::vector<uint32_t>{27, 4}));
    auto back = config_from_json(config_to_json(r->config));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->user.uid, 1000u);
    EXPECT_EQ(back->user.groups, (std::vector<uint32_t>{27, 4}));
    EXPECT_EQ(error_of(R"({"app":"/a","user":1000})"), "user: must be an object {\"uid\": N, \"gid\": N, \"groups\": [N]}");
    EXPECT_EQ(error_of(R"({"app":"/a","user":{"name":"bob"}})"), "user: unknown field 'name'");
    EXPECT_EQ(error_of(R"({"app":"/a","user":{"uid":-1}})"), "user.uid: must be a number from 0 to 4294967294");
    EXPECT_EQ(error_of(R"({"app":"/a","user":{"uid":4294967295}})"), "user.uid: must be a number from 0 to 4294967294");
    EXPECT_EQ(error_of(R"({"app":"/a","user":{"groups":[1,2,3,4]}})"), "user: 4 supplementary groups (at most 3)");
    EXPECT_EQ(error_of(R"({"restore":"/s","user":{"uid":1}})"), "user: not with restore: it comes from the snapshot");
}

TEST(DaemonProtocol, Names) {
    EXPECT_TRUE(check_name("a"));
    EXPECT_TRUE(check_name("web_1.prod-2"));
    EXPECT_FALSE(check_name(""));
    EXPECT_FALSE(check_name("-x"));
    EXPECT_FALSE(check_name("../x"));
    EXPECT_FALSE(check_name("a b"));
    EXPECT_FALSE(check_name(std::string(65, 'a')));
    EXPECT_EQ(error_of(R"({"app":"/a","name":"a/b"})"), "name: 'a/b' may only hold letters, digits, '_', '.', '-'");
}

TEST(DaemonProtocol, OversizedBodyIsRefusedBeforeParsing) {
    std::string big = R"({"app":"/a","args":[")" + std::string(kMaxBodyBytes, 'x') + R"("]})";
    EXPECT_EQ(error_of(big), "request: body larger than 65536 bytes");
}

TEST(DaemonProtocol, ConfigRoundTripsToTheMonitor) {
    auto r = parse_create_request(R"({"app":"/bin/app","args":["x"],"env":["A=1"],"memory":"32M",
        "shares":[{"host":"/srv","guest":"/s","ro":true}],"disks":[{"path":"/d","ro":true}],"workdir":"/s",
        "pids":99,"cpus":3})");
    ASSERT_TRUE(r);
    auto back = config_from_json(config_to_json(r->config));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->app_path, r->config.app_path);
    EXPECT_EQ(back->argv, r->config.argv);
    EXPECT_EQ(back->env, r->config.env);
    EXPECT_EQ(back->mem_size, r->config.mem_size);
    ASSERT_EQ(back->shares.size(), 1u);
    EXPECT_EQ(back->shares[0].guest_path, "/s");
    EXPECT_TRUE(back->shares[0].read_only);
    ASSERT_EQ(back->disks.size(), 1u);
    EXPECT_TRUE(back->disks[0].read_only);
    EXPECT_EQ(back->cwd, "/s");
    EXPECT_EQ(back->max_procs, 99u);
    EXPECT_EQ(back->cpus, 3u);
}

// net, publish, dns, tmpfs: the texts of lightvm run's flags, through the
// API to the monitor and back unchanged; and the flags' texts that
// `lightvm run -d` sends parse back into the same values.
TEST(DaemonProtocol, NetworkFieldsAreTheFlagsTexts) {
    auto r = parse_create_request(R"({"app":"/a","net":"user","publish":["127.0.0.1:8080:80","[::1]:5353:53/udp"],
        "dns":["192.0.2.53"],"tmpfs":["/run:16M","/scratch"]})");
    ASSERT_TRUE(r) << r.error().to_string();
    const VmConfig& c = r->config;
    EXPECT_EQ(c.net, NetMode::User);
    ASSERT_EQ(c.publish.size(), 2u);
    EXPECT_EQ(c.publish[0].host_ip, "127.0.0.1");
    EXPECT_EQ(c.publish[0].host_port, 8080);
    EXPECT_EQ(c.publish[0].guest_port, 80);
    EXPECT_FALSE(c.publish[0].udp);
    EXPECT_EQ(c.publish[1].host_ip, "::1");
    EXPECT_TRUE(c.publish[1].udp);
    EXPECT_EQ(c.dns, std::vector<std::string>{"192.0.2.53"});
    ASSERT_EQ(c.tmpfs.size(), 2u);
    EXPECT_EQ(c.tmpfs[0].size, 16ull << 20);
    for (const auto& p : c.publish)
        EXPECT_EQ(parse_publish(publish_text(p))->host_ip, p.host_ip) << publish_text(p);
    EXPECT_EQ(publish_text(c.publish[1]), "[::1]:5353:53/udp");
    EXPECT_EQ(parse_tmpfs(tmpfs_text(c.tmpfs[0]))->size, c.tmpfs[0].size);

    auto back = config_from_json(config_to_json(c));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->net, NetMode::User);
    ASSERT_EQ(back->publish.size(), 2u);
    EXPECT_EQ(back->publish[1].host_ip, "::1");
    EXPECT_EQ(back->publish[1].host_port, 5353);
    EXPECT_EQ(back->publish[1].guest_port, 53);
    EXPECT_TRUE(back->publish[1].udp);
    EXPECT_EQ(back->dns, c.dns);
    ASSERT_EQ(back->tmpfs.size(), 2u);
    EXPECT_EQ(back->tmpfs[1].guest_path, "/scratch");

    auto ns = parse_create_request(R"({"app":"/a","net":"ns:/run/netns/x"})");
    ASSERT_TRUE(ns);
    EXPECT_EQ(config_from_json(config_to_json(ns->config))->netns_path, "/run/netns/x");
}

TEST(DaemonProtocol, BadNetworkFieldsNameTheField) {
    auto bad = [](const char* body) {
        auto r = parse_create_request(body);
        EXPECT_FALSE(r) << body;
        return r ? std::string() : r.error().to_string();
    };
    EXPECT_NE(bad(R"({"app":"/a","net":"wifi"})").find("net: unknown mode 'wifi'"), std::string::npos);
    EXPECT_NE(bad(R"({"app":"/a","publish":["80"]})").find("publish"), std::string::npos);
    EXPECT_NE(bad(R"({"app":"/a","publish":"8080:80"})").find("publish"), std::string::npos);
    EXPECT_NE(bad(R"({"app":"/a","dns":["1.1.1.1","1.0.0.1","8.8.8.8","9.9.9.9"]})").find("dns"), std::string::npos);
    EXPECT_NE(bad(R"({"app":"/a","tmpfs":["relative"]})").find("tmpfs"), std::string::npos);
    EXPECT_NE(bad(R"({"restore":"/s","publish":["8080:80"]})").find("publish: not with restore"), std::string::npos);
}

// A share's "owner" (lightvm run --fs DIR:GUEST:mapped): through the API,
// to the monitor and back; passthrough when absent.
TEST(DaemonProtocol, ShareOwnerRoundTrips) {
    auto r = parse_create_request(R"({"app":"/a","shares":[{"host":"/srv","guest":"/s","owner":"mapped"},
        {"host":"/p","guest":"/p","ro":true,"owner":"passthrough"},{"host":"/q"}]})");
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->config.shares.size(), 3u);
    EXPECT_EQ(r->config.shares[0].owner, ShareOwner::Mapped);
    EXPECT_EQ(r->config.shares[1].owner, ShareOwner::Passthrough);
    EXPECT_EQ(r->config.shares[2].owner, ShareOwner::Passthrough);
    json sent = config_to_json(r->config);
    EXPECT_EQ(sent["shares"][0]["owner"], "mapped");
    EXPECT_EQ(sent["shares"][1]["owner"], "passthrough");
    auto back = config_from_json(sent);
    ASSERT_TRUE(back) << back.error().to_string();
    ASSERT_EQ(back->shares.size(), 3u);
    EXPECT_EQ(back->shares[0].owner, ShareOwner::Mapped);
    EXPECT_FALSE(back->shares[0].read_only);
    EXPECT_EQ(back->shares[1].owner, ShareOwner::Passthrough);
    EXPECT_TRUE(back->shares[1].read_only);
    EXPECT_EQ(back->shares[2].owner, ShareOwner::Passthrough);
    EXPECT_EQ(error_of(R"({"app":"/a","shares":[{"host":"/s","owner":"xattr"}]})"),
              "shares.owner: must be \"passthrough\" or \"mapped\"");
    EXPECT_EQ(error_of(R"({"app":"/a","shares":[{"host":"/s","owner":true}]})"),
              "shares.owner: must be \"passthrough\" or \"mapped\"");
    EXPECT_EQ(error_of(R"({"app":"/a","shares":[{"host":"/s","own":"mapped"}]})"), "shares: unknown field 'own'");
}

TEST(DaemonProtocol, RestoreRequests) {
    auto r = parse_create_request(R"({"restore":"/snaps/web","name":"web-2","rm":true,"prefault":true,"timeout":5})");
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->config.restore_path, "/snaps/web");
    EXPECT_TRUE(r->config.restore_prefault);
    EXPECT_EQ(r->config.timeout_seconds, 5);
    EXPECT_EQ(r->name, "web-2");
    EXPECT_TRUE(r->auto_remove);
    auto back = config_from_json(config_to_json(r->config));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->restore_path, "/snaps/web");
    EXPECT_TRUE(back->restore_prefault);
    // What the snapshot decides cannot be asked for.
    EXPECT_EQ(error_of(R"({"restore":"/s","app":"/a"})"), "app: not with restore: it comes from the snapshot");
    EXPECT_EQ(error_of(R"({"restore":"/s","memory":"64M"})"), "memory: not with restore: it comes from the snapshot");
    EXPECT_EQ(error_of(R"({"restore":"/s","shares":[]})"), "shares: not with restore: it comes from the snapshot");
    EXPECT_EQ(error_of(R"({"restore":"rel"})"), "restore: 'rel' must be an absolute path");
    EXPECT_EQ(error_of(R"({"restore":1})"), "restore: must be a string");
    EXPECT_EQ(error_of(R"({"restore":"/s","prefault":"yes"})"), "prefault: must be true or false");
    EXPECT_EQ(error_of(R"({"app":"/a","prefault":true})"), "prefault: only with restore");
    EXPECT_EQ(error_of(R"({"restore":"/s","timeout":-1})"), "timeout: must be a number of seconds >= 0");
}

// "image": parsed here, applied by the daemon (daemon/images.cpp): the
// overrides are kept apart from the config, and what cannot go with an
// image is refused with the field's name.
TEST(DaemonProtocol, ImageRequests) {
    auto r = parse_create_request(
        R"({"image":"busy:1","args":["echo","hi"],"entrypoint":"/bin/sh","read_only":true,"workdir":"/w","env":["A=1"]})");
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_TRUE(r->image);
    EXPECT_EQ(r->image->ref, "busy:1");
    EXPECT_EQ(r->image->cmd, (std::vector<std::string>{"echo", "hi"}));
    EXPECT_EQ(r->image->entrypoint, std::optional<std::string>("/bin/sh"));
    EXPECT_TRUE(r->image->read_only);
    EXPECT_TRUE(r->image->workdir_given);
    EXPECT_FALSE(r->image->user_given);
    EXPECT_EQ(r->config.env, (std::vector<std::string>{"A=1"}));
    EXPECT_TRUE(r->config.argv.empty());  // the image names the program
    EXPECT_EQ(error_of(R"({"image":"b","app":"/a"})"), "app: not with image: the image names the program (entrypoint, args)");
    EXPECT_EQ(error_of(R"({"image":"/x"})"), "image: '/x' is a path: import it first (lightvm image import)");
    EXPECT_EQ(error_of(R"({"image":""})"), "image: must be an image name or ID (lightvm image ls)");
    EXPECT_EQ(error_of(R"({"image":1})"), "image: must be a string");
    EXPECT_EQ(error_of(R"({"image":"b","save":{"path":"/s","at_ready":true}})"), "save: not with image");
    EXPECT_EQ(error_of(R"({"app":"/a","read_only":true})"), "read_only: only with image");
    EXPECT_EQ(error_of(R"({"app":"/a","entrypoint":"x"})"), "entrypoint: only with image");
    EXPECT_EQ(error_of(R"({"restore":"/s","image":"b"})"), "image: not with restore: it comes from the snapshot");
    EXPECT_EQ(error_of(R"({"image":"b","shares":[{"host":"/d","guest":"/"}]})"),
              "shares: not at / with image (the image is the root file system)");
    // What the daemon keeps of it survives vm.json.
    ImageRequest kept = *r->image;
    kept.id = std::string(64, 'a');
    kept.root = "/cache/roots/sha256/" + kept.id + "/rootfs";
    auto back = image_from_json(image_to_json(kept));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->id, kept.id);
    EXPECT_EQ(back->root, kept.root);
    EXPECT_EQ(back->ref, "busy:1");
    EXPECT_TRUE(back->read_only);
    EXPECT_FALSE(image_from_json(json::object()));
}

TEST(DaemonProtocol, Signals) {
    EXPECT_EQ(parse_signal("KILL"), 9);
    EXPECT_EQ(parse_signal("SIGTERM"), 15);
    EXPECT_EQ(parse_signal("2"), 2);
    EXPECT_EQ(parse_signal("0"), -1);
    EXPECT_EQ(parse_signal("65"), -1);
    EXPECT_EQ(parse_signal("BOGUS"), -1);
    EXPECT_EQ(parse_signal(""), -1);
}

}  // namespace
}  // namespace lightvm::daemon

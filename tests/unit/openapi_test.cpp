// docs/openapi.json and the validator the system tests check daemon
// responses with (tests/support/json_schema.hpp): the validator must reject
// what the spec does not allow, every $ref in the spec must resolve, and the
// JSON the daemon's own serialisers produce must satisfy the spec.
#include <gtest/gtest.h>

#include <fstream>

#include "daemon/protocol.hpp"
#include "support/json_schema.hpp"

namespace lightvm::test {
namespace {

json load_spec() {
    std::ifstream f(LIGHTVM_SOURCE_DIR "/docs/openapi.json");
    return json::parse(f, nullptr, false);
}

std::string check(const json& schema, const json& value) { return validate_schema(json::object(), schema, value); }

TEST(JsonSchema, Types) {
    EXPECT_EQ(check(json{{"type", "integer"}}, 3), "");
    EXPECT_NE(check(json{{"type", "integer"}}, 3.5), "");
    EXPECT_EQ(check(json{{"type", "number"}}, 3), "");
    EXPECT_NE(check(json{{"type", "string"}}, 3), "");
    EXPECT_EQ(check(json{{"type", json::array({"string", "null"})}}, nullptr), "");
    EXPECT_NE(check(json{{"type", "boolean"}}, "true"), "");
}

TEST(JsonSchema, ObjectsRequiredAndExtraProperties) {
    json s = json::parse(R"({"type":"object","required":["id"],"additionalProperties":false,
                             "properties":{"id":{"type":"string","pattern":"^[0-9a-f]{4}$"}}})");
    EXPECT_EQ(check(s, json{{"id", "00af"}}), "");
    EXPECT_NE(check(s, json::object()).find("required property 'id'"), std::string::npos);
    EXPECT_NE(check(s, json{{"id", "00af"}, {"x", 1}}).find("property 'x' is not in the schema"), std::string::npos);
    EXPECT_NE(check(s, json{{"id", "00AFx"}}).find("/id"), std::string::npos);
}

TEST(JsonSchema, ArraysEnumsRangesAndCombinators) {
    json s = json::parse(R"({"type":"array","items":{"enum":["a","b"]}})");
    EXPECT_EQ(check(s, json::array({"a", "b"})), "");
    EXPECT_NE(check(s, json::array({"a", "c"})).find("/1"), std::string::npos);
    EXPECT_NE(check(json{{"minimum", 1}}, 0), "");
    EXPECT_NE(check(json{{"maximum", 255}}, 256), "");
    json one = json::parse(R"({"oneOf":[{"type":"string"},{"type":"integer"}]})");
    EXPECT_EQ(check(one, 5), "");
    EXPECT_NE(check(one, true), "");
    json any = json::parse(R"({"anyOf":[{"type":"integer"},{"type":"number"}]})");
    EXPECT_EQ(check(any, 5), "");
    EXPECT_NE(check(any, "5"), "");
}

TEST(JsonSchema, RefsResolveIntoTheRoot) {
    json root = json::parse(R"({"components":{"schemas":{"N":{"type":"integer"}}}})");
    EXPECT_EQ(validate_schema(root, json{{"$ref", "#/components/schemas/N"}}, 1), "");
    EXPECT_NE(validate_schema(root, json{{"$ref", "#/components/schemas/N"}}, "1"), "");
    EXPECT_NE(validate_schema(root, json{{"$ref", "#/components/schemas/Missing"}}, 1).find("unresolvable"),
              std::string::npos);
}

TEST(OpenApi, SpecLoadsAndEveryRefResolves) {
    json spec = load_spec();
    ASSERT_FALSE(spec.is_discarded()) << "docs/openapi.json is not valid JSON";
    ASSERT_TRUE(spec.contains("paths"));
    std::vector<std::string> refs;
    std::function<void(const json&)> walk = [&](const json& j) {
        if (j.is_object()) {
            if (j.contains("$ref"))
                refs.push_back(j["$ref"]);
            for (const auto& item : j.items())
                walk(item.value());
        } else if (j.is_array()) {
            for (const auto& e : j)
                walk(e);
        }
    };
    walk(spec);
    EXPECT_GT(refs.size(), 20u);
    for (const auto& r : refs) {
        ASSERT_EQ(r.rfind("#/", 0), 0u) << r;
        EXPECT_NO_THROW((void)spec.at(json::json_pointer(r.substr(1)))) << r;
    }
}

TEST(OpenApi, ResponsesAreMatchedByPathMethodStatusAndType) {
    json spec = load_spec();
    EXPECT_EQ(check_response(spec, {"GET", "/v1/version", 200, "application/json", R"({"version":"0.1","api":"v1"})"}), "");
    EXPECT_NE(check_response(spec, {"GET", "/v1/version", 200, "application/json", R"({"version":"0.1"})"}), "");
    EXPECT_EQ(check_response(spec, {"GET", "/v1/vms/abc?x=1", 404, "application/json", R"({"error":"no such VM: abc"})"}), "");
    EXPECT_NE(check_response(spec, {"GET", "/v1/vms/abc", 404, "application/json", R"({"error":"two\nlines"})"}), "");
    EXPECT_NE(check_response(spec, {"GET", "/v1/vms/abc", 418, "application/json", R"({"error":"x"})"}).find("418"),
              std::string::npos);
    EXPECT_NE(check_response(spec, {"PATCH", "/v1/vms/abc", 200, "application/json", "{}"}).find("method"),
              std::string::npos);
    EXPECT_NE(check_response(spec, {"GET", "/v2/nothing", 200, "application/json", "{}"}).find("path"), std::string::npos);
    EXPECT_EQ(check_response(spec, {"GET", "/v1/vms/abc/logs", 200, "text/plain", "hello\n"}), "");
    EXPECT_NE(check_response(spec, {"GET", "/v1/vms/abc/logs", 200, "application/json", "{}"}), "");
}

TEST(OpenApi, TheDaemonsSerialisersSatisfyTheSpec) {
    json spec = load_spec();
    auto req = daemon::parse_create_request(R"({"app":"/bin/app","args":["a"],"memory":"64M",
        "shares":[{"host":"/srv","guest":"/data","ro":true},{"host":"/m","owner":"mapped"}],"disks":[{"path":"/img"}],"hostname":"box"})");
    ASSERT_TRUE(req);
    json config = daemon::config_to_json(req->config);
    EXPECT_EQ(validate_schema(spec, spec["components"]["schemas"]["Config"], config), "");
    RunReport report{};
    report.outcome.status = 0;
    EXPECT_EQ(validate_schema(spec, spec["components"]["schemas"]["VmStats"], daemon::report_to_json(report)["stats"]),
              "");
}

// `lightvm run` through the daemon hands the whole VmConfig over as JSON:
// every run option must survive the trip (a dropped flag would silently
// change what the user asked for).
TEST(OpenApi, ConfigSurvivesTheHandOverToAMonitor) {
    VmConfig c;
    c.app_path = "./app";
    c.argv = {"./app", "x"};
    c.env = {"A=1"};
    c.mem_size = 64ull << 20;
    c.timeout_seconds = 1.5;
    c.shares.push_back(ShareSpec{"data", "/data", true});
    c.shares.push_back(ShareSpec{"mine", "/mine", false, ShareOwner::Mapped});
    c.disks.push_back(DiskSpec{"disk.img", true});
    c.cwd = "/data";
    c.hostname = "box";
    c.trace = c.stats = c.overcommit = c.no_aslr = true;
    c.max_procs = 77;
    auto valid = validate(c);
    ASSERT_TRUE(valid) << valid.error().to_string();
    auto back = daemon::config_from_json(daemon::config_to_json(*valid));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->app_path, "./app");
    EXPECT_EQ(back->argv, valid->argv);
    EXPECT_EQ(back->env, valid->env);
    EXPECT_EQ(back->mem_size, valid->mem_size);
    EXPECT_DOUBLE_EQ(back->timeout_seconds, 1.5);
    ASSERT_EQ(back->shares.size(), 2u);
    EXPECT_EQ(back->shares[0].host_path, "data");
    EXPECT_TRUE(back->shares[0].read_only);
    EXPECT_EQ(back->shares[0].owner, ShareOwner::Passthrough);
    EXPECT_EQ(back->shares[1].owner, ShareOwner::Mapped);
    ASSERT_EQ(back->disks.size(), 1u);
    EXPECT_TRUE(back->disks[0].read_only);
    EXPECT_EQ(back->cwd, "/data");
    EXPECT_EQ(back->hostname, "box");
    EXPECT_TRUE(back->trace && back->stats && back->overcommit && back->no_aslr);
    EXPECT_EQ(back->max_procs, 77u);
}

}  // namespace
}  // namespace lightvm::test

// openapi_check SPEC METHOD TARGET STATUS CONTENT_TYPE BODY_FILE
// openapi_check --list-operations SPEC
// Exit 0 when the response is one docs/openapi.json describes; else prints
// one line naming the mismatch and exits 1 (2: bad usage or unreadable files).
#include <cstdio>
#include <fstream>
#include <string>
#include <sstream>

#include "support/json_schema.hpp"

int main(int argc, char** argv) {
    // --list-operations SPEC: "METHOD /path" for every documented operation.
    if (argc == 3 && std::string(argv[1]) == "--list-operations") {
        std::ifstream f(argv[2]);
        auto spec = nlohmann::json::parse(f, nullptr, false);
        if (spec.is_discarded() || !spec.contains("paths"))
            return 2;
        for (const auto& path : spec["paths"].items())
            for (const auto& op : path.value().items()) {
                if (op.key() == "parameters")
                    continue;
                std::string m = op.key();
                for (auto& c : m)
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                std::printf("%s %s\n", m.c_str(), path.key().c_str());
            }
        return 0;
    }
    if (argc != 7) {
        std::fprintf(stderr, "usage: openapi_check SPEC METHOD TARGET STATUS CONTENT_TYPE BODY_FILE\n");
        return 2;
    }
    std::ifstream spec_file(argv[1]), body_file(argv[6]);
    if (!spec_file || !body_file) {
        std::fprintf(stderr, "openapi_check: cannot read %s\n", !spec_file ? argv[1] : argv[6]);
        return 2;
    }
    auto spec = nlohmann::json::parse(spec_file, nullptr, false);
    if (spec.is_discarded()) {
        std::fprintf(stderr, "openapi_check: %s is not valid JSON\n", argv[1]);
        return 2;
    }
    std::stringstream body;
    body << body_file.rdbuf();
    lightvm::test::HttpAnswer a{argv[2], argv[3], std::atoi(argv[4]), argv[5], body.str()};
    auto error = lightvm::test::check_response(spec, a);
    if (error.empty())
        return 0;
    std::printf("%s\n", error.c_str());
    return 1;
}

// A small JSON Schema validator for the tests: the subset docs/openapi.json
// uses (type, enum, const, properties, required, additionalProperties,
// items, oneOf, anyOf, minimum, maximum, pattern, $ref into the same
// document), and the lookup of a response's schema in an OpenAPI 3.1
// document. The system tests run every daemon response through it, so the
// spec and the daemon cannot drift apart unnoticed.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace lightvm::test {

using nlohmann::json;

// "" when `value` satisfies `schema`; else one line: where (a JSON pointer
// into the value) and why. `root` is the document "$ref"s point into.
std::string validate_schema(const json& root, const json& schema, const json& value, const std::string& where = "");

struct HttpAnswer {
    std::string method;        // GET, POST, ...
    std::string target;        // path with an optional ?query (ignored)
    int status = 0;
    std::string content_type;  // "application/json; ..." etc.
    std::string body;
};

// "" when the answer is one the OpenAPI document describes: the path
// matches a template, the method and status are listed, the content type
// is the documented one and a JSON body satisfies its schema.
std::string check_response(const json& openapi, const HttpAnswer& answer);

}  // namespace lightvm::test

#include "support/json_schema.hpp"

#include <regex>

namespace lightvm::test {

namespace {

bool has_type(const json& v, const std::string& t) {
    if (t == "object")
        return v.is_object();
    if (t == "array")
        return v.is_array();
    if (t == "string")
        return v.is_string();
    if (t == "boolean")
        return v.is_boolean();
    if (t == "null")
        return v.is_null();
    if (t == "integer")
        return v.is_number_integer();
    if (t == "number")
        return v.is_number();
    return false;
}

// "#/components/schemas/VM" -> that node of root.
const json* resolve(const json& root, const std::string& ref) {
    if (ref.rfind("#/", 0) != 0)
        return nullptr;
    try {
        return &root.at(json::json_pointer(ref.substr(1)));
    } catch (const json::exception&) {
        return nullptr;
    }
}

std::string short_dump(const json& v) {
    std::string s = v.dump();
    return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

}  // namespace

std::string validate_schema(const json& root, const json& schema, const json& value, const std::string& where) {
    const std::string at = where.empty() ? "/" : where;
    if (schema.is_boolean())
        return schema.get<bool>() ? "" : at + ": no value allowed here";
    if (!schema.is_object())
        return at + ": schema is not an object";
    if (auto it = schema.find("$ref"); it != schema.end()) {
        const json* target = it->is_string() ? resolve(root, it->get<std::string>()) : nullptr;
        if (!target)
            return at + ": unresolvable $ref " + short_dump(*it);
        if (auto e = validate_schema(root, *target, value, where); !e.empty())
            return e;
    }
    if (auto it = schema.find("type"); it != schema.end()) {
        bool ok = false;
        if (it->is_string())
            ok = has_type(value, it->get<std::string>());
        else
            for (const auto& t : *it)
                ok = ok || has_type(value, t.get<std::string>());
        if (!ok)
            return at + ": " + short_dump(value) + " is not of type " + it->dump();
    }
    if (auto it = schema.find("enum"); it != schema.end()) {
        bool ok = false;
        for (const auto& e : *it)
            ok = ok || e == value;
        if (!ok)
            return at + ": " + short_dump(value) + " is not one of " + it->dump();
    }
    if (auto it = schema.find("const"); it != schema.end() && *it != value)
        return at + ": " + short_dump(value) + " is not " + it->dump();
    if (value.is_number()) {
        if (auto it = schema.find("minimum"); it != schema.end() && value.get<double>() < it->get<double>())
            return at + ": " + value.dump() + " is below the minimum " + it->dump();
        if (auto it = schema.find("maximum"); it != schema.end() && value.get<double>() > it->get<double>())
            return at + ": " + value.dump() + " is above the maximum " + it->dump();
    }
    if (value.is_string()) {
        if (auto it = schema.find("pattern"); it != schema.end() &&
                                              !std::regex_search(value.get<std::string>(), std::regex(it->get<std::string>())))
            return at + ": " + short_dump(value) + " does not match " + it->get<std::string>();
    }
    if (value.is_object()) {
        const json no_props = json::object();
        const json& props = schema.contains("properties") ? schema["properties"] : no_props;
        if (auto it = schema.find("required"); it != schema.end())
            for (const auto& name : *it)
                if (!value.contains(name.get<std::string>()))
                    return at + ": required property '" + name.get<std::string>() + "' is missing";
        for (const auto& item : value.items()) {
            const std::string child = where + "/" + item.key();
            if (auto p = props.find(item.key()); p != props.end()) {
                if (auto e = validate_schema(root, *p, item.value(), child); !e.empty())
                    return e;
            } else if (auto extra = schema.find("additionalProperties"); extra != schema.end()) {
                if (extra->is_boolean() && !extra->get<bool>())
                    return at + ": property '" + item.key() + "' is not in the schema";
                if (auto e = validate_schema(root, *extra, item.value(), child); !e.empty())
                    return e;
            }
        }
    }
    if (value.is_array()) {
        if (auto it = schema.find("items"); it != schema.end())
            for (size_t i = 0; i < value.size(); ++i)
                if (auto e = validate_schema(root, *it, value[i], where + "/" + std::to_string(i)); !e.empty())
                    return e;
    }
    if (auto it = schema.find("oneOf"); it != schema.end()) {
        int matches = 0;
        std::string first_error;
        for (const auto& s : *it) {
            auto e = validate_schema(root, s, value, where);
            if (e.empty())
                matches++;
            else if (first_error.empty())
                first_error = e;
        }
        if (matches != 1)
            return at + ": matches " + std::to_string(matches) + " of oneOf" + (matches ? "" : " (" + first_error + ")");
    }
    if (auto it = schema.find("anyOf"); it != schema.end()) {
        std::string first_error;
        for (const auto& s : *it) {
            auto e = validate_schema(root, s, value, where);
            if (e.empty())
                return "";
            if (first_error.empty())
                first_error = e;
        }
        return at + ": matches none of anyOf (" + first_error + ")";
    }
    return "";
}

namespace {

// "/v1/vms/{ref}/logs" matches "/v1/vms/abc/logs"; "{x}" is one segment.
bool path_matches(const std::string& tmpl, const std::string& path) {
    size_t i = 0, j = 0;
    while (i < tmpl.size() && j < path.size()) {
        if (tmpl[i] == '{') {
            i = tmpl.find('}', i);
            if (i == std::string::npos)
                return false;
            ++i;
            size_t end = path.find('/', j);
            if (end == j)
                return false;
            j = end == std::string::npos ? path.size() : end;
            continue;
        }
        if (tmpl[i++] != path[j++])
            return false;
    }
    return i == tmpl.size() && j == path.size();
}

// Literal templates first, so "/v1/vms/{ref}" never shadows a fixed path.
const json* find_path(const json& paths, const std::string& path) {
    if (auto it = paths.find(path); it != paths.end())
        return &*it;
    for (const auto& item : paths.items())
        if (path_matches(item.key(), path))
            return &item.value();
    return nullptr;
}

}  // namespace

std::string check_response(const json& openapi, const HttpAnswer& a) {
    std::string path = a.target.substr(0, a.target.find('?'));
    const json* item = openapi.contains("paths") ? find_path(openapi["paths"], path) : nullptr;
    if (!item) {
        // An unknown endpoint may only be answered with a 404 Error.
        const json* error = resolve(openapi, "#/components/schemas/Error");
        json body = json::parse(a.body, nullptr, false);
        if (a.status == 404 && error && !body.is_discarded() && validate_schema(openapi, *error, body).empty())
            return "";
        return path + ": path not in the OpenAPI document";
    }
    std::string method = a.method;
    for (auto& c : method)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto op = item->find(method);
    if (op == item->end())
        return a.method + " " + path + ": method not in the OpenAPI document";
    const json& responses = (*op)["responses"];
    auto res = responses.find(std::to_string(a.status));
    if (res == responses.end())
        res = responses.find("default");
    if (res == responses.end())
        return a.method + " " + path + ": status " + std::to_string(a.status) + " not documented";
    const json* response = &*res;
    if (response->contains("$ref")) {
        response = resolve(openapi, (*response)["$ref"].get<std::string>());
        if (!response)
            return a.method + " " + path + ": unresolvable response $ref";
    }
    if (!response->contains("content"))
        return a.body.empty() ? "" : a.method + " " + path + ": a body where none is documented";
    std::string type = a.content_type.substr(0, a.content_type.find(';'));
    auto media = (*response)["content"].find(type);
    if (media == (*response)["content"].end())
        return a.method + " " + path + " " + std::to_string(a.status) + ": content type '" + type + "' not documented";
    if (type != "application/json" || !media->contains("schema"))
        return "";
    json body = json::parse(a.body, nullptr, false);
    if (body.is_discarded())
        return a.method + " " + path + " " + std::to_string(a.status) + ": body is not JSON";
    auto e = validate_schema(openapi, (*media)["schema"], body);
    return e.empty() ? "" : a.method + " " + path + " " + std::to_string(a.status) + ": " + e;
}

}  // namespace lightvm::test

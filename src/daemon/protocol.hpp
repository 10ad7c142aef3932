// The daemon's wire formats, without KVM or sockets so unit tests cover
// them: the JSON body of POST /v1/vms (strictly validated: unknown fields,
// wrong types and bad values are rejected with one line naming the field)
// and VmConfig <-> JSON for the daemon -> monitor hand-over.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "monitor/config.hpp"
#include "monitor/run_report.hpp"

namespace lightvm::daemon {

using nlohmann::json;

inline constexpr size_t kMaxBodyBytes = 64 * 1024;  // larger requests: 413
inline constexpr size_t kMaxNameLength = 64;

// "image": a VM whose root, program, environment, working directory and
// user come from an image of lightvmd's image cache (daemon/images.cpp
// resolves it; `lightvm run --image` rules). The request's pieces, then
// what the daemon resolved.
struct ImageRequest {
    std::string ref;                        // a name, an ID or a unique ID prefix
    std::optional<std::string> entrypoint;  // replaces the image's Entrypoint (and drops its Cmd)
    std::vector<std::string> cmd;           // "args": replaces the image's Cmd
    bool read_only = false;                 // no writable layer
    bool workdir_given = false, user_given = false;
    // Resolved: the image's ID (64 hex digits) and its cached root.
    std::string id, root;
};

struct CreateRequest {
    std::string name;         // optional, unique; [A-Za-z0-9][A-Za-z0-9_.-]*
    bool auto_remove = false; // --rm: delete when it exits
    VmConfig config;          // validated
    // "save": the VM saves itself into save_path and save_path.mem, at its
    // ready mark or after a time (config.save says which, and whether it
    // stops after); lightvmd renames the files into place.
    std::string save_path;
    std::optional<ImageRequest> image;  // config is validated once it is resolved
};

// Parses and validates a create request body. Paths must be absolute (the
// daemon has no idea of the client's working directory).
// With "image", the config is returned unvalidated: the daemon applies
// the image and then calls validated().
Result<CreateRequest> parse_create_request(std::string_view body);
// The config checked as `lightvm run` checks it (errors name API fields).
Result<CreateRequest> validated(CreateRequest req);

// VmConfig as the daemon hands it to a monitor, and back.
json config_to_json(const VmConfig& c);
Result<VmConfig> config_from_json(const json& j);

// A finished VM's report as the monitor sends it.
json report_to_json(const RunReport& r);

// The "image" part of a VM as the daemon keeps it (vm.json, inspect), and back.
json image_to_json(const ImageRequest& image);
std::optional<ImageRequest> image_from_json(const json& j);

// Signal by name ("KILL", "SIGTERM") or number (1-64); -1 if unknown.
int parse_signal(std::string_view text);

// Valid VM name?
Result<void> check_name(std::string_view name);

// Strict helpers shared by the parsers: error if j has a key not in `allowed`.
Result<void> reject_unknown_fields(const json& j, std::initializer_list<const char*> allowed, const char* what);

}  // namespace lightvm::daemon

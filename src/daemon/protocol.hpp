// The daemon's wire formats, without KVM or sockets so unit tests cover
// them: the JSON body of POST /v1/vms (strictly validated: unknown fields,
// wrong types and bad values are rejected with one line naming the field)
// and VmConfig <-> JSON for the daemon -> monitor hand-over.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "common/result.hpp"
#include "monitor/config.hpp"
#include "monitor/run_report.hpp"

namespace lightvm::daemon {

using nlohmann::json;

inline constexpr size_t kMaxBodyBytes = 64 * 1024;  // larger requests: 413
inline constexpr size_t kMaxNameLength = 64;

struct CreateRequest {
    std::string name;         // optional, unique; [A-Za-z0-9][A-Za-z0-9_.-]*
    bool auto_remove = false; // --rm: delete when it exits
    VmConfig config;          // validated
    // "save": the VM saves itself into save_path and save_path.mem, at its
    // ready mark or after a time (config.save says which, and whether it
    // stops after); lightvmd renames the files into place.
    std::string save_path;
};

// Parses and validates a create request body. Paths must be absolute (the
// daemon has no idea of the client's working directory).
Result<CreateRequest> parse_create_request(std::string_view body);

// VmConfig as the daemon hands it to a monitor, and back.
json config_to_json(const VmConfig& c);
Result<VmConfig> config_from_json(const json& j);

// A finished VM's report as the monitor sends it.
json report_to_json(const RunReport& r);

// Signal by name ("KILL", "SIGTERM") or number (1-64); -1 if unknown.
int parse_signal(std::string_view text);

// Valid VM name?
Result<void> check_name(std::string_view name);

// Strict helpers shared by the parsers: error if j has a key not in `allowed`.
Result<void> reject_unknown_fields(const json& j, std::initializer_list<const char*> allowed, const char* what);

}  // namespace lightvm::daemon

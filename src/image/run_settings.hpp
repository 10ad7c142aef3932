// How a VM runs an image, docker's rules: the config's Entrypoint and Cmd
// (overridden by --entrypoint and a trailing CMD; --entrypoint also drops
// the image's Cmd), Env merged under -e, WorkingDir unless -w, User unless
// -u (names looked up in the image's /etc/passwd and /etc/group, as runc
// does). Pure: the files' texts are passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "image/manifest.hpp"

namespace lightvm::image {

struct RunOverrides {
    std::optional<std::string> entrypoint;  // --entrypoint ("" clears the image's)
    std::vector<std::string> cmd;           // after IMAGE on the command line
    std::vector<std::string> env;           // -e K=V, in order
};

struct RunSettings {
    std::vector<std::string> argv;  // argv[0] is the program, resolved through PATH later
    std::vector<std::string> env;
    std::string cwd;                // absolute; "/" when the image names none
};

// The PATH a container gets when its image sets none (docker's).
inline constexpr std::string_view kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Result<RunSettings> run_settings(const ImageConfig& config, const RunOverrides& overrides);

struct ResolvedUser {
    uint32_t uid = 0, gid = 0;
    std::vector<uint32_t> groups;  // supplementary, from /etc/group
};

// "USER[:GROUP]", each a name or a number. A numeric user missing from
// passwd gets group 0; a name that is missing is an error.
Result<ResolvedUser> resolve_user(std::string_view spec, std::string_view passwd, std::string_view group);

// The HOME a container gets when its environment names none, as runc sets
// it: the user's home directory in passwd, else "/".
std::string home_of(uint32_t uid, std::string_view passwd);

}  // namespace lightvm::image

// A program named as a container runtime names it, found inside a root
// directory: a name with a '/' relative to the working directory, a bare
// name searched in PATH (`default_path` when the environment has none).
// Symlinks resolve inside the root (openat2 RESOLVE_IN_ROOT), so an image
// cannot make lightvm load a host file. Shared by lightvm-oci and
// `lightvm run --image`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lightvm {

struct ProgramInRoot {
    int fd = -1;             // O_RDONLY|O_CLOEXEC, owned by the caller
    std::string guest_path;  // where the guest sees it (its /proc/self/exe)
};

// NotFound ("'NAME' not found (searched PATH)") when nothing executable matches.
Result<ProgramInRoot> find_program_in_root(const std::string& root, const std::string& name, const std::string& cwd,
                                           const std::vector<std::string>& env, std::string_view default_path);

}  // namespace lightvm

// OCI hooks, run on the host (the container's "namespace" is a VM, which
// has no place to run a host program): the state JSON on stdin, the hook's
// args and env, killed at its timeout.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "oci/spec.hpp"

namespace lightvm::oci {

// Runs each hook in order; the first that fails (non-zero, killed, timed
// out, cannot be executed) is the error, naming `point` ("prestart").
Result<void> run_hooks(const std::vector<Hook>& hooks, const char* point, const std::string& state);

}  // namespace lightvm::oci

// The exit status lightvm reports for its own errors, shared by `lightvm
// run` and the daemon's monitors (125/126/127 like env(1) and docker).
#pragma once

#include "common/result.hpp"

namespace lightvm {

inline int exit_code_for(const Error& e) {
    // 126/127 describe APP; problems with --fs/--disk/... resources are ours.
    if (e.where.rfind("--", 0) == 0)
        return 125;
    switch (e.kind) {
    case ErrorKind::NotFound:
        return 127;
    case ErrorKind::BadExecutable:
        return 126;
    default:
        return 125;
    }
}

}  // namespace lightvm

// Where lightvmd listens and keeps state by default; the CLI uses the same
// rule to find it ($LIGHTVM_SOCKET overrides).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace lightvm::daemon {

inline std::string default_socket_path() {
    if (const char* env = std::getenv("LIGHTVM_SOCKET"); env && *env)
        return env;
    if (::geteuid() == 0)
        return "/run/lightvm/lightvmd.sock";
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    return std::string(xdg && *xdg ? xdg : "/tmp") + "/lightvm-" + std::to_string(::geteuid()) + "/lightvmd.sock";
}

// `lightvm run` through the daemon uses a second socket beside the REST
// one: SOCK_SEQPACKET, so the caller's stdio can travel with SCM_RIGHTS.
inline std::string run_socket_path(const std::string& api_socket) { return api_socket + ".run"; }

inline std::string default_state_dir() {
    if (::geteuid() == 0)
        return "/run/lightvm";
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    return std::string(xdg && *xdg ? xdg : "/tmp") + "/lightvm-" + std::to_string(::geteuid());
}

}  // namespace lightvm::daemon

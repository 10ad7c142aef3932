// TCP for live migration (docs/migration.md): "HOST:PORT" endpoints, the
// source's connect and the target's listener. Every connection gets
// timeouts, so a silent peer ends a migration instead of hanging it.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace lightvm::daemon {

struct Endpoint {
    std::string host;  // a name or an address; IPv6 literals without brackets
    uint16_t port = 0;
};
// "127.0.0.1:7070", "[::1]:7070", "host.example:7070". One line on error.
Result<Endpoint> parse_endpoint(const std::string& text);

// Seconds a migration waits for its peer on any one read or write.
inline constexpr int kMigrationIoTimeout = 30;

Result<UniqueFd> connect_endpoint(const Endpoint& to, int timeout_ms = 5000);
Result<UniqueFd> listen_endpoint(const Endpoint& at);
// After accept/connect: blocking, TCP_NODELAY, send/receive timeouts.
void prepare_migration_socket(int fd);

}  // namespace lightvm::daemon

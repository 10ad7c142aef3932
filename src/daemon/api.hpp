// lightvmd's REST API (docs/api.md) on an httplib server: routes, JSON
// errors with the right status, request limits.
#pragma once

#include <httplib.h>

#include "daemon/daemon.hpp"

namespace lightvm::daemon {

void install_routes(httplib::Server& server, Daemon& daemon);

}  // namespace lightvm::daemon

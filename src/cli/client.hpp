// A small HTTP/1.1 client for lightvmd's Unix socket: enough for the CLI
// (one request per connection, Content-Length or chunked bodies, streamed
// for `logs -f`). Kept out of the `lightvm run` path's dependencies.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lightvm::cli {

struct HttpResponse {
    int status = 0;
    std::string body;  // empty when streamed to on_data
};

// method target [body]: sends one request and reads the whole response.
// on_data, if set, receives the body piece by piece as it arrives.
Result<HttpResponse> http_request(const std::string& socket_path, std::string_view method, std::string_view target,
                                  std::string_view body = {},
                                  const std::function<bool(std::string_view)>& on_data = {});

// Percent-encodes a path segment or query value.
std::string url_encode(std::string_view s);

}  // namespace lightvm::cli

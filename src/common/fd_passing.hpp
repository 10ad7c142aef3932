// One message with file descriptors attached (SCM_RIGHTS), the way every
// part of lightvm hands fds to another process: lightvmd to its monitors,
// lightvm-oci to the shim's console socket and to a VM's exec channel.
#pragma once

#include <span>
#include <string_view>

#include "common/result.hpp"

namespace lightvm {

// sendmsg(2) of `bytes` with `fds` (at most 16) attached; EINTR retried,
// no SIGPIPE. The whole message goes or it is an error naming `what`.
Result<void> send_with_fds(int sock, std::string_view bytes, std::span<const int> fds, const char* what);

}  // namespace lightvm

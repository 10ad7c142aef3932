// --log FILE [--log-format text|json]: where lightvm-oci's warnings and
// errors go besides stderr. containerd's shim passes a JSON log and quotes
// its last error line when a command fails, so errors go to both.
#pragma once

#include <string>

namespace lightvm::oci {

void set_log(const std::string& path, bool json);
void log_warning(const std::string& message);
// One line on stderr ("lightvm-oci: MESSAGE") and the log.
void log_error(const std::string& message);

}  // namespace lightvm::oci

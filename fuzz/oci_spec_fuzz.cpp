// libFuzzer target: lightvm-oci's config.json parser and mapping
// (src/oci/spec.cpp). config.json comes from whoever calls the runtime;
// any bytes must give a ContainerSpec or a one-line error, never a crash.
// Paths it names are only stat()ed.
#include <cstdint>
#include <string>

#include "oci/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto spec = lightvm::oci::parse_spec(text, "/tmp");
    if (!spec && spec.error().to_string().find('\n') != std::string::npos)
        __builtin_trap();  // errors are one line
    return 0;
}

#include "monitor/config.hpp"

#include <cctype>
#include <charconv>

#include "lightvm/abi.h"

namespace lightvm {

Result<uint64_t> parse_size(std::string_view text) {
    auto bad = [&] {
        return make_error(ErrorKind::BadInput, "size",
                          "invalid size '" + std::string(text) + "' (use e.g. 256M, 1G, 65536K)");
    };
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr == text.data())
        return bad();
    std::string suffix(ptr, text.data() + text.size());
    for (char& c : suffix)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    unsigned shift = 0;
    if (suffix.empty() || suffix == "B")
        shift = 0;
    else if (suffix == "K" || suffix == "KB" || suffix == "KIB")
        shift = 10;
    else if (suffix == "M" || suffix == "MB" || suffix == "MIB")
        shift = 20;
    else if (suffix == "G" || suffix == "GB" || suffix == "GIB")
        shift = 30;
    else
        return bad();
    if (value == 0 || value > (UINT64_MAX >> shift))
        return bad();
    return value << shift;
}

Result<VmConfig> validate(VmConfig cfg) {
    using abi::kHugePageSize;
    if (cfg.mem_size > abi::kMaxMemSize)  // before rounding, which could wrap
        return make_error(ErrorKind::BadInput, "--mem",
                          std::to_string(cfg.mem_size >> 20) + " MiB is too large (maximum " +
                              std::to_string(abi::kMaxMemSize >> 30) + " GiB)");
    cfg.mem_size = (cfg.mem_size + kHugePageSize - 1) & ~(kHugePageSize - 1);
    if (cfg.mem_size < abi::kMinMemSize)
        return make_error(ErrorKind::BadInput, "--mem",
                          std::to_string(cfg.mem_size >> 20) + " MiB is too small (minimum " +
                              std::to_string(abi::kMinMemSize >> 20) + " MiB)");
    if (cfg.mem_size > abi::kMaxMemSize)
        return make_error(ErrorKind::BadInput, "--mem",
                          std::to_string(cfg.mem_size >> 20) + " MiB is too large (maximum " +
                              std::to_string(abi::kMaxMemSize >> 30) + " GiB)");
    if (cfg.timeout_seconds < 0)
        return make_error(ErrorKind::BadInput, "--timeout", "must not be negative");
    if (cfg.argv.empty())
        cfg.argv.push_back(cfg.app_path);
    for (const auto& e : cfg.env)
        if (e.find('=') == std::string::npos || e.front() == '=')
            return make_error(ErrorKind::BadInput, "--env", "'" + e + "' is not of the form KEY=VALUE");
    if (cfg.hostname.size() > 64)
        return make_error(ErrorKind::BadInput, "hostname", "longer than 64 bytes");
    return cfg;
}

}  // namespace lightvm

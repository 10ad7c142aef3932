#include "image/digest.hpp"

namespace lightvm::image {

bool is_sha256_hex(std::string_view text) {
    if (text.size() != 64)
        return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

Result<Digest> parse_digest(std::string_view text, std::string_view what) {
    size_t colon = text.find(':');
    std::string_view algorithm = text.substr(0, colon);
    if (colon == std::string_view::npos || algorithm.empty())
        return make_error(ErrorKind::BadInput, std::string(what), "'" + std::string(text.substr(0, 80)) + "' is not a digest");
    if (algorithm != "sha256")
        return make_error(ErrorKind::Unsupported, std::string(what),
                          "digest algorithm '" + std::string(algorithm.substr(0, 20)) + "' is not supported (sha256 only)");
    std::string_view hex = text.substr(colon + 1);
    if (!is_sha256_hex(hex))
        return make_error(ErrorKind::BadInput, std::string(what), "'" + std::string(text.substr(0, 80)) + "' is not a sha256 digest");
    return Digest{std::string(hex)};
}

Digest Sha256::finish() {
    uint8_t raw[SHA256_DIGEST_SIZE];
    sha256_digest(&m_ctx, sizeof raw, raw);
    static const char kHex[] = "0123456789abcdef";
    Digest d;
    d.hex.resize(2 * sizeof raw);
    for (size_t i = 0; i < sizeof raw; ++i) {
        d.hex[2 * i] = kHex[raw[i] >> 4];
        d.hex[2 * i + 1] = kHex[raw[i] & 15];
    }
    return d;
}

}  // namespace lightvm::image

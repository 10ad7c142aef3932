// Content digests as OCI descriptors spell them ("sha256:<64 hex>") and the
// SHA-256 that checks them (nettle: SHA-NI where the CPU has it).
#pragma once

#include <nettle/sha2.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lightvm::image {

// Only sha256: the algorithm every image tool writes (sha512 is allowed by
// the spec but refused here as unsupported, with one line).
struct Digest {
    std::string hex;  // 64 lowercase hex digits
    std::string str() const { return "sha256:" + hex; }
    std::string short_id() const { return hex.substr(0, 12); }
    bool operator==(const Digest&) const = default;
};

// "sha256:<64 lowercase hex>" -> Digest; `what` names the field in errors.
Result<Digest> parse_digest(std::string_view text, std::string_view what);
// Is `text` 64 lowercase hex digits?
bool is_sha256_hex(std::string_view text);

class Sha256 {
public:
    Sha256() { sha256_init(&m_ctx); }
    void update(const void* data, size_t n) {
        sha256_update(&m_ctx, n, static_cast<const uint8_t*>(data));
        m_size += n;
    }
    Digest finish();
    uint64_t size() const { return m_size; }

private:
    sha256_ctx m_ctx;
    uint64_t m_size = 0;
};

inline Digest sha256_of(std::string_view bytes) {
    Sha256 h;
    h.update(bytes.data(), bytes.size());
    return h.finish();
}

}  // namespace lightvm::image

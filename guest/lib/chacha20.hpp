// ChaCha20 (RFC 8439) block function and the kernel CSPRNG behind
// getrandom() and AT_RANDOM. Integer-only so it builds with
// -mgeneral-regs-only.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

// One 64-byte keystream block for (key, counter, nonce), RFC 8439 §2.3.
// Key and nonce words are the little-endian readings of the byte strings.
void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t out[64]);

// Fast-key-erasure generator: every fill() derives its output and a fresh
// key from the current key, then overwrites the old key. Capturing the state
// later therefore reveals nothing about bytes already handed out.
class ChaCha20Rng {
public:
    constexpr ChaCha20Rng() = default;

    // Replaces the whole state; output is a deterministic function of the
    // seed (callers feed it host-provided entropy).
    void seed(const uint8_t key[32]);
    bool seeded() const { return seeded_; }
    void fill(void* buf, size_t n);

private:
    // Output bytes produced per key before forcing a re-key; keeps the
    // 32-bit block counter far from wrapping and bounds the exposure window
    // of a single key during huge requests.
    static constexpr size_t kChunkBytes = 4096;

    void fill_chunk(uint8_t* out, size_t n);

    uint32_t key_[8] = {};
    bool seeded_ = false;
};

}  // namespace lightvm::guest

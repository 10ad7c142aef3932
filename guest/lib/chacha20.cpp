#include "lib/chacha20.hpp"

namespace lightvm::guest {

namespace {

constexpr uint32_t rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

inline void quarter_round(uint32_t* s, int a, int b, int c, int d) {
    s[a] += s[b]; s[d] ^= s[a]; s[d] = rotl(s[d], 16);
    s[c] += s[d]; s[b] ^= s[c]; s[b] = rotl(s[b], 12);
    s[a] += s[b]; s[d] ^= s[a]; s[d] = rotl(s[d], 8);
    s[c] += s[d]; s[b] ^= s[c]; s[b] = rotl(s[b], 7);
}

inline uint32_t load_le32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
           static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

inline void store_le32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
    p[2] = static_cast<uint8_t>(v >> 16);
    p[3] = static_cast<uint8_t>(v >> 24);
}

// Volatile stores so the compiler cannot drop the wipe of dead key material.
void wipe(void* p, size_t n) {
    volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) v[i] = 0;
}

}  // namespace

void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t out[64]) {
    uint32_t init[16];
    // "expand 32-byte k"
    init[0] = 0x61707865u;
    init[1] = 0x3320646eu;
    init[2] = 0x79622d32u;
    init[3] = 0x6b206574u;
    for (int i = 0; i < 8; ++i) init[4 + i] = key[i];
    init[12] = counter;
    init[13] = nonce[0];
    init[14] = nonce[1];
    init[15] = nonce[2];

    uint32_t s[16];
    for (int i = 0; i < 16; ++i) s[i] = init[i];
    for (int round = 0; round < 10; ++round) {  // 20 rounds = 10 column+diagonal pairs
        quarter_round(s, 0, 4, 8, 12);
        quarter_round(s, 1, 5, 9, 13);
        quarter_round(s, 2, 6, 10, 14);
        quarter_round(s, 3, 7, 11, 15);
        quarter_round(s, 0, 5, 10, 15);
        quarter_round(s, 1, 6, 11, 12);
        quarter_round(s, 2, 7, 8, 13);
        quarter_round(s, 3, 4, 9, 14);
    }
    for (int i = 0; i < 16; ++i) store_le32(out + 4 * i, s[i] + init[i]);
    wipe(s, sizeof s);
    wipe(init, sizeof init);
}

void ChaCha20Rng::seed(const uint8_t key[32]) {
    for (int i = 0; i < 8; ++i) key_[i] = load_le32(key + 4 * i);
    seeded_ = true;
}

// Block 0 supplies the next key (first 32 bytes, never output) and 32 bytes
// of output; blocks 1.. supply the rest. The old key is gone on return.
void ChaCha20Rng::fill_chunk(uint8_t* out, size_t n) {
    static constexpr uint32_t kNonce[3] = {0, 0, 0};  // unique key per chunk, so a fixed nonce is fine
    uint8_t block[64];
    chacha20_block(key_, 0, kNonce, block);
    uint32_t next_key[8];
    for (int i = 0; i < 8; ++i) next_key[i] = load_le32(block + 4 * i);

    size_t done = 0;
    for (size_t i = 32; i < 64 && done < n; ++i) out[done++] = block[i];
    for (uint32_t counter = 1; done < n; ++counter) {
        chacha20_block(key_, counter, kNonce, block);
        for (size_t i = 0; i < 64 && done < n; ++i) out[done++] = block[i];
    }

    for (int i = 0; i < 8; ++i) key_[i] = next_key[i];
    wipe(next_key, sizeof next_key);
    wipe(block, sizeof block);
}

void ChaCha20Rng::fill(void* buf, size_t n) {
    uint8_t* out = static_cast<uint8_t*>(buf);
    // Re-key even for n == 0 so every call advances the state.
    do {
        const size_t chunk = n < kChunkBytes ? n : kChunkBytes;
        fill_chunk(out, chunk);
        out += chunk;
        n -= chunk;
    } while (n > 0);
}

}  // namespace lightvm::guest

#include "lib/format.hpp"

namespace lightvm::guest {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

TextBuffer::TextBuffer(char* storage, size_t cap) : buf_(storage), cap_(storage ? cap : 0) {
    terminate();
}

void TextBuffer::terminate() {
    if (cap_ > 0) buf_[len_] = '\0';
}

// Once anything has been dropped we drop everything after it too, so the
// visible output is always an exact prefix of what was intended.
void TextBuffer::put(char c) {
    if (truncated_) return;
    if (cap_ == 0 || len_ + 1 >= cap_) {
        truncated_ = true;
        return;
    }
    buf_[len_++] = c;
    buf_[len_] = '\0';
}

TextBuffer& TextBuffer::str(const char* s) {
    if (!s) return *this;
    while (*s && !truncated_) put(*s++);
    return *this;
}

TextBuffer& TextBuffer::str(const char* s, size_t n) {
    if (!s) return *this;
    for (size_t i = 0; i < n && !truncated_; ++i) put(s[i]);
    return *this;
}

TextBuffer& TextBuffer::ch(char c) {
    put(c);
    return *this;
}

TextBuffer& TextBuffer::udec(uint64_t v) {
    char tmp[20];  // UINT64_MAX has 20 decimal digits
    size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) put(tmp[--n]);
    return *this;
}

TextBuffer& TextBuffer::dec(int64_t v) {
    if (v < 0) {
        put('-');
        // Negate in unsigned arithmetic so INT64_MIN does not overflow.
        return udec(0 - static_cast<uint64_t>(v));
    }
    return udec(static_cast<uint64_t>(v));
}

TextBuffer& TextBuffer::hex(uint64_t v) {
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = kHexDigits[v & 0xf];
        v >>= 4;
    } while (v != 0);
    put('0');
    put('x');
    while (n > 0) put(tmp[--n]);
    return *this;
}

TextBuffer& TextBuffer::oct(uint64_t v) {
    char tmp[23];  // 22 octal digits for 64 bits, plus the leading '0'
    size_t n = 0;
    while (v != 0) {
        tmp[n++] = static_cast<char>('0' + (v & 7));
        v >>= 3;
    }
    tmp[n++] = '0';  // C-style octal prefix, also the digit for v == 0
    while (n < 3) tmp[n++] = '0';
    while (n > 0) put(tmp[--n]);
    return *this;
}

TextBuffer& TextBuffer::quoted(const uint8_t* p, size_t n, size_t max_shown) {
    const size_t shown = n < max_shown ? n : max_shown;
    put('"');
    for (size_t i = 0; i < shown && !truncated_; ++i) {
        const uint8_t c = p[i];
        char esc[4];
        size_t k = 0;
        switch (c) {
            case '\t': esc[0] = '\\'; esc[1] = 't'; k = 2; break;
            case '\n': esc[0] = '\\'; esc[1] = 'n'; k = 2; break;
            case '\v': esc[0] = '\\'; esc[1] = 'v'; k = 2; break;
            case '\f': esc[0] = '\\'; esc[1] = 'f'; k = 2; break;
            case '\r': esc[0] = '\\'; esc[1] = 'r'; k = 2; break;
            case '"': esc[0] = '\\'; esc[1] = '"'; k = 2; break;
            case '\\': esc[0] = '\\'; esc[1] = '\\'; k = 2; break;
            default:
                if (c >= 0x20 && c < 0x7f) {
                    esc[0] = static_cast<char>(c);
                    k = 1;
                } else {
                    esc[0] = '\\';
                    esc[1] = 'x';
                    esc[2] = kHexDigits[c >> 4];
                    esc[3] = kHexDigits[c & 0xf];
                    k = 4;
                }
                break;
        }
        // An escape is emitted whole or not at all: a dangling "\x0" would
        // read as a different byte.
        if (remaining() < k) {
            truncated_ = true;
            break;
        }
        for (size_t j = 0; j < k; ++j) put(esc[j]);
    }
    put('"');
    if (n > shown) str("...");
    return *this;
}

bool parse_canonical_u32(const char* s, size_t n, size_t max_digits, uint32_t* out) {
    if (n == 0 || n > max_digits || n > 9 || (n > 1 && s[0] == '0'))
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + static_cast<uint32_t>(s[i] - '0');
    }
    *out = v;
    return true;
}

}  // namespace lightvm::guest

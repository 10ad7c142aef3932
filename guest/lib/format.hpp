// Bounded text building for the guest kernel: no heap, no libc, never
// writes past the caller's storage. Used for console output, panics and the
// syscall tracer, where a formatting bug must never corrupt kernel memory.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace lightvm::guest {

class TextBuffer {
public:
    // storage may be nullptr only when cap == 0. With cap > 0 the content is
    // NUL-terminated after every call, so data() is always a valid C string.
    TextBuffer(char* storage, size_t cap);

    TextBuffer& str(const char* s);  // NUL-terminated; nullptr appends nothing
    TextBuffer& str(const char* s, size_t n);
    TextBuffer& ch(char c);
    TextBuffer& dec(int64_t v);
    TextBuffer& udec(uint64_t v);
    TextBuffer& hex(uint64_t v);  // "0x1f", "0x0"
    TextBuffer& oct(uint64_t v);  // "0644", "000" (mode style, at least 3 digits)
    // strace-style C string literal of the first min(n, max_shown) bytes,
    // followed by "..." when bytes were left out: "ab\n\x01"...
    TextBuffer& quoted(const uint8_t* p, size_t n, size_t max_shown);

    size_t size() const { return len_; }
    const char* data() const { return buf_; }
    // True once any output had to be dropped for lack of room.
    bool truncated() const { return truncated_; }
    // Bytes still available for content (excluding the NUL terminator).
    size_t remaining() const { return cap_ == 0 ? 0 : cap_ - 1 - len_; }

private:
    void put(char c);
    void terminate();

    char* buf_;
    size_t cap_;
    size_t len_ = 0;
    bool truncated_ = false;
};

// The reverse for names the kernel makes up: s[0, n) as a decimal number
// without sign or leading zeros (as Linux names /proc/PID and /dev/pts/N:
// "01" names nothing), at most max_digits (<= 9) long.
bool parse_canonical_u32(const char* s, size_t n, size_t max_digits, uint32_t* out);

}  // namespace lightvm::guest

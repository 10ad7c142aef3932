// Byte streams for blobs: chunks handed on without copying, so a layer
// goes from its file through two hashes and the decompressor to the tar
// reader with one read(2) per chunk.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "image/digest.hpp"

namespace lightvm::image {

class Reader {
public:
    virtual ~Reader() = default;
    // The next bytes, valid until the next call; empty at the end.
    virtual Result<std::string_view> next() = 0;
};

// A file, from its current offset.
class FdReader : public Reader {
public:
    FdReader(UniqueFd fd, std::string name) : m_fd(std::move(fd)), m_name(std::move(name)), m_buf(256 << 10) {}
    Result<std::string_view> next() override;

private:
    UniqueFd m_fd;
    std::string m_name;
    std::vector<char> m_buf;
};

// Passes `in` through, hashing and counting every byte.
class HashingReader : public Reader {
public:
    explicit HashingReader(Reader& in) : m_in(in) {}
    Result<std::string_view> next() override {
        std::string_view chunk = TRY(m_in.next());
        m_hash.update(chunk.data(), chunk.size());
        return chunk;
    }
    uint64_t size() const { return m_hash.size(); }
    Digest finish() { return m_hash.finish(); }

private:
    Reader& m_in;
    Sha256 m_hash;
};

// Reads `in` to its end (the rest of a blob still counts for its digest).
Result<void> drain(Reader& in);
// The whole stream, refused beyond `limit` bytes (JSON documents).
Result<std::string> read_all(Reader& in, size_t limit, const std::string& what);

}  // namespace lightvm::image

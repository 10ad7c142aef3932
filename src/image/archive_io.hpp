// libarchive, read side only, over our Readers and files. Which formats
// and filters are enabled is decided here: tar (ustar, pax, GNU) and the
// gzip and zstd filters; nothing else is linked in.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "image/stream.hpp"

namespace lightvm::image {

struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

// One libarchive reader. Not movable: libarchive holds its address for the
// read callback.
class ArchiveInput {
public:
    enum class Kind {
        Tar,            // a tar, uncompressed (a layer's inner stream)
        CompressedTar,  // a tar, maybe gzip/zstd-compressed (a docker-archive file)
        Decompress,     // any bytes, maybe gzip/zstd-compressed: one entry, the plain bytes
    };
    // Reads from `in`, which must outlive this object.
    static Result<std::unique_ptr<ArchiveInput>> open(Reader& in, Kind kind, std::string what);
    static Result<std::unique_ptr<ArchiveInput>> open_file(const std::string& path, Kind kind);
    ArchiveInput(const ArchiveInput&) = delete;
    ArchiveInput& operator=(const ArchiveInput&) = delete;

    archive* get() const { return m_a.get(); }
    // The next entry; nullptr at the end of the archive.
    Result<archive_entry*> next_entry();
    // Why the last call failed: our Reader's error if that was the cause
    // (e.g. a read error of the blob), else libarchive's message.
    Error error(const std::string& doing) const;
    const std::string& what() const { return m_what; }

private:
    ArchiveInput(Reader* in, std::string what) : m_in(in), m_what(std::move(what)) {}
    static la_ssize_t read_cb(archive*, void* self, const void** buf);
    Result<void> configure(Kind kind);

    Reader* m_in;
    ArchivePtr m_a;
    std::optional<Error> m_read_error;
    std::string m_what;
};

// The data of the current entry of `in` as a Reader.
class EntryReader : public Reader {
public:
    explicit EntryReader(ArchiveInput& in) : m_in(in) {}
    Result<std::string_view> next() override;

private:
    ArchiveInput& m_in;
    int64_t m_offset = 0;
};

// An entry of a tar file as a Reader that owns its archive.
class OwnedEntryReader : public Reader {
public:
    OwnedEntryReader(std::unique_ptr<ArchiveInput> in) : m_in(std::move(in)), m_reader(*m_in) {}
    Result<std::string_view> next() override { return m_reader.next(); }

private:
    std::unique_ptr<ArchiveInput> m_in;
    EntryReader m_reader;
};

}  // namespace lightvm::image

#include "image/archive_io.hpp"

#include <cstring>

namespace lightvm::image {

Result<void> ArchiveInput::configure(Kind kind) {
    m_a.reset(archive_read_new());
    if (!m_a)
        return make_error(ErrorKind::System, m_what, "out of memory");
    archive* a = m_a.get();
    const bool ok = kind == Kind::Decompress ? archive_read_support_format_raw(a) == ARCHIVE_OK
                                             : archive_read_support_format_tar(a) == ARCHIVE_OK;
    // ARCHIVE_WARN from a filter means "through an external program": refused.
    const bool filters = kind == Kind::Tar || (archive_read_support_filter_gzip(a) == ARCHIVE_OK &&
                                               archive_read_support_filter_zstd(a) == ARCHIVE_OK);
    if (!ok || !filters)
        return make_error(ErrorKind::Unsupported, m_what, "libarchive lacks tar, gzip or zstd support");
    return {};
}

Result<std::unique_ptr<ArchiveInput>> ArchiveInput::open(Reader& in, Kind kind, std::string what) {
    std::unique_ptr<ArchiveInput> self(new ArchiveInput(&in, std::move(what)));
    TRY(self->configure(kind));
    if (archive_read_open(self->get(), self.get(), nullptr, read_cb, nullptr) != ARCHIVE_OK)
        return tl::unexpected(self->error("open"));
    return self;
}

Result<std::unique_ptr<ArchiveInput>> ArchiveInput::open_file(const std::string& path, Kind kind) {
    std::unique_ptr<ArchiveInput> self(new ArchiveInput(nullptr, path));
    TRY(self->configure(kind));
    if (archive_read_open_filename(self->get(), path.c_str(), 64 << 10) != ARCHIVE_OK)
        return tl::unexpected(self->error("open"));
    return self;
}

la_ssize_t ArchiveInput::read_cb(archive* a, void* opaque, const void** buf) {
    auto* self = static_cast<ArchiveInput*>(opaque);
    auto chunk = self->m_in->next();
    if (!chunk) {
        self->m_read_error = chunk.error();
        archive_set_error(a, EIO, "%s", chunk.error().to_string().c_str());
        return -1;
    }
    *buf = chunk->data();
    return static_cast<la_ssize_t>(chunk->size());
}

Result<archive_entry*> ArchiveInput::next_entry() {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(m_a.get(), &e);
    if (rc == ARCHIVE_EOF)
        return nullptr;
    if (rc < ARCHIVE_WARN)
        return tl::unexpected(error("read"));
    return e;
}

Error ArchiveInput::error(const std::string& doing) const {
    if (m_read_error)
        return *m_read_error;
    const char* text = m_a ? archive_error_string(m_a.get()) : nullptr;
    Error e;
    e.kind = ErrorKind::BadInput;
    e.where = m_what;
    e.message = doing + ": " + (text ? text : "unknown libarchive error");
    return e;
}

Result<std::string_view> EntryReader::next() {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(m_in.get(), &buf, &size, &offset);
    if (rc == ARCHIVE_EOF)
        return std::string_view();
    if (rc < ARCHIVE_WARN)
        return tl::unexpected(m_in.error("read data"));
    if (offset > m_offset) {
        // A hole in a sparse member (no image tool writes blobs sparse).
        return make_error(ErrorKind::Unsupported, m_in.what(), "sparse members are not supported here");
    }
    m_offset = offset + static_cast<int64_t>(size);
    return std::string_view(static_cast<const char*>(buf), size);
}

}  // namespace lightvm::image

// The files of an image as it arrives: a directory (an OCI image layout,
// or an unpacked `docker save`) or a tar file (`docker save`, `skopeo copy
// docker-archive:` or `oci-archive:`), read in place with libarchive: a
// tar's members are never copied out first.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "image/stream.hpp"

namespace lightvm::image {

class ImageFiles {
public:
    // A directory or a tar file (maybe gzip/zstd-compressed); anything else
    // is "not an image" in one line.
    static Result<std::unique_ptr<ImageFiles>> open(const std::string& path);
    virtual ~ImageFiles() = default;

    // `rel` is a path inside the image ("index.json", "blobs/sha256/..."):
    // never resolved outside it.
    virtual bool exists(const std::string& rel) const = 0;
    virtual Result<std::unique_ptr<Reader>> open_file(const std::string& rel) const = 0;
    // A small file (a JSON document) whole; refused beyond `limit` bytes.
    Result<std::string> read_small(const std::string& rel, size_t limit = 16 << 20) const;

    const std::string& path() const { return m_path; }
    virtual bool is_tar() const = 0;

protected:
    explicit ImageFiles(std::string path) : m_path(std::move(path)) {}

private:
    std::string m_path;
};

// "./a/../b//c" -> "b/c" within the image; "" when it would leave it.
std::string clean_member_path(const std::string& path);

}  // namespace lightvm::image

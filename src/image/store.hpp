// The image cache: content-addressed by the config's digest (the image ID).
//
//   DIR/lock                        flock: every change to the cache holds it
//   DIR/roots/sha256/HEX/rootfs/    the flattened root, never modified after import
//   DIR/roots/sha256/HEX/config.json   the image config, as imported
//   DIR/roots/sha256/HEX/image.json    names, source, format, size, import time
//   DIR/roots/sha256/HEX/lock       flock: shared while a VM runs from it
//   DIR/tmp/NAME/                   imports in progress (flock held by the importer)
//   DIR/run/NAME/{upper,work}       per-VM writable layers (flock held by the VM;
//                                   the VM's overlay is mounted on DIR/run/NAME)
//
// An import is a rename of its tmp/ directory into roots/: readers see a
// whole image or none. Entries of tmp/ and run/ whose owner died (no flock
// held) are removed by the next import or run.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "image/digest.hpp"

namespace lightvm::image {

struct ImageRecord {
    Digest id;
    std::vector<std::string> names;
    std::string source;   // what it was imported from (absolute path[:tag])
    std::string format;   // oci-layout, oci-archive, docker-archive
    std::string created;  // the config's "created", as written there
    uint64_t size = 0;    // bytes of file content in rootfs
    int64_t imported = 0; // Unix time
    uint32_t layers = 0;
};

// A directory under tmp/ or run/, locked while this object lives; removed
// by the destructor unless kept.
class Scratch {
public:
    Scratch() = default;
    Scratch(std::string path, UniqueFd lock) : m_path(std::move(path)), m_lock(std::move(lock)) {}
    Scratch(Scratch&& o) noexcept : m_path(std::exchange(o.m_path, {})), m_lock(std::move(o.m_lock)) {}
    Scratch& operator=(Scratch&&) = delete;
    ~Scratch();
    const std::string& path() const { return m_path; }
    int lock_fd() const { return m_lock.get(); }
    UniqueFd take_lock() { return std::move(m_lock); }
    // Ownership passes elsewhere (renamed into roots/, or to the VM's cleaner).
    void keep() { m_path.clear(); }

private:
    std::string m_path;
    UniqueFd m_lock;
};

class Store {
public:
    // $LIGHTVM_IMAGE_DIR; else /var/lib/lightvm/images for root and
    // $XDG_DATA_HOME/lightvm/images (~/.local/share/...) for others.
    static std::string default_dir();
    static Result<Store> open(const std::string& dir);

    const std::string& dir() const { return m_dir; }
    std::string image_dir(const Digest& id) const { return m_dir + "/roots/sha256/" + id.hex; }
    std::string rootfs(const Digest& id) const { return image_dir(id) + "/rootfs"; }

    Result<std::vector<ImageRecord>> list() const;
    std::optional<ImageRecord> get(const Digest& id) const;
    // A name, a name without its ":latest", a full ID or a unique ID prefix.
    Result<ImageRecord> find(const std::string& ref) const;
    Result<std::string> config_json(const Digest& id) const;

    // A fresh locked directory under tmp/ (imports) or run/ (VMs).
    Result<Scratch> scratch(const char* area) const;
    // Moves `staged` (holding rootfs/ and config.json) into roots/ with
    // `record` as its image.json; `record.names` move to it from any other
    // image. If the image arrived meanwhile, the staged copy is dropped.
    Result<ImageRecord> commit(Scratch& staged, ImageRecord record) const;
    // Gives an existing image these names too (taken from other images).
    Result<ImageRecord> add_names(const Digest& id, const std::vector<std::string>& names) const;
    // Takes one name off an image.
    Result<void> remove_name(const Digest& id, const std::string& name) const;
    // Refused while a VM holds the image.
    Result<void> remove(const ImageRecord& record) const;
    // Held by a running VM (shared): `remove` refuses meanwhile.
    Result<UniqueFd> hold(const Digest& id) const;
    // Removes tmp/ and run/ entries nobody holds any more.
    void collect_garbage() const;

private:
    explicit Store(std::string dir) : m_dir(std::move(dir)) {}
    Result<UniqueFd> lock() const;
    Result<void> write_record(const std::string& image_dir, const ImageRecord& r) const;
    Result<void> take_names(const Digest& keeper, const std::vector<std::string>& names) const;

    std::string m_dir;
};

// Names: [A-Za-z0-9][A-Za-z0-9._:/@+-]*, at most 255 bytes, not an ID.
Result<void> check_image_name(const std::string& name);
// image.json <-> ImageRecord.
std::string record_to_json(const ImageRecord& r);
Result<ImageRecord> record_from_json(const std::string& text);

}  // namespace lightvm::image

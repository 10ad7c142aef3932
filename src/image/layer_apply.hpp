// Applies the entries of layer tars, in order, to one directory: the
// flattened root. OCI whiteouts (image-spec "layer.md"): `.wh.NAME` removes
// NAME of the layers below, `.wh..wh..opq` empties its directory of what the
// layers below put there; neither touches what its own layer adds. Parents
// are resolved inside the root (tree.hpp), so no entry, link or symlink
// reaches outside it. Device nodes are skipped (the guest kernel provides
// /dev) and counted; ownership is applied only when running as root.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lightvm::image {

struct ApplyStats {
    uint64_t entries = 0;
    uint64_t devices_skipped = 0;
    std::string first_device;  // e.g. "dev/null", for the warning
};

// "./a//b/" -> "a/b"; "" is the root itself. Refuses ".." (an entry that
// would leave the root) with nullopt-like false.
bool clean_entry_path(std::string_view in, std::string& out);

class LayerApplier {
public:
    // `root_fd`: the root directory (O_PATH is enough); `chown`: apply the
    // entries' owners (root only).
    LayerApplier(int root_fd, bool chown) : m_root(root_fd), m_chown(chown) {}

    // A new layer starts: whiteouts spare what it adds from here on.
    void begin_layer() { m_added.clear(); }
    // One entry; its data is read from `a`.
    Result<void> apply(archive* a, archive_entry* e);
    // After the last layer: directory modes, owners and times, which adding
    // entries below them would have changed.
    Result<void> finish();

    const ApplyStats& stats() const { return m_stats; }

private:
    struct DirMeta {
        mode_t mode;
        uint32_t uid, gid;
        timespec mtime;
    };
    Result<void> whiteout(const std::string& parent, const std::string& name);
    Result<void> opaque(const std::string& dir);
    Result<void> clear_lower(int dirfd, const std::string& path);
    Result<void> make(archive* a, archive_entry* e, int pfd, const std::string& path, const std::string& name);
    Result<void> write_file(archive* a, archive_entry* e, int pfd, const std::string& path, const std::string& name);
    Result<void> hard_link(archive_entry* e, int pfd, const std::string& path, const std::string& name);
    void forget_dirs_below(const std::string& path);

    int m_root;
    bool m_chown;
    std::set<std::string> m_added;  // paths this layer created or changed
    std::map<std::string, DirMeta> m_dirs;
    ApplyStats m_stats;
};

}  // namespace lightvm::image

// Directory-tree primitives for building and removing image roots. Paths
// inside a root are resolved with openat2(RESOLVE_IN_ROOT): ".." and
// symlinks (absolute ones too) never lead outside it, whatever the layers
// planted; final components are handled with *at() calls that do not follow
// symlinks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace lightvm::image {

// openat2(root, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
// the fd, or -errno.
int open_in_root(int root_fd, const char* path, int flags);

// The directory `rel` below `root_fd` ("" is the root itself); with
// `create`, missing components are made (mode 0755, as tar tools do).
Result<UniqueFd> open_dir_in_root(int root_fd, std::string_view rel, bool create);

// The names in directory `dirfd` (O_PATH is enough), without "." and "..".
Result<std::vector<std::string>> list_dir(int dirfd);

// Bytes of file content below `dirfd` (regular files, each inode once,
// and symlinks): what `lightvm image ls` calls the image's size.
Result<uint64_t> tree_bytes(int dirfd);

// Removes `name` below `dirfd` and everything under it, never following a
// symlink; a missing `name` is no error. Directories without search
// permission (an overlay's work/work, mode 000) are opened up first.
Result<void> remove_tree(int dirfd, const std::string& name);
Result<void> remove_tree(const std::string& path);

}  // namespace lightvm::image

// Small text files of an unpacked image root, read as the guest would see
// them: the path resolved inside the root (symlinks included), never above it.
#pragma once

#include <string>

namespace lightvm::image {

// The file at `path` inside `rootfs` (at most 4 MiB); "" when the image
// has none or it cannot be read (an image without /etc/passwd is normal).
std::string read_root_file(const std::string& rootfs, const char* path);

}  // namespace lightvm::image

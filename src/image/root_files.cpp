#include "image/root_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/unique_fd.hpp"
#include "image/stream.hpp"
#include "image/tree.hpp"

namespace lightvm::image {

std::string read_root_file(const std::string& rootfs, const char* path) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    int fd = root.valid() ? open_in_root(root.get(), path, O_RDONLY) : -1;
    if (fd < 0)
        return "";
    FdReader reader(UniqueFd(fd), path);
    auto text = read_all(reader, 4 << 20, path);
    return text ? *text : "";
}

}  // namespace lightvm::image
